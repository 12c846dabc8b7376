package amplifyproj

import (
	"strings"
	"testing"
	"testing/fstest"
)

// baseProject is the smallest project Load accepts.
func baseProject() fstest.MapFS {
	return fstest.MapFS{
		ProjectConfigPath:                        {Data: []byte(`{"projectName":"t"}`)},
		teamProviderInfoPath:                     {Data: []byte(`{"dev":{"awscloudformation":{"Region":"eu-west-2"}}}`)},
		backendConfigPath:                        {Data: []byte(`{"auth":{"a1":{"service":"Cognito"}},"api":{"gql":{"service":"AppSync"}}}`)},
		"amplify/backend/api/gql/schema.graphql": {Data: []byte(`type T @model { id: ID! }`)},
	}
}

func TestTransformerVersion(t *testing.T) {
	cases := map[string]struct {
		cliJSON, envJSON string
		version          int
		claim            string
		flagSet          bool
	}{
		"no cli.json: existing-project defaults": {version: 1, claim: "username"},
		"pipelined false wins over transformerversion 2": {
			cliJSON: `{"features":{"graphqltransformer":{"transformerversion":2,"useexperimentalpipelinedtransformer":false}}}`, version: 1, claim: "username",
		},
		"pipelined true with transformerversion 1 is rewritten to 2": {
			cliJSON: `{"features":{"graphqltransformer":{"transformerversion":1,"useexperimentalpipelinedtransformer":true}}}`, version: 2, claim: "sub::username",
		},
		"v2 with the sub::username flag off": {
			cliJSON: `{"features":{"graphqltransformer":{"transformerversion":2,"useexperimentalpipelinedtransformer":true,"usesubusernamefordefaultidentityclaim":false}}}`, version: 2, claim: "username", flagSet: true,
		},
		"v2 with the flag on": {
			cliJSON: `{"features":{"graphqltransformer":{"transformerversion":2,"useexperimentalpipelinedtransformer":true,"usesubusernamefordefaultidentityclaim":true}}}`, version: 2, claim: "sub::username", flagSet: true,
		},
		"cli.dev.json overrides cli.json": {
			cliJSON: `{"features":{"graphqltransformer":{"transformerversion":2,"useexperimentalpipelinedtransformer":false}}}`,
			envJSON: `{"features":{"graphqltransformer":{"useexperimentalpipelinedtransformer":true}}}`, version: 2, claim: "sub::username",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := baseProject()
			if tc.cliJSON != "" {
				fsys[cliJSONPath] = &fstest.MapFile{Data: []byte(tc.cliJSON)}
			}
			if tc.envJSON != "" {
				fsys["amplify/cli.dev.json"] = &fstest.MapFile{Data: []byte(tc.envJSON)}
			}
			p, err := Load(fsys, "/p", Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := p.APIs[0].Transformer
			if got.Version != tc.version || got.DefaultClaim != tc.claim || got.DefaultClaimFlagSet != tc.flagSet {
				t.Errorf("got %+v, want v%d %s flagSet=%v", got, tc.version, tc.claim, tc.flagSet)
			}
		})
	}
}

func TestAPIAuthResource(t *testing.T) {
	cases := map[string]struct {
		params   string // "" = no parameters.json
		backend  string
		meta     string
		resource string
		poolID   string
	}{
		"Fn::GetAtt names the resource": {
			params: `{"AuthCognitoUserPoolId":{"Fn::GetAtt":["autha1","Outputs.UserPoolId"]}}`, resource: "a1",
		},
		"literal pool id of an imported auth": {
			params:   `{"AuthCognitoUserPoolId":"eu-west-2_Abc"}`,
			backend:  `{"auth":{"a1":{"service":"Cognito","serviceType":"imported"}},"api":{"gql":{"service":"AppSync"}}}`,
			meta:     `{"auth":{"a1":{"output":{"UserPoolId":"eu-west-2_Abc"}}}}`,
			resource: "a1", poolID: "eu-west-2_Abc",
		},
		"literal pool id of no known resource": {params: `{"AuthCognitoUserPoolId":"eu-west-2_Zzz"}`, poolID: "eu-west-2_Zzz"},
		"no Cognito in parameters.json":        {params: `{"AppSyncApiName":"gql"}`},
		"no parameters.json: authConfig": {
			backend:  `{"auth":{"a1":{"service":"Cognito"}},"api":{"gql":{"service":"AppSync","output":{"authConfig":{"defaultAuthentication":{"authenticationType":"API_KEY"},"additionalAuthenticationProviders":[{"authenticationType":"AMAZON_COGNITO_USER_POOLS","userPoolConfig":{"userPoolId":"autha1"}}]}}}}}`,
			resource: "a1",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := baseProject()
			if tc.params != "" {
				fsys["amplify/backend/api/gql/parameters.json"] = &fstest.MapFile{Data: []byte(tc.params)}
			}
			if tc.backend != "" {
				fsys[backendConfigPath] = &fstest.MapFile{Data: []byte(tc.backend)}
			}
			if tc.meta != "" {
				fsys[amplifyMetaPath] = &fstest.MapFile{Data: []byte(tc.meta)}
			}
			p, err := Load(fsys, "/p", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if a := p.APIs[0]; a.AuthResource != tc.resource || a.AuthPoolID != tc.poolID {
				t.Errorf("got resource %q pool %q, want %q %q", a.AuthResource, a.AuthPoolID, tc.resource, tc.poolID)
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	cases := map[string]struct {
		tpi, local, flag string
		env, region      string
		err              string
	}{
		"local-env-info wins":   {tpi: `{"dev":{"awscloudformation":{"Region":"r1"}},"prod":{"awscloudformation":{"Region":"r2"}}}`, local: `{"envName":"prod"}`, env: "prod", region: "r2"},
		"the only env":          {tpi: `{"dev":{"awscloudformation":{"Region":"r1"}}}`, env: "dev", region: "r1"},
		"flag wins":             {tpi: `{"dev":{}, "prod":{}}`, local: `{"envName":"dev"}`, flag: "prod", env: "prod"},
		"several and no choice": {tpi: `{"dev":{}, "prod":{}}`, err: "pass --env NAME"},
		"no env anywhere":       {tpi: "", err: "lists no environment; pass --env"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := baseProject()
			delete(fsys, teamProviderInfoPath)
			if tc.tpi != "" {
				fsys[teamProviderInfoPath] = &fstest.MapFile{Data: []byte(tc.tpi)}
			}
			if tc.local != "" {
				fsys[localEnvInfoPath] = &fstest.MapFile{Data: []byte(tc.local)}
			}
			p, err := Load(fsys, "/p", Options{Env: tc.flag})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Env != tc.env || p.Region != tc.region {
				t.Errorf("got env %q region %q, want %q %q", p.Env, p.Region, tc.env, tc.region)
			}
		})
	}
}

func TestReadSchema(t *testing.T) {
	fsys := fstest.MapFS{
		"api/x/schema/a.graphql":            {Data: []byte("type A @model { id: ID! }")},
		"api/x/schema/sub/b.txt":            {Data: []byte("type B @model { id: ID! }")},
		"api/x/schema/.hidden.graphql":      {Data: []byte("type H @model { id: ID! }")},
		"api/x/schema/.dir/c.graphql":       {Data: []byte("type C @model { id: ID! }")},
		"api/x/.migration-backup/s.graphql": {Data: []byte("type Old @model { id: ID! }")},
	}
	files, err := ReadSchema(fsys, API{Name: "x", Dir: "api/x"})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	if strings.Join(paths, ",") != "api/x/schema/a.graphql,api/x/schema/sub/b.txt" {
		t.Errorf("schema files: %v", paths)
	}
	fsys["api/x/schema.graphql"] = &fstest.MapFile{Data: []byte("type S @model { id: ID! }")}
	files, err = ReadSchema(fsys, API{Name: "x", Dir: "api/x"})
	if err != nil || len(files) != 1 || files[0].Path != "api/x/schema.graphql" {
		t.Errorf("schema.graphql must win over schema/: %v %v", files, err)
	}
	if _, err := ReadSchema(fstest.MapFS{}, API{Name: "y", Dir: "api/y"}); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("no schema: %v", err)
	}
}
