package backendpatch

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := testenv.CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// snapshotTree reads every file under amplify/.
func snapshotTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.WalkDir(filepath.Join(root, "amplify"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = string(data)
		}
		return nil
	})
	return out
}

// dependsOnNaming lists dependsOn entries naming an auth resource.
func dependsOnNaming(t *testing.T, root, auth string) []string {
	t.Helper()
	var out []string
	for _, f := range dependsOnFiles {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		gjson.ParseBytes(data).ForEach(func(cat, res gjson.Result) bool {
			res.ForEach(func(name, r gjson.Result) bool {
				for _, d := range r.Get("dependsOn").Array() {
					if d.Get("category").String() == "auth" && d.Get("resourceName").String() == auth && !(cat.String() == "auth" && name.String() == GroupsResource) {
						out = append(out, f+":"+cat.String()+"/"+name.String())
					}
				}
				return true
			})
			return true
		})
	}
	return out
}

// amplifyReplacesAuth does to the files what `amplify remove auth
// userPoolGroups`, `amplify remove auth` and `amplify add auth --headless`
// (with a new resource name and the same groups) do; the real CLI runs
// this in cli's TestMigrateWholeFlow.
func amplifyReplacesAuth(t *testing.T, root, old, newName string) {
	t.Helper()
	for _, f := range dependsOnFiles {
		p := filepath.Join(root, f)
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(data)
		entry := gjson.Get(s, "auth."+old).Raw
		if s, err = sjson.Delete(s, "auth."+old); err != nil {
			t.Fatal(err)
		}
		entry, _ = sjson.Delete(entry, "output")
		entry, _ = sjson.Set(entry, "dependsOn", []any{}) // add auth --headless sets no triggers
		if g := gjson.Get(s, "auth."+GroupsResource); g.Exists() {
			raw, _ := sjson.Set(g.Raw, "dependsOn.0.resourceName", newName)
			s, _ = sjson.SetRaw(s, "auth."+GroupsResource, raw)
		}
		if strings.HasSuffix(f, "amplify-meta.json") {
			entry, _ = sjson.SetRaw(entry, "output", `{"UserPoolId": "us-east-1_NewPool1"}`)
		}
		if s, err = sjson.SetRaw(s, "auth."+newName, entry); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(filepath.Join(root, "amplify/backend/auth", old), filepath.Join(root, "amplify/backend/auth", newName)); err != nil {
		t.Fatal(err)
	}
	inputs := filepath.Join(root, "amplify/backend/auth", newName, "cli-inputs.json")
	if data, err := os.ReadFile(inputs); err == nil {
		s := string(data)
		for _, k := range []string{"triggers", "dependsOn", "permissions", "authTriggerConnections"} {
			s, _ = sjson.Delete(s, "cognitoConfig."+k)
		}
		s, _ = sjson.Set(s, "cognitoConfig.resourceName", newName)
		if err := os.WriteFile(inputs, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDetachAndPatchNotesApp(t *testing.T) {
	root := copyTree(t, "../examples/notes-app")
	// A stale compiled copy and function code reading the old variables.
	os.MkdirAll(filepath.Join(root, "amplify/backend/api/notesapi/build"), 0o755)
	os.WriteFile(filepath.Join(root, "amplify/backend/api/notesapi/build/parameters.json"), []byte(`{"AuthCognitoUserPoolId":{"Fn::GetAtt":["authnotesappauth","Outputs.UserPoolId"]}}`), 0o644)
	os.MkdirAll(filepath.Join(root, "amplify/backend/function/notesAdmin/src"), 0o755)
	os.WriteFile(filepath.Join(root, "amplify/backend/function/notesAdmin/src/index.js"), []byte("const pool = process.env.AUTH_NOTESAPPAUTH_USERPOOLID;\n"), 0o644)
	state := filepath.Join(root, ".poolmigrate")
	before := snapshotTree(t, root)

	cs, rec, err := Detach(root, "notesappauth")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Golden(t, filepath.Join("testdata", "detach-notes-app.diff"), cs.Diff(), *update)
	if len(rec.Edges) != 10 {
		t.Errorf("detached %d edges, want 10 (api, function, storage on auth and on two groups, in both files)", len(rec.Edges))
	}
	if rec.Triggers == nil || !strings.Contains(string(rec.Triggers["triggers"]), "PostConfirmation") {
		t.Errorf("the trigger settings were not recorded: %v", rec.Triggers)
	}
	if _, err := cs.Apply(state, "detach", rec); err != nil {
		t.Fatal(err)
	}
	if left := dependsOnNaming(t, root, "notesappauth"); len(left) > 0 {
		t.Errorf("still depending on the old auth: %v", left)
	}
	if again, _, err := Detach(root, "notesappauth"); err != nil || !again.Empty() {
		t.Errorf("detach twice: %v %v", again.Paths(), err)
	}
	// Undo gives back the original bytes, and detaching again works.
	if _, err := Undo(root, state, "detach"); err != nil {
		t.Fatal(err)
	}
	if got := snapshotTree(t, root); !reflect.DeepEqual(got, before) {
		t.Fatal("undo of detach did not restore the files")
	}
	cs, rec, _ = Detach(root, "notesappauth")
	if _, err := cs.Apply(state, "detach", rec); err != nil {
		t.Fatal(err)
	}

	amplifyReplacesAuth(t, root, "notesappauth", "notesnewauth")
	last, ok, err := LastDetach(state)
	if err != nil || !ok {
		t.Fatalf("detach record: %v %v", ok, err)
	}
	cs, err = Patch(root, PatchOptions{From: "notesappauth", To: "notesnewauth", Edges: last.Edges, Triggers: last.Triggers})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Golden(t, filepath.Join("testdata", "patch-notes-app.diff"), cs.Diff(), *update)
	if len(cs.Notes) != 1 || !strings.Contains(cs.Notes[0], "src/index.js") {
		t.Errorf("notes: %v", cs.Notes)
	}
	mid := snapshotTree(t, root)
	if _, err := cs.Apply(state, "patch", nil); err != nil {
		t.Fatal(err)
	}
	after := snapshotTree(t, root)
	for path, content := range after {
		// The new resource's own folder is written by `amplify add auth`.
		if strings.HasPrefix(path, "amplify/backend/auth/") {
			continue
		}
		if strings.HasSuffix(path, ".json") && strings.Contains(content, "notesappauth") {
			t.Errorf("%s still names the old auth resource: …%s…", path, content[max(0, strings.Index(content, "notesappauth")-80):min(len(content), strings.Index(content, "notesappauth")+40)])
		}
	}
	if _, ok := after["amplify/backend/api/notesapi/build/parameters.json"]; ok {
		t.Error("the stale build/parameters.json is still there")
	}
	if got := len(dependsOnNaming(t, root, "notesnewauth")); got != 6 {
		t.Errorf("%d dependsOn entries name the new auth, want 6 (api, function, storage in both files)", got)
	}
	if _, ok := after["amplify/backend/function/notesnewauthPostConfirmation/notesnewauthPostConfirmation-cloudformation-template.json"]; !ok {
		t.Error("the trigger function was not moved to notesnewauthPostConfirmation")
	}
	if again, err := Patch(root, PatchOptions{From: "notesappauth", To: "notesnewauth", Edges: last.Edges, Triggers: last.Triggers}); err != nil || !again.Empty() {
		t.Errorf("patch twice: %v %v", again.Paths(), err)
	}
	if _, err := Undo(root, state, "patch"); err != nil {
		t.Fatal(err)
	}
	if got := snapshotTree(t, root); !reflect.DeepEqual(got, mid) {
		t.Error("undo of patch did not restore the files")
	}
}

func TestPatchRefusesMalformedJSONAndChangesNothing(t *testing.T) {
	root := copyTree(t, "../examples/notes-app")
	p := filepath.Join(root, "amplify/backend/api/notesapi/cli-inputs.json")
	os.WriteFile(p, []byte(`{"serviceConfiguration": {`), 0o644)
	before := snapshotTree(t, root)
	_, err := Patch(root, PatchOptions{From: "notesappauth", To: "x"})
	if err == nil || !strings.Contains(err.Error(), "amplify/backend/api/notesapi/cli-inputs.json is not valid JSON") {
		t.Fatalf("got %v", err)
	}
	if got := snapshotTree(t, root); !reflect.DeepEqual(got, before) {
		t.Error("files changed")
	}
}

// TestCorpus patches every real Amplify root: afterwards no file names the
// old resource, and putting the old name back gives the original JSON (so
// nothing else changed).
func TestCorpus(t *testing.T) {
	corpus := testenv.Corpus(t)
	var roots []string
	filepath.WalkDir(corpus, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "backend-config.json" {
			roots = append(roots, filepath.Dir(filepath.Dir(filepath.Dir(p))))
		}
		return nil
	})
	tested := 0
	for _, r := range roots {
		data, _ := os.ReadFile(filepath.Join(r, "amplify/backend/backend-config.json"))
		var auth string
		gjson.GetBytes(data, "auth").ForEach(func(k, v gjson.Result) bool {
			if v.Get("service").String() == "Cognito" {
				auth = k.String()
			}
			return true
		})
		if auth == "" {
			continue
		}
		tested++
		rel, _ := filepath.Rel(corpus, r)
		t.Run(rel, func(t *testing.T) {
			root := copyTree(t, r)
			before := snapshotTree(t, root)
			cs, rec, err := Detach(root, auth)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cs.Apply(filepath.Join(root, ".pm"), "detach", rec); err != nil {
				t.Fatal(err)
			}
			if left := dependsOnNaming(t, root, auth); len(left) > 0 {
				t.Errorf("after detach: %v", left)
			}
			const newName = "zzreplacement1"
			cs, err = Patch(root, PatchOptions{From: auth, To: newName, Edges: rec.Edges, Triggers: rec.Triggers})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cs.Apply(filepath.Join(root, ".pm"), "patch", nil); err != nil {
				t.Fatal(err)
			}
			after := snapshotTree(t, root)
			for path, content := range after {
				// The auth resource's own folder and entry go with `amplify
				// remove auth`; #current-cloud-backend is the CLI's record
				// of the last push.
				if !strings.HasSuffix(path, ".json") || strings.HasPrefix(path, "amplify/backend/auth/") || strings.Contains(path, "#current-cloud-backend") {
					continue
				}
				checked, _ := sjson.Delete(content, "auth."+gjson.Escape(auth))
				if strings.Contains(checked, `"auth`+auth+`"`) || strings.Contains(checked, "AUTH_"+strings.ToUpper(auth)+"_") || len(dependsOnNaming(t, root, auth)) > 0 {
					t.Errorf("%s still names auth %s", path, auth)
				}
				back := strings.ReplaceAll(strings.ReplaceAll(content, newName, auth), strings.ToUpper(newName), strings.ToUpper(auth))
				if !sameJSON(back, before[path]) {
					t.Errorf("%s: more than the auth resource changed", path)
				}
			}
			for path := range before {
				if _, ok := after[path]; !ok && !strings.HasSuffix(path, "build/parameters.json") {
					t.Errorf("%s disappeared", path)
				}
			}
		})
	}
	if tested < 15 {
		t.Errorf("only %d corpus roots had a Cognito auth resource", tested)
	}
}

// sameJSON compares two documents as data; the order of dependsOn entries
// carries no meaning (patch appends the restored ones).
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	return reflect.DeepEqual(sortDependsOn(x), sortDependsOn(y))
}

func sortDependsOn(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = sortDependsOn(e)
			if l, ok := t[k].([]any); ok && k == "dependsOn" {
				sort.Slice(l, func(i, j int) bool {
					a, _ := json.Marshal(l[i])
					b, _ := json.Marshal(l[j])
					return string(a) < string(b)
				})
			}
		}
	case []any:
		for i := range t {
			t[i] = sortDependsOn(t[i])
		}
	}
	return v
}

// TestPatchRefusesDeeplyNestedJSONAndChangesNothing: ten million nested
// "[" overflowed gjson's validator and killed the process; now the file
// and its line are named and nothing is written.
func TestPatchRefusesDeeplyNestedJSONAndChangesNothing(t *testing.T) {
	root := copyTree(t, "../examples/notes-app")
	p := filepath.Join(root, "amplify/backend/api/notesapi/cli-inputs.json")
	if err := os.WriteFile(p, bytes.Repeat([]byte("["), 10_000_000), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshotTree(t, root)
	_, err := Patch(root, PatchOptions{From: "notesappauth", To: "x"})
	if err == nil || !strings.Contains(err.Error(), "amplify/backend/api/notesapi/cli-inputs.json is not valid JSON (values nested more than 10,000 levels deep") || !strings.Contains(err.Error(), "at line 1, column 10001") {
		t.Fatalf("got %v", err)
	}
	if got := snapshotTree(t, root); !reflect.DeepEqual(got, before) {
		t.Error("files changed")
	}
}
