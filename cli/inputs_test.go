package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestHostileResourceNamesAreRefused: a backend-config.json whose
// resource names are paths ("../…") makes plan, detach and patch refuse
// with a message naming the file and the name, before anything is
// written; the file planted beside the project survives. Names typed as
// flags are held to the same pattern.
func TestHostileResourceNamesAreRefused(t *testing.T) {
	const bad = "../../../outside"
	cases := map[string]struct {
		edit func(backendConfig string) string
		args []string
		want string
	}{
		"auth resource name, plan": {edit: func(s string) string { return strings.Replace(s, `"notesappauth": {`, `"`+bad+`": {`, 1) },
			args: []string{"plan"}, want: "auth resource in amplify/backend/backend-config.json \"" + bad + "\""},
		"auth resource name, detach": {edit: func(s string) string { return strings.Replace(s, `"notesappauth": {`, `"`+bad+`": {`, 1) },
			args: []string{"detach", "--dry-run"}, want: "not an Amplify resource name"},
		"auth resource name, patch": {edit: func(s string) string { return strings.Replace(s, `"notesappauth": {`, `"`+bad+`": {`, 1) },
			args: []string{"patch", "--from", "notesappauth"}, want: "not an Amplify resource name"},
		"function named by a dependsOn, detach": {edit: func(s string) string {
			return strings.Replace(s, `"resourceName": "notesappauthPostConfirmation"`, `"resourceName": "`+bad+`"`, 1)
		}, args: []string{"detach", "--dry-run"}, want: "the function resource that auth/notesappauth depends on"},
		"--new-auth":                   {args: []string{"detach", "--dry-run", "--new-auth", bad}, want: "--new-auth \"" + bad + "\" is not an Amplify resource name"},
		"--to":                         {args: []string{"patch", "--from", "notesappauth", "--to", bad}, want: "--to \"" + bad + "\""},
		"--from":                       {args: []string{"patch", "--from", "a/b"}, want: "--from \"a/b\""},
		"--pool":                       {args: []string{"backup", "--pool", "../us-east-1_x"}, want: "not a Cognito user pool id"},
		"pool id in amplify-meta.json": {args: []string{"plan"}, want: "is not a Cognito user pool id", edit: nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			outer := t.TempDir()
			dir := filepath.Join(outer, "project")
			if err := testenv.CopyTree("../examples/notes-app", dir); err != nil {
				t.Fatal(err)
			}
			_ = os.Remove(filepath.Join(dir, "amplify/.config/local-aws-info.json"))
			sentinel := filepath.Join(outer, "outside")
			if err := os.WriteFile(sentinel, []byte("keep"), 0o644); err != nil {
				t.Fatal(err)
			}
			bc := filepath.Join(dir, "amplify/backend/backend-config.json")
			if c.edit != nil {
				data, _ := os.ReadFile(bc)
				edited := c.edit(string(data))
				if edited == string(data) {
					t.Fatal("the edit changed nothing")
				}
				if err := os.WriteFile(bc, []byte(edited), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if name == "pool id in amplify-meta.json" {
				replaceInFile(t, filepath.Join(dir, "amplify/backend/amplify-meta.json"), "us-east-1_NotesOld1", "../../../outside_x")
			}
			before := snapshotProject(t, dir)
			out, stderr, err := runApp(t, dir, nil, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v: %v, want it to say %q\n%s%s", c.args, err, c.want, out, stderr)
			}
			if data, err := os.ReadFile(sentinel); err != nil || string(data) != "keep" {
				t.Errorf("the file beside the project: %q, %v", data, err)
			}
			if entries, _ := os.ReadDir(outer); len(entries) != 2 {
				t.Errorf("files appeared beside the project: %v", entries)
			}
			if after := snapshotProject(t, dir); after != before {
				t.Error("project files changed although the command refused")
			}
		})
	}
}

// snapshotProject is every file under amplify/ with its content, as one
// string.
func snapshotProject(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	_ = filepath.WalkDir(filepath.Join(dir, "amplify"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			b.WriteString(p + "\n" + string(data) + "\n")
		}
		return nil
	})
	return b.String()
}
