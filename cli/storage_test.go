package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// storageJSON is the storage part of plan --json and storage plan --json.
type storageJSON struct {
	Generation int `json:"generation"`
	Buckets    []struct {
		Resource      string `json:"resource"`
		BucketName    string `json:"bucketName"`
		Region        string `json:"region"`
		Default       bool   `json:"default"`
		IdentityPaths []struct {
			Template string   `json:"template"`
			Owner    []string `json:"owner"`
		} `json:"identityPaths"`
		Access []struct {
			Path    string   `json:"path"`
			Who     string   `json:"who"`
			Group   string   `json:"group"`
			Actions []string `json:"actions"`
		} `json:"access"`
	} `json:"buckets"`
	IdentityPool struct {
		ID       string `json:"id"`
		Source   string `json:"source"`
		Survives bool   `json:"survives"`
	} `json:"identityPool"`
	IdentityFields []struct {
		Type  string `json:"type"`
		Field string `json:"field"`
		Table string `json:"table"`
		List  bool   `json:"list"`
	} `json:"identityFields"`
	Route       string `json:"route"`
	RouteReason string `json:"routeReason"`
	Warnings    []struct {
		Code string `json:"code"`
	} `json:"warnings"`
}

func templates(s storageJSON) []string {
	var out []string
	for _, b := range s.Buckets {
		for _, ip := range b.IdentityPaths {
			out = append(out, b.Resource+":"+ip.Template+"("+strings.Join(ip.Owner, ",")+")")
		}
	}
	return out
}

// TestPlanReportsStorageGen1: plan --json keeps every field it had and
// adds "storage": the example's bucket, its private and protected
// per-identity paths, the identity pool from amplify-meta.json, and the
// copy route (Gen 1's remove auth deletes the identity pool).
func TestPlanReportsStorageGen1(t *testing.T) {
	out, stderr, err := runApp(t, "../examples/notes-app", nil, "plan", "--json", "--identity-field", "Profile.displayName")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, stderr)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, " ") != "apis auth dependents env generation profile projectName projectRoot region storage warnings" {
		t.Errorf("plan --json keys: %v", keys)
	}
	var s storageJSON
	if err := json.Unmarshal(raw["storage"], &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Buckets) != 1 || s.Buckets[0].Resource != "notesfiles" || s.Buckets[0].BucketName != "notesappfiles10101-dev" || s.Buckets[0].Region != "us-east-1" {
		t.Fatalf("buckets: %+v", s.Buckets)
	}
	if got := templates(s); !reflect.DeepEqual(got, []string{"notesfiles:private/{entity_id}/(write,read,delete)", "notesfiles:protected/{entity_id}/(write,read,delete)"}) {
		t.Errorf("identity paths: %v", got)
	}
	if s.IdentityPool.ID != "us-east-1:00000000-0000-0000-0000-000000000001" || s.IdentityPool.Survives {
		t.Errorf("identity pool: %+v", s.IdentityPool)
	}
	if s.Route != "copy" || s.Generation != 1 {
		t.Errorf("route %q generation %d", s.Route, s.Generation)
	}
	if len(s.IdentityFields) != 1 || s.IdentityFields[0].Type != "Profile" || s.IdentityFields[0].Table != "UserProfile-n0tesapi1d-dev" {
		t.Errorf("identity fields: %+v", s.IdentityFields)
	}
	groups := map[string]string{}
	for _, a := range s.Buckets[0].Access {
		if a.Who == "group" {
			groups[a.Group] = strings.Join(a.Actions, ",")
		}
	}
	if groups["Admin"] != "write,read,delete" || groups["Editors"] != "write,read" {
		t.Errorf("group access: %v", groups)
	}

	text, _, err := runApp(t, "../examples/notes-app", nil, "plan")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Storage: route copy (", "per identity  private/{entity_id}/", "Identity pool   us-east-1:00000000-0000-0000-0000-000000000001"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan's text lacks %q:\n%s", want, text)
		}
	}
}

const gen2StorageOutputs = `,
  "storage": {
    "aws_region": "eu-central-1",
    "bucket_name": "amplify-gen2notes-notesfilesbucket-1a2b3c4d",
    "buckets": [{
      "name": "notesFiles", "bucket_name": "amplify-gen2notes-notesfilesbucket-1a2b3c4d", "aws_region": "eu-central-1",
      "paths": {
        "public/*": {"guest": ["get", "list"], "authenticated": ["get", "list", "write", "delete"]},
        "protected/{entity_id}/*": {"authenticated": ["get", "list"], "entityidentity": ["get", "list", "write", "delete"]},
        "private/{entity_id}/*": {"entityidentity": ["get", "list", "write", "delete"]},
        "media/avatars/{entity_id}/*": {"entityidentity": ["get", "list", "write", "delete"], "groupsADMINS": ["get", "list"]}
      }
    }]
  }
}
`

// TestStoragePlanGen2: the Gen 2 example's defineStorage, joined with
// amplify_outputs.json's storage section; the identity pool keeps its id,
// so the route is link.
func TestStoragePlanGen2(t *testing.T) {
	dir := copyGen2App(t)
	outputs := strings.TrimSuffix(strings.TrimSpace(gen2Outputs), "}") + strings.TrimPrefix(gen2StorageOutputs, "")
	if err := os.WriteFile(filepath.Join(dir, "amplify_outputs.json"), []byte(outputs), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runApp(t, dir, nil, "storage", "plan", "--json", "--dry-run")
	if err != nil {
		t.Fatalf("storage plan: %v\n%s", err, stderr)
	}
	var s storageJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := []string{
		"notesFiles:protected/{entity_id}/(read,write,delete)",
		"notesFiles:private/{entity_id}/(read,write,delete)",
		"notesFiles:media/avatars/{entity_id}/(read,write,delete)",
	}
	if got := templates(s); !reflect.DeepEqual(got, want) {
		t.Errorf("identity paths: %v, want %v", got, want)
	}
	if s.Buckets[0].BucketName != "amplify-gen2notes-notesfilesbucket-1a2b3c4d" || !s.Buckets[0].Default || s.IdentityPool.ID != "eu-central-1:0b5c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e" || !s.IdentityPool.Survives {
		t.Errorf("bucket %+v, identity pool %+v", s.Buckets[0], s.IdentityPool)
	}
	if s.Route != "link" || len(s.Warnings) != 0 {
		t.Errorf("route %q, warnings %+v", s.Route, s.Warnings)
	}
	// plan reports the same storage part.
	planOut, _, err := runApp(t, dir, nil, "plan", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var whole struct {
		Storage storageJSON `json:"storage"`
	}
	if err := json.Unmarshal([]byte(planOut), &whole); err != nil || !reflect.DeepEqual(whole.Storage, s) {
		t.Errorf("plan's storage part differs from storage plan's: %v\n%+v\n%+v", err, whole.Storage, s)
	}
	text, _, err := runApp(t, dir, nil, "storage", "plan")
	if err != nil || !strings.HasPrefix(text, "Storage: route link (") || !strings.Contains(text, "media/avatars/{entity_id}/") {
		t.Errorf("storage plan: %v\n%s", err, text)
	}
}

// TestIdentityFieldIsCheckedAgainstTheSchema: a field the schema refutes
// is a usage error (exit 2) saying what is there.
func TestIdentityFieldIsCheckedAgainstTheSchema(t *testing.T) {
	for spec, want := range map[string]string{
		"Profile":            "write it as Type.field",
		"Profil.displayName": "the schema has no model Profil (models: ",
		"Profile.name":       "model Profile declares no field name (its String and ID fields: userId, displayName)",
		"Profile.userId":     "Profile.userId is an owner field",
		"Note.owner":         "Note.owner is an owner field",
	} {
		for _, cmd := range [][]string{{"plan"}, {"storage", "plan"}} {
			_, _, err := runApp(t, "../examples/notes-app", nil, append(cmd, "--identity-field", spec)...)
			if err == nil || !strings.Contains(err.Error(), "--identity-field "+spec+": "+want) || ExitCode(err) != 2 {
				t.Errorf("%s --identity-field %s: %v (exit %d), want a usage error containing %q", strings.Join(cmd, " "), spec, err, ExitCode(err), want)
			}
		}
	}
}

func TestStorageCommandUsage(t *testing.T) {
	for args, want := range map[string]string{
		"storage bogus":      `unknown storage command "bogus"`,
		"storage plan extra": "storage plan takes no arguments",
		"storage plan --bad": "unknown flag: --bad",
	} {
		_, _, err := runApp(t, "../examples/notes-app", nil, strings.Fields(args)...)
		if err == nil || !strings.Contains(err.Error(), want) || ExitCode(err) != 2 {
			t.Errorf("%s: %v, want a usage error containing %q", args, err, want)
		}
	}
	out, _, err := runApp(t, "../examples/notes-app", nil, "storage")
	if err != nil || !strings.Contains(out, "poolmigrate storage [command]") || !strings.Contains(out, "  plan ") {
		t.Errorf("storage alone: %v\n%s", err, out)
	}
}

// TestPlanLiveWarnsForIdentityIDsInTheData: on the test bed, plan --live
// samples the model tables and warns for an attribute whose values look
// like identity ids (REGION:GUID) unless --identity-field names it; the
// bucket it cannot count is a warning, not a failure.
func TestPlanLiveWarnsForIdentityIDsInTheData(t *testing.T) {
	env := testenv.Require(t)
	dir := copyProject(t, "../examples/notes-app")
	pool := env.NewPool(t, testenv.PoolOptions{})
	apiID := deployedNotesApp(t, env, dir, pool, "sid")
	id := "us-east-1:0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
	_, err := env.Dynamo.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String("UserProfile-" + apiID + "-dev"),
		Item: map[string]ddbtypes.AttributeValue{
			"userId":         &ddbtypes.AttributeValueMemberS{Value: "0c1d2e3f-0000-0000-0000-000000000001"},
			"displayName":    &ddbtypes.AttributeValueMemberS{Value: id},
			"avatarIdentity": &ddbtypes.AttributeValueMemberS{Value: id},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runApp(t, dir, nil, "plan", "--live", "--json", "--identity-field", "Profile.displayName")
	if err != nil {
		t.Fatalf("plan --live: %v\n%s", err, stderr)
	}
	var whole struct {
		Storage struct {
			Warnings []struct{ Code, Message string } `json:"warnings"`
		} `json:"storage"`
	}
	if err := json.Unmarshal([]byte(out), &whole); err != nil {
		t.Fatal(err)
	}
	var unnamed, bucket []string
	for _, w := range whole.Storage.Warnings {
		switch w.Code {
		case "IDENTITY_FIELD_UNNAMED":
			unnamed = append(unnamed, w.Message)
		case "BUCKET_NOT_FOUND", "BUCKET_NOT_COUNTED":
			bucket = append(bucket, w.Message)
		default:
			t.Errorf("warning %s: %s", w.Code, w.Message)
		}
	}
	if len(unnamed) != 1 || !strings.HasPrefix(unnamed[0], "Profile.avatarIdentity (table UserProfile-"+apiID+"-dev) holds values like identity ids (us-east-1:0c1d…) in 1 of 1 sampled items") {
		t.Errorf("IDENTITY_FIELD_UNNAMED: %q", unnamed)
	}
	if len(bucket) != 1 || !strings.Contains(bucket[0], "notesappfiles10101-dev") {
		t.Errorf("the example's bucket (not on the test bed): %q", bucket)
	}
}

// TestPlanLiveCountsFilesOnTheTestBedS3: plan --live lists the example's
// bucket on the test bed's S3 server (path-style, through
// AWS_ENDPOINT_URL_S3) and counts, per identity path, the identity
// folders, objects and bytes, across pages.
func TestPlanLiveCountsFilesOnTheTestBedS3(t *testing.T) {
	env := testenv.Require(t)
	s3c := env.S3(t)
	dir := copyProject(t, "../examples/notes-app")
	pool := env.NewPool(t, testenv.PoolOptions{})
	deployedNotesApp(t, env, dir, pool, "cnt")
	bucket := testenv.NewBucket(t, s3c)
	replaceInFile(t, filepath.Join(dir, "amplify/backend/amplify-meta.json"), "notesappfiles10101-dev", bucket)
	a, b := "us-east-1:aaaaaaaa-1111-2222-3333-444444444444", "us-east-1:bbbbbbbb-1111-2222-3333-444444444444"
	objects := map[string]int{"private/" + b + "/notes.txt": 10, "protected/" + a + "/avatar.png": 7, "public/readme": 5, "private/loose": 3}
	for i := 0; i < 1005; i++ { // more than one page of ListObjectsV2
		objects[fmt.Sprintf("private/%s/photos/%04d.jpg", a, i)] = 2
	}
	for key, size := range objects {
		if _, err := s3c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(strings.Repeat("x", size))}); err != nil {
			t.Fatal(err)
		}
	}
	// By the name localhost, which (unlike 127.0.0.1) the SDK would
	// address virtual-host style without poolmigrate's path-style.
	t.Setenv("AWS_ENDPOINT_URL_S3", strings.Replace(os.Getenv("AWS_ENDPOINT_URL_S3"), "127.0.0.1", "localhost", 1))
	out, stderr, err := runApp(t, dir, nil, "storage", "plan", "--live", "--json")
	if err != nil {
		t.Fatalf("storage plan --live: %v\n%s", err, stderr)
	}
	var s struct {
		Buckets []struct {
			IdentityPaths []struct {
				Template string `json:"template"`
				Live     *struct {
					Identities, Objects, Bytes int64
				} `json:"live"`
			} `json:"identityPaths"`
		} `json:"buckets"`
		Warnings []struct{ Code, Message string } `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, ip := range s.Buckets[0].IdentityPaths {
		if ip.Live != nil {
			got[ip.Template] = fmt.Sprintf("%d identities, %d objects, %d bytes", ip.Live.Identities, ip.Live.Objects, ip.Live.Bytes)
		}
	}
	want := map[string]string{"private/{entity_id}/": "2 identities, 1006 objects, 2020 bytes", "protected/{entity_id}/": "1 identities, 1 objects, 7 bytes"}
	if !reflect.DeepEqual(got, want) || len(s.Warnings) != 0 {
		t.Errorf("counts %v, want %v; warnings %+v", got, want, s.Warnings)
	}
}
