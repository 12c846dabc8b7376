package backendpatch

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/sjson"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// escapeBed is the notes app in outer/project, with outer/outside holding
// files a hostile project would like poolmigrate to change or delete.
type escapeBed struct {
	root, outside string
	sentinels     map[string]string
}

func newEscapeBed(t *testing.T) *escapeBed {
	t.Helper()
	outer := t.TempDir()
	b := &escapeBed{root: filepath.Join(outer, "project"), outside: filepath.Join(outer, "outside"), sentinels: map[string]string{}}
	if err := testenv.CopyTree("../examples/notes-app", b.root); err != nil {
		t.Fatal(err)
	}
	// What the trigger function's folder holds, and a parameters.json of
	// the kind patch rewrites, outside the project.
	for name, content := range map[string]string{
		"x/x-cloudformation-template.json": `{"Parameters":{"authnotesappauthUserPoolId":{"Type":"String"}}}`,
		"x/function-parameters.json":       `{"parentResource":"notesappauth"}`,
		"parameters.json":                  `{"AuthCognitoUserPoolId":{"Fn::GetAtt":["authnotesappauth","Outputs.UserPoolId"]}}`,
	} {
		p := filepath.Join(b.outside, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		b.sentinels[p] = content
	}
	return b
}

// intact fails the test when a file outside the project changed or went.
func (b *escapeBed) intact(t *testing.T) {
	t.Helper()
	for p, want := range b.sentinels {
		if got, err := os.ReadFile(p); err != nil || string(got) != want {
			t.Errorf("%s outside the project: %q, %v; want it untouched", p, got, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(b.outside))
	if len(entries) != 2 {
		t.Errorf("files appeared beside the project: %v", entries)
	}
}

// editJSON sets path to value in a project file.
func (b *escapeBed) editJSON(t *testing.T, rel, path string, value any) {
	t.Helper()
	p := filepath.Join(b.root, rel)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := sjson.SetBytes(data, path, value)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPatchRefusesTriggerNamesThatAreNotNames: the old auth resource's
// trigger settings name the function (and, through the connection, the
// event) that patch moves to <new auth><event>. A name with "../" in them
// would move and delete files elsewhere; patch refuses it, and touches
// nothing, whether the name leads out of the project or into another
// resource's folder.
func TestPatchRefusesTriggerNamesThatAreNotNames(t *testing.T) {
	for name, c := range map[string]struct{ fn, event string }{
		"function out of the project":          {fn: "../../../../outside/x", event: "PostConfirmation"},
		"function into another resource":       {fn: "../api/notesapi", event: "PostConfirmation"},
		"event out of the project":             {fn: "notesappauthPostConfirmation", event: "/../../../../../outside/x"},
		"function with a slash inside the dir": {fn: "notesappauthPostConfirmation/src", event: "PostConfirmation"},
	} {
		t.Run(name, func(t *testing.T) {
			b := newEscapeBed(t)
			inputs := "amplify/backend/auth/notesappauth/cli-inputs.json"
			b.editJSON(t, inputs, "cognitoConfig.dependsOn.0.resourceName", c.fn)
			conn, _ := json.Marshal(map[string]string{"triggerType": c.event, "lambdaFunctionName": c.fn})
			b.editJSON(t, inputs, "cognitoConfig.authTriggerConnections.0", string(conn))
			// backend-config.json lists the function under that name too
			// (patch moves only functions it lists).
			raw, _ := os.ReadFile(filepath.Join(b.root, "amplify/backend/backend-config.json"))
			raw, _ = sjson.SetRawBytes(raw, "function."+strings.ReplaceAll(strings.ReplaceAll(c.fn, ".", `\.`), "/", `\/`), []byte(`{"service":"Lambda","build":true}`))
			if err := os.WriteFile(filepath.Join(b.root, "amplify/backend/backend-config.json"), raw, 0o644); err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(b.root, statedir.Name)
			cs, rec, err := Detach(b.root, "notesappauth")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cs.Apply(state, "detach", rec); err != nil {
				t.Fatal(err)
			}
			amplifyReplacesAuth(t, b.root, "notesappauth", "notesnewauth")
			before := snapshotTree(t, b.root)
			_, err = Patch(b.root, PatchOptions{From: "notesappauth", To: "notesnewauth", Edges: rec.Edges, Triggers: rec.Triggers})
			var bad *amplifyproj.BadNameError
			if !errors.As(err, &bad) || !strings.Contains(err.Error(), "not an Amplify resource name") {
				t.Fatalf("patch with trigger %q / event %q: %v; want the name refused", c.fn, c.event, err)
			}
			if after := snapshotTree(t, b.root); !reflect.DeepEqual(after, before) {
				t.Error("patch changed project files although it refused")
			}
			b.intact(t)
		})
	}
}

// TestChangesRefuseLinksOutOfTheProject: a project folder or file that is
// a symbolic link to elsewhere is refused before anything is written; the
// files it points at stay as they are.
func TestChangesRefuseLinksOutOfTheProject(t *testing.T) {
	t.Run("the trigger function's folder", func(t *testing.T) {
		b := newEscapeBed(t)
		fn := filepath.Join(b.root, "amplify/backend/function/notesappauthPostConfirmation")
		if err := os.RemoveAll(fn); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(b.outside, "x"), fn); err != nil {
			t.Fatal(err)
		}
		state := filepath.Join(b.root, statedir.Name)
		cs, rec, err := Detach(b.root, "notesappauth")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Apply(state, "detach", rec); err != nil {
			t.Fatal(err)
		}
		amplifyReplacesAuth(t, b.root, "notesappauth", "notesnewauth")
		_, err = Patch(b.root, PatchOptions{From: "notesappauth", To: "notesnewauth", Edges: rec.Edges, Triggers: rec.Triggers})
		var out *statedir.OutsideError
		if !errors.As(err, &out) {
			t.Fatalf("patch through a linked function folder: %v", err)
		}
		b.intact(t)
	})
	t.Run("an API's parameters.json", func(t *testing.T) {
		b := newEscapeBed(t)
		params := filepath.Join(b.root, "amplify/backend/api/notesapi/parameters.json")
		if err := os.Remove(params); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(b.outside, "parameters.json"), params); err != nil {
			t.Fatal(err)
		}
		amplifyReplacesAuth(t, b.root, "notesappauth", "notesnewauth")
		_, err := Patch(b.root, PatchOptions{From: "notesappauth", To: "notesnewauth"})
		var out *statedir.OutsideError
		if !errors.As(err, &out) {
			t.Fatalf("patch through a linked parameters.json: %v", err)
		}
		b.intact(t)
	})
	t.Run("an undo record naming files elsewhere", func(t *testing.T) {
		b := newEscapeBed(t)
		state := filepath.Join(b.root, statedir.Name)
		cs, err := RetainPool(b.root, "notesappauth")
		if err != nil {
			t.Fatal(err)
		}
		dir, err := cs.Apply(state, "retain-pool", nil)
		if err != nil {
			t.Fatal(err)
		}
		// A record (in a state folder a cloned repository brought along)
		// that would delete a file outside, and restore one from outside.
		rec := record{Op: "retain-pool", Applied: true, Files: []recordFile{
			{Path: "../outside/parameters.json", Existed: false},
			{Path: "amplify/backend/backend-config.json", Existed: true, Copy: "../../../../outside/x/function-parameters.json"},
		}}
		if err := writeRecord(dir, rec); err != nil {
			t.Fatal(err)
		}
		before := snapshotTree(t, b.root)
		_, err = Undo(b.root, state, "retain-pool")
		var out *statedir.OutsideError
		if !errors.As(err, &out) {
			t.Fatalf("undo of a hostile record: %v", err)
		}
		if after := snapshotTree(t, b.root); !reflect.DeepEqual(after, before) {
			t.Error("undo changed project files although it refused")
		}
		b.intact(t)
	})
}
