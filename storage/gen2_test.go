package storage

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/poolmigrate/poolmigrate/amplifygen2"
)

const gen2Resource = `import { defineStorage } from '@aws-amplify/backend';

export const media = defineStorage({
  name: 'media',
  isDefault: true,
  access: (allow) => ({
    'public/*': [allow.guest.to(['read']), allow.authenticated.to(['read', 'write'])],
    'media/{entity_id}/*': [allow.entity('identity').to(['read', 'write', 'delete']), allow.authenticated.to(['read'])],
    'albums/{entity_id}/shared/*': [allow.entity('identity').to(['read', 'write']), allow.groups(['ADMINS', 'EDITORS']).to(['read'])],
    'albums/{entity_id}/drafts/*': [allow.entity('identity').to(['delete'])],
    'avatars/{entity_id}/*': [allow.authenticated.to(['read']), allow.entity('user').to(['read'])],
  }),
});

export const backups = defineStorage({
  name: 'backups',
  access: (allow) => ({
    'u-{entity_id}/docs/*': [allow.entity('identity').to(['read'])],
  }),
});
`

const gen2Outputs = `{
  "version": "1.4",
  "auth": {"user_pool_id": "us-east-1_Abc", "aws_region": "us-east-1", "identity_pool_id": "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
  "storage": {
    "aws_region": "us-east-1", "bucket_name": "amplify-app-media-1",
    "buckets": [
      {"name": "media", "bucket_name": "amplify-app-media-1", "aws_region": "us-east-1", "paths": {}},
      {"name": "backups", "bucket_name": "amplify-app-backups-2", "aws_region": "eu-west-1", "paths": {}},
      {"name": "legacy", "bucket_name": "amplify-app-legacy-3", "aws_region": "us-east-1",
       "paths": {"private/{entity_id}/*": {"entityidentity": ["get", "list", "write", "delete"]}, "public/*": {"guest": ["get"], "groupsADMINS": ["get", "write"]}}}
    ]
  }
}`

func gen2Project(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{"amplify/backend.ts": {Data: []byte("export {}\n")}}
	for n, b := range files {
		fsys[n] = &fstest.MapFile{Data: []byte(b)}
	}
	return fsys
}

func TestReadGen2SeveralBuckets(t *testing.T) {
	p, err := ReadGen2(gen2Project(map[string]string{amplifygen2.StoragePath: gen2Resource, amplifygen2.OutputsPath: gen2Outputs}))
	if err != nil {
		t.Fatal(err)
	}
	type bucket struct {
		name, deployed, region string
		def                    bool
		paths                  []IdentityPath
	}
	var got []bucket
	for _, b := range p.Buckets {
		got = append(got, bucket{b.Resource, b.BucketName, b.Region, b.Default, b.IdentityPaths})
	}
	want := []bucket{
		{"backups", "amplify-app-backups-2", "eu-west-1", false, []IdentityPath{{Template: "u-{entity_id}/", Owner: []string{"read"}}}},
		{"media", "amplify-app-media-1", "us-east-1", true, []IdentityPath{
			{Template: "media/{entity_id}/", Owner: []string{"read", "write", "delete"}},
			// Two paths in the same identity folder are one template,
			// with the owner's actions of both.
			{Template: "albums/{entity_id}/", Owner: []string{"read", "write", "delete"}},
			// avatars/{entity_id}/* grants no allow.entity('identity'):
			// not an identity path.
		}},
		{"legacy", "amplify-app-legacy-3", "us-east-1", false, []IdentityPath{{Template: "private/{entity_id}/", Owner: []string{"get", "list", "write", "delete"}}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("buckets:\n got %+v\nwant %+v", got, want)
	}
	var groups []string
	for _, a := range p.Buckets[1].Access {
		if a.Who == "group" {
			groups = append(groups, a.Group+":"+a.Path)
		}
	}
	if strings.Join(groups, " ") != "ADMINS:albums/{entity_id}/shared/* EDITORS:albums/{entity_id}/shared/*" {
		t.Errorf("group access: %v", groups)
	}
	if p.IdentityPool.ID != "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" || !p.IdentityPool.Survives {
		t.Errorf("identity pool: %+v", p.IdentityPool)
	}
	if p.Route != RouteLink {
		t.Errorf("route %s, want link", p.Route)
	}
	if len(p.Warnings) != 1 || p.Warnings[0].Code != "BUCKET_NOT_IN_RESOURCE" || !strings.Contains(p.Warnings[0].Message, "legacy") {
		t.Errorf("warnings: %+v", p.Warnings)
	}
}

func TestReadGen2WithoutOutputsOrStorage(t *testing.T) {
	p, err := ReadGen2(gen2Project(map[string]string{amplifygen2.StoragePath: gen2Resource}))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Buckets) != 2 || p.Buckets[0].BucketName != "" || p.IdentityPool.ID != "" || len(p.Warnings) != 1 || p.Warnings[0].Code != "OUTPUTS_MISSING" {
		t.Errorf("without outputs: %+v", p)
	}
	p, err = ReadGen2(gen2Project(nil))
	if err != nil || len(p.Buckets) != 0 || p.Route != RouteNone || len(p.Warnings) != 0 {
		t.Errorf("without storage: %v %+v", err, p)
	}
	// Outputs of schema 1.1 name one bucket, without storage.buckets.
	p, err = ReadGen2(gen2Project(map[string]string{
		amplifygen2.StoragePath: "import { defineStorage } from '@aws-amplify/backend';\nexport const s = defineStorage({ name: 'only', access: (allow) => ({ 'p/{entity_id}/*': [allow.entity('identity').to(['read'])] }) });\n",
		amplifygen2.OutputsPath: `{"storage": {"aws_region": "us-west-2", "bucket_name": "the-only-bucket"}}`,
	}))
	if err != nil || p.Buckets[0].BucketName != "the-only-bucket" || p.Buckets[0].Region != "us-west-2" {
		t.Errorf("one-bucket outputs: %v %+v", err, p)
	}
}

func TestReadGen2Hostile(t *testing.T) {
	def := func(path string) string {
		return "import { defineStorage } from '@aws-amplify/backend';\nexport const s = defineStorage({ name: 's', access: (allow) => ({ '" + path + "': [allow.entity('identity').to(['read'])] }) });\n"
	}
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"entity twice":         {map[string]string{amplifygen2.StoragePath: def("a/{entity_id}/{entity_id}/*")}, "more than once"},
		"entity at the end":    {map[string]string{amplifygen2.StoragePath: def("a/{entity_id}")}, "ends in {entity_id}"},
		"entity without token": {map[string]string{amplifygen2.StoragePath: def("a/*")}, "holds no {entity_id}"},
		"control character":    {map[string]string{amplifygen2.StoragePath: def("a/\\u0000/{entity_id}/*")}, "control character"},
		"long path":            {map[string]string{amplifygen2.StoragePath: def(strings.Repeat("a", 2000) + "/{entity_id}/*")}, "longer than an S3 key"},
		"malformed outputs":    {map[string]string{amplifygen2.OutputsPath: `{"storage": `}, amplifygen2.OutputsPath},
		"bucket name":          {map[string]string{amplifygen2.OutputsPath: `{"storage": {"buckets": [{"name": "x", "bucket_name": "Bad/Name"}]}}`}, `"Bad/Name" is not an S3 bucket name`},
		"pool id":              {map[string]string{amplifygen2.OutputsPath: `{"auth": {"identity_pool_id": "../../x"}}`}, "is not a Cognito identity pool id"},
		"outputs path twice": {map[string]string{amplifygen2.OutputsPath: `{"storage": {"buckets": [{"name": "x", "bucket_name": "okay-bucket",
			"paths": {"a/{entity_id}/b/{entity_id}/*": {"entityidentity": ["get"]}}}]}}`}, "more than once"},
		"file throws": {map[string]string{amplifygen2.StoragePath: "throw new Error('nope');\n"}, "nope"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ReadGen2(gen2Project(tc.files))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadGen2: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestIdentityTemplate(t *testing.T) {
	for path, want := range map[string]string{
		"private/{entity_id}/*":        "private/{entity_id}/",
		"media/{entity_id}/photos/*":   "media/{entity_id}/",
		"{entity_id}/*":                "{entity_id}/",
		"a/b/user-{entity_id}-x/c/d/*": "a/b/user-{entity_id}-x/",
		"public/*":                     "",
	} {
		got, _, err := identityTemplate(path)
		if err != nil || got != want {
			t.Errorf("identityTemplate(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
}
