package gen2synth

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInputKey: two copies of a project in different folders are one
// input; any file's content, a new file, a file's mode, the toolchain or
// any context key makes another.
func TestInputKey(t *testing.T) {
	write := func(files map[string]string, mode os.FileMode) string {
		dir := t.TempDir()
		for rel, data := range files {
			p := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), mode); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	project := map[string]string{"amplify/backend.ts": "defineBackend({ auth })", "amplify/auth/resource.ts": "defineAuth({})", "package.json": "{}"}
	b := Backend{Namespace: "app", Name: "main", Type: "branch"}
	key := func(tc, work string, b Backend) string {
		k, err := inputKey(tc, work, b)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key("/tc", write(project, 0o644), b)
	if k := key("/tc", write(project, 0o644), b); k != base {
		t.Errorf("the same project in another folder: %s, want %s", k, base)
	}
	changed := func(rel, data string) map[string]string {
		c := map[string]string{}
		for k, v := range project {
			c[k] = v
		}
		c[rel] = data
		return c
	}
	if key("/tc", write(map[string]string{"amplify/a.ts": "xy", "amplify/b.ts": ""}, 0o644), b) == key("/tc", write(map[string]string{"amplify/a.ts": "x", "amplify/b.ts": "y"}, 0o644), b) {
		t.Error("bytes moved from one file to the next, and the key did not change")
	}
	for name, k := range map[string]string{
		"a file's content":    key("/tc", write(changed("amplify/auth/resource.ts", "defineAuth({ loginWith: { email: true } })"), 0o644), b),
		"a new file":          key("/tc", write(changed("amplify/data/resource.ts", ""), 0o644), b),
		"a file's mode":       key("/tc", write(project, 0o600), b),
		"the toolchain":       key("/other", write(project, 0o644), b),
		"the namespace":       key("/tc", write(project, 0o644), Backend{Namespace: "app2", Name: "main", Type: "branch"}),
		"the name":            key("/tc", write(project, 0o644), Backend{Namespace: "app", Name: "dev", Type: "branch"}),
		"the deployment type": key("/tc", write(project, 0o644), Backend{Namespace: "app", Name: "main", Type: "sandbox"}),
	} {
		if k == base {
			t.Errorf("%s changed, and the key did not", name)
		}
	}
}
