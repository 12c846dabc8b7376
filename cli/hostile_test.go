package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadsStayInsideTheProject: a project file, or a folder of them,
// that is a symbolic link out of the project is refused by name, and
// nothing it holds reaches the output (it used to be read and shown).
func TestReadsStayInsideTheProject(t *testing.T) {
	const secret = "SecretFromOutside"
	linkOut := func(t *testing.T, root, rel string, moveIt bool, content string) string {
		t.Helper()
		outside := filepath.Join(t.TempDir(), "elsewhere")
		full := filepath.Join(root, filepath.FromSlash(rel))
		if moveIt {
			if err := os.Rename(full, outside); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := os.WriteFile(outside, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_ = os.Remove(full)
		}
		if err := os.Symlink(outside, full); err != nil {
			t.Fatal(err)
		}
		return outside
	}
	cases := map[string]struct {
		src, rel string
		moveIt   bool
		content  string
		edit     func(t *testing.T, root string)
	}{
		"amplify/backend linked out": {src: "../examples/notes-app", rel: "amplify/backend", moveIt: true},
		"a schema.graphql linked out": {
			src: "../examples/notes-app", rel: "amplify/backend/api/notesapi/schema.graphql",
			content: "type " + secret + " @model @auth(rules: [{allow: owner}]) { id: ID! }",
		},
		"a file resource.ts imports, linked out": {
			src: "../examples/gen2-app", rel: "amplify/auth/groups.ts",
			content: "export const groups = ['" + secret + "'];",
			edit: func(t *testing.T, root string) {
				p := filepath.Join(root, "amplify/auth/resource.ts")
				replaceInFile(t, p, "import { defineAuth } from '@aws-amplify/backend';", "import { defineAuth } from '@aws-amplify/backend';\nimport { groups } from './groups';")
				replaceInFile(t, p, "groups: ['ADMINS', 'EDITORS'],", "groups,")
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root := copyProject(t, tc.src)
			if tc.edit != nil {
				tc.edit(t, root)
			}
			target := linkOut(t, root, tc.rel, tc.moveIt, tc.content)
			stdout, _, err := runApp(t, root, nil, "plan", "--env", "dev", "--json")
			if err == nil || !strings.Contains(err.Error(), tc.rel+" is a symbolic link to "+target+", outside the project") {
				t.Fatalf("plan: %v, want a refusal naming the link %s", err, tc.rel)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			if strings.Contains(stdout, secret) || strings.Contains(stdout, "notesappauth") {
				t.Errorf("what the link leads to reached the output:\n%s", stdout)
			}
		})
	}
}
