package storage

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// gen1Project is a Gen 1 project whose backend-config.json lists the
// storage resources given (name → service), plus files.
func gen1Project(storage map[string]string, files map[string]string) fstest.MapFS {
	var entries []string
	for name, svc := range storage {
		entries = append(entries, `"`+name+`": {"service": "`+svc+`", "providerPlugin": "awscloudformation", "dependsOn": []}`)
	}
	fsys := fstest.MapFS{
		"amplify/backend/backend-config.json": {Data: []byte(`{"auth": {"appauth": {"service": "Cognito"}, "userPoolGroups": {"service": "Cognito-UserPool-Groups"}}, "storage": {` + strings.Join(entries, ",") + `}}`)},
	}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

const gen1Meta1 = `{
  "auth": {
    "userPoolGroups": {"service": "Cognito-UserPool-Groups", "output": {"AdminGroupRole": "arn:aws:iam::1:role/x"}},
    "appauth": {"service": "Cognito", "output": {"UserPoolId": "us-east-1_Abc", "IdentityPoolId": "us-east-1:11111111-2222-3333-4444-555555555555"}}
  },
  "storage": {
    "photos": {"service": "S3", "output": {"BucketName": "photos12345-dev", "Region": "us-east-1"}},
    "profiles": {"service": "DynamoDB", "output": {"Name": "profiles-dev"}}
  }
}`

func TestReadGen1PrivateAndProtected(t *testing.T) {
	fsys := gen1Project(map[string]string{"photos": "S3", "profiles": "DynamoDB"}, map[string]string{
		"amplify/backend/amplify-meta.json": gen1Meta1,
		"amplify/backend/storage/photos/cli-inputs.json": `{"resourceName": "photos", "bucketName": "photos", "storageAccess": "auth",
			"guestAccess": [], "authAccess": ["CREATE_AND_UPDATE", "READ", "DELETE"], "groupAccess": {}}`,
	})
	p, err := ReadGen1(fsys, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Buckets) != 1 {
		t.Fatalf("buckets: %+v, want photos alone (profiles is a DynamoDB table)", p.Buckets)
	}
	b := p.Buckets[0]
	if b.Resource != "photos" || b.BucketName != "photos12345-dev" || b.Region != "us-east-1" || !b.Default {
		t.Errorf("bucket: %+v", b)
	}
	crud := []string{"write", "read", "delete"}
	want := []IdentityPath{{Template: "private/{entity_id}/", Owner: crud}, {Template: "protected/{entity_id}/", Owner: crud}}
	if !reflect.DeepEqual(b.IdentityPaths, want) {
		t.Errorf("identity paths: %+v, want %+v", b.IdentityPaths, want)
	}
	wantAccess := []Access{
		{Path: "private/{entity_id}/*", Who: "owner", Actions: crud},
		{Path: "protected/{entity_id}/*", Who: "owner", Actions: crud},
		{Path: "public/*", Who: "authenticated", Actions: crud},
		{Path: "protected/*", Who: "authenticated", Actions: []string{"read"}},
		{Path: "uploads/*", Who: "authenticated", Actions: []string{"write"}},
	}
	if !reflect.DeepEqual(b.Access, wantAccess) {
		t.Errorf("access:\n got %+v\nwant %+v", b.Access, wantAccess)
	}
	if p.IdentityPool.ID != "us-east-1:11111111-2222-3333-4444-555555555555" || p.IdentityPool.Survives || !strings.Contains(p.IdentityPool.Source, "auth.appauth.output.IdentityPoolId") {
		t.Errorf("identity pool: %+v", p.IdentityPool)
	}
	if p.Route != RouteCopy || !strings.Contains(p.RouteReason, "remove auth") {
		t.Errorf("route: %s (%s), want copy", p.Route, p.RouteReason)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings: %+v", p.Warnings)
	}
}

func TestReadGen1GuestsAndGroups(t *testing.T) {
	fsys := gen1Project(map[string]string{"media": "S3"}, map[string]string{
		"amplify/backend/storage/media/cli-inputs.json": `{"resourceName": "media", "bucketName": "media", "storageAccess": "authAndGuest",
			"guestAccess": ["READ"], "authAccess": ["READ"], "groupAccess": {"Editors": ["CREATE_AND_UPDATE", "READ"], "Admin": ["CREATE_AND_UPDATE", "READ", "DELETE"]}}`,
	})
	p, err := ReadGen1(fsys, "")
	if err != nil {
		t.Fatal(err)
	}
	b := p.Buckets[0]
	if b.BucketName != "" || len(b.IdentityPaths) != 2 || !reflect.DeepEqual(b.IdentityPaths[0].Owner, []string{"read"}) {
		t.Errorf("bucket: %+v", b)
	}
	got := map[string][]string{}
	for _, a := range b.Access {
		got[a.Path+" "+a.Who+a.Group] = a.Actions
	}
	for k, w := range map[string][]string{
		"public/* guest":    {"read"},
		"protected/* guest": {"read"},
		"* groupAdmin":      {"write", "read", "delete"},
		"* groupEditors":    {"write", "read"},
	} {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s: %v, want %v (all: %v)", k, got[k], w, got)
		}
	}
	if _, ok := got["uploads/* guest"]; ok {
		t.Error("guests who may only read got uploads/")
	}
	if len(p.Warnings) != 1 || p.Warnings[0].Code != "META_MISSING" {
		t.Errorf("warnings: %+v, want META_MISSING", p.Warnings)
	}
	// Guests who may only write get public/ and uploads/, not protected/.
	fsys["amplify/backend/storage/media/cli-inputs.json"].Data = []byte(`{"storageAccess": "authAndGuest", "guestAccess": ["CREATE_AND_UPDATE"], "authAccess": ["READ"]}`)
	if p, err = ReadGen1(fsys, ""); err != nil {
		t.Fatal(err)
	}
	var guestPaths []string
	for _, a := range p.Buckets[0].Access {
		if a.Who == "guest" {
			guestPaths = append(guestPaths, a.Path+":"+strings.Join(a.Actions, ","))
		}
	}
	if strings.Join(guestPaths, " ") != "public/*:write uploads/*:write" {
		t.Errorf("write-only guests: %v", guestPaths)
	}
	// storageAccess auth: guestAccess is ignored, as the CLI does.
	fsys["amplify/backend/storage/media/cli-inputs.json"].Data = []byte(`{"storageAccess": "auth", "guestAccess": ["READ"], "authAccess": ["READ"]}`)
	if p, err = ReadGen1(fsys, ""); err != nil {
		t.Fatal(err)
	}
	for _, a := range p.Buckets[0].Access {
		if a.Who == "guest" {
			t.Errorf("storageAccess auth gave guests %+v", a)
		}
	}
}

// TestReadGen1ParametersOnly: projects made before CLI 7 hold the stack's
// parameters instead of cli-inputs.json.
func TestReadGen1ParametersOnly(t *testing.T) {
	fsys := gen1Project(map[string]string{"s3old": "S3"}, map[string]string{
		"amplify/backend/storage/s3old/parameters.json": `{"bucketName": "old", "s3PermissionsAuthenticatedPrivate": "s3:PutObject,s3:GetObject,s3:DeleteObject",
			"s3PermissionsAuthenticatedProtected": "DISALLOW", "s3PermissionsAuthenticatedPublic": "s3:GetObject", "AuthenticatedAllowList": "ALLOW",
			"s3PermissionsGuestPublic": "DISALLOW", "GuestAllowList": "DISALLOW"}`,
	})
	p, err := ReadGen1(fsys, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []IdentityPath{{Template: "private/{entity_id}/", Owner: []string{"write", "read", "delete"}}}
	if !reflect.DeepEqual(p.Buckets[0].IdentityPaths, want) {
		t.Errorf("identity paths: %+v, want %+v (protected is DISALLOW)", p.Buckets[0].IdentityPaths, want)
	}
	for _, a := range p.Buckets[0].Access {
		if a.Who == "guest" {
			t.Errorf("guests: %+v", a)
		}
	}
}

func TestReadGen1WithoutStorage(t *testing.T) {
	fsys := gen1Project(nil, map[string]string{"amplify/backend/amplify-meta.json": gen1Meta1})
	p, err := ReadGen1(fsys, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Buckets) != 0 || p.Route != RouteNone || len(p.Warnings) != 0 {
		t.Errorf("plan: %+v, want no bucket, route none, no warning", p)
	}
	if p.IdentityPool.ID == "" {
		t.Error("the identity pool is reported even without storage")
	}
	// A named identity field alone needs a route.
	p.SetIdentityFields([]IdentityField{{Type: "Profile", Field: "identityId"}})
	if p.Route != RouteCopy {
		t.Errorf("route with an identity field: %s", p.Route)
	}
}

// TestReadGen1Hostile: what the Amplify CLI never writes is refused with
// the file's name and what to do, never a crash or a path outside.
func TestReadGen1Hostile(t *testing.T) {
	inputs := "amplify/backend/storage/photos/cli-inputs.json"
	ok := `{"storageAccess": "auth", "authAccess": ["READ"]}`
	cases := map[string]struct {
		storage map[string]string
		files   map[string]string
		want    string
	}{
		"name leaving the folder":  {map[string]string{"../../etc": "S3"}, nil, `"../../etc" is not an Amplify resource name`},
		"malformed inputs":         {map[string]string{"photos": "S3"}, map[string]string{inputs: `{"storageAccess": `}, inputs + ": unexpected end"},
		"unknown access":           {map[string]string{"photos": "S3"}, map[string]string{inputs: `{"storageAccess": "everyone"}`}, `storageAccess is "everyone"`},
		"unknown permission":       {map[string]string{"photos": "S3"}, map[string]string{inputs: `{"storageAccess": "auth", "authAccess": ["ALL"]}`}, `authAccess holds "ALL"`},
		"unknown group permission": {map[string]string{"photos": "S3"}, map[string]string{inputs: `{"storageAccess": "auth", "groupAccess": {"A": [1]}}`}, `groupAccess.A holds "1"`},
		"deep nesting":             {map[string]string{"photos": "S3"}, map[string]string{inputs: strings.Repeat("[", 20000)}, "nested more than 10,000 levels"},
		"bucket name": {map[string]string{"photos": "S3"}, map[string]string{inputs: ok,
			"amplify/backend/amplify-meta.json": `{"storage": {"photos": {"output": {"BucketName": "../../x"}}}}`}, `"../../x" is not an S3 bucket name`},
		"region": {map[string]string{"photos": "S3"}, map[string]string{inputs: ok,
			"amplify/backend/amplify-meta.json": `{"storage": {"photos": {"output": {"BucketName": "ok-bucket", "Region": "us-east-1\n"}}}}`}, "is not an AWS region"},
		"identity pool id": {map[string]string{"photos": "S3"}, map[string]string{inputs: ok,
			"amplify/backend/amplify-meta.json": `{"auth": {"appauth": {"output": {"IdentityPoolId": "us-east-1:x; rm -rf"}}}}`}, "is not a Cognito identity pool id"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ReadGen1(gen1Project(tc.storage, tc.files), "dev")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadGen1: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	big := gen1Project(map[string]string{"photos": "S3"}, nil)
	big[inputs] = &fstest.MapFile{Data: make([]byte, 33<<20)}
	if _, err := ReadGen1(big, "dev"); err == nil || !strings.Contains(err.Error(), "more than the 32 MiB") {
		t.Errorf("a 33 MiB cli-inputs.json: %v", err)
	}
	missing := gen1Project(map[string]string{"photos": "S3"}, nil)
	p, err := ReadGen1(missing, "dev")
	if err != nil || len(p.Warnings) == 0 || p.Warnings[0].Code != "STORAGE_SETTINGS_MISSING" {
		t.Errorf("no settings file: %v, %+v", err, p)
	}
}
