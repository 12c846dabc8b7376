package cli

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/backendpatch"
	"github.com/poolmigrate/poolmigrate/testbed/amplifycli"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestCorpusOnRealCLI takes every corpus root with a Cognito auth resource
// through the file half of the migration with the real Amplify CLI: pull
// (simulated: the files `amplify pull` leaves), detach, `amplify remove
// auth userPoolGroups`, `amplify remove auth <old>`, `amplify add auth
// --headless` with the answers authplan makes, patch, then `amplify
// status` and `amplify api gql-compile`. Roots the CLI cannot load are
// listed with the CLI's reason.
func TestCorpusOnRealCLI(t *testing.T) {
	corpusDir := testenv.Corpus(t)
	amp := amplifycli.Require(t)
	var roots []string
	_ = filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "backend-config.json" && strings.HasSuffix(filepath.Dir(p), filepath.Join("amplify", "backend")) {
			roots = append(roots, filepath.Dir(filepath.Dir(filepath.Dir(p))))
		}
		return nil
	})
	sort.Strings(roots)
	var mu sync.Mutex
	var migrated, refused []string
	t.Run("roots", func(t *testing.T) {
		for _, r := range roots {
			rel, _ := filepath.Rel(corpusDir, r)
			backend, _ := os.ReadFile(filepath.Join(r, "amplify/backend/backend-config.json"))
			var auth string
			gjson.GetBytes(backend, "auth").ForEach(func(k, v gjson.Result) bool {
				if v.Get("service").String() == "Cognito" {
					auth = k.String()
				}
				return true
			})
			if auth == "" {
				continue
			}
			t.Run(rel, func(t *testing.T) {
				t.Parallel()
				why, ok := migrateRootOnRealCLI(t, amp, r, auth)
				mu.Lock()
				defer mu.Unlock()
				if ok {
					migrated = append(migrated, rel)
				} else {
					refused = append(refused, rel+": "+why)
				}
			})
		}
	})
	sort.Strings(migrated)
	sort.Strings(refused)
	t.Logf("migrated with the real CLI (%d): %s", len(migrated), strings.Join(migrated, ", "))
	t.Logf("the real CLI cannot load (%d):\n  %s", len(refused), strings.Join(refused, "\n  "))
	if len(migrated) < 10 {
		t.Errorf("only %d corpus roots went through the real CLI", len(migrated))
	}
}

// migrateRootOnRealCLI runs one root; ok=false with the CLI's reason when
// the CLI cannot load the root as it is (before poolmigrate touches it).
func migrateRootOnRealCLI(t *testing.T, amp *amplifycli.CLI, src, auth string) (string, bool) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := testenv.CopyTree(src, dir); err != nil {
		t.Fatal(err)
	}
	env := "dev"
	tpi, err := os.ReadFile(filepath.Join(dir, "amplify/team-provider-info.json"))
	if err != nil {
		return "no team-provider-info.json (git-ignored upstream): `amplify pull` would write it", false
	}
	if !gjson.GetBytes(tpi, env).Exists() {
		gjson.ParseBytes(tpi).ForEach(func(k, _ gjson.Result) bool { env = k.String(); return false })
	}
	if err := amp.Pull(ctx, dir, env); err != nil {
		return firstCLIError(err.Error()), false
	}

	// detach, as `poolmigrate detach` does once the backup is proved.
	cs, rec, err := backendpatch.Detach(dir, auth)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, ".poolmigrate")
	if _, err := cs.Apply(state, "detach", rec); err != nil {
		t.Fatal(err)
	}
	plan, err := newAuthPlan(dir, auth, &detachFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if gjson.GetBytes(mustRead(t, filepath.Join(dir, "amplify/backend/backend-config.json")), "auth."+backendpatch.GroupsResource).Exists() {
		amplifyOK(t, amp, dir, "", "remove", "auth", backendpatch.GroupsResource, "--yes")
	}
	amplifyOK(t, amp, dir, "", "remove", "auth", auth, "--yes")
	amplifyOK(t, amp, dir, string(plan.Payload)+"\n", "add", "auth", "--headless")
	if _, err := os.Stat(filepath.Join(dir, "amplify/backend/auth", plan.NewName, "cli-inputs.json")); err != nil {
		t.Fatalf("add auth --headless did not create %s: %v", plan.NewName, err)
	}
	cs, err = backendpatch.Patch(dir, backendpatch.PatchOptions{From: auth, To: plan.NewName, Edges: rec.Edges, Triggers: rec.Triggers})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(state, "patch", nil); err != nil {
		t.Fatal(err)
	}
	checkPatchedOnRealCLI(t, amp, dir, auth, plan.NewName)
	for _, tr := range plan.Triggers {
		checkTriggerCarried(t, amp, dir, plan.NewName, tr.Event, tr.Function)
	}
	return "", true
}

func firstCLIError(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "🛑") || strings.Contains(l, "Error") {
			return l
		}
	}
	return strings.SplitN(out, "\n", 2)[0]
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
