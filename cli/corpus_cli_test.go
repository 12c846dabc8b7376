package cli

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/backendpatch"
	"github.com/poolmigrate/poolmigrate/testbed/amplifycli"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestCorpusOnRealCLI takes corpus roots with a Cognito auth resource
// through the file half of the migration with the real Amplify CLI: pull
// (simulated: the files `amplify pull` leaves), detach, `amplify remove
// auth userPoolGroups`, `amplify remove auth <old>`, `amplify add auth
// --headless` with the answers authplan makes, patch, then `amplify
// status` and `amplify api gql-compile`. Roots the CLI cannot load are
// listed with the CLI's reason.
//
// By default it runs corpusSample, one root per trap the corpus index
// names (every root is a minute or two of the real CLI, and nine of the
// twenty are one student's near-identical projects);
// POOLMIGRATE_CORPUS_FULL=1 runs every root with an auth resource.
func TestCorpusOnRealCLI(t *testing.T) {
	t.Parallel() // its roots share the -parallel slots with the other real-CLI tests
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
	full := os.Getenv("POOLMIGRATE_CORPUS_FULL") == "1"
	if full {
		t.Logf("every corpus root (POOLMIGRATE_CORPUS_FULL=1)")
	} else {
		t.Logf("the corpus sample: %d roots, one per trap (POOLMIGRATE_CORPUS_FULL=1 runs every root)", len(corpusSample))
		roots = sampleRoots(t, corpusDir, roots)
	}
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
				if !full {
					t.Errorf("%s: the sample root has no Cognito auth resource", rel)
				}
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
	// Every sample root the real CLI loads must migrate, in both modes.
	for _, s := range corpusSample {
		if s.migrates && !slices.Contains(migrated, filepath.FromSlash(s.root)) {
			t.Errorf("%s (%s) did not go through the real CLI", s.root, s.trap)
		}
	}
	if full && len(migrated) < 10 {
		t.Errorf("only %d corpus roots went through the real CLI", len(migrated))
	}
}

// corpusSample is what TestCorpusOnRealCLI runs by default: every root
// whose trap the corpus index (INDEX.md) names, at least one per
// repository. Of nbiot-tracker-system's eleven roots it leaves out
// ddb-tracker-app and dynamo-tracker-app (cognito-api's owner rules and
// trigger without its doubled suffix), react-amplify and tracking-app
// (auth alone, as in anhttm8-app) and real-time-tracker (no auth).
// migrates: the real CLI loads the root, so it must migrate.
var corpusSample = []struct {
	root, trap string
	migrates   bool
}{
	{"aws-samples__aws-serverless-airline-booking", "v1 @key with the owner field as the GSI hash key; deprecated identityField; API key as an additional provider", true},
	{"VTUL__dlp-access", "9 envs; API key the default auth, Cognito additional; a PostConfirmation trigger the auth depends on; userPoolGroups", true},
	{"hadrysmateusz__writing-app/packages/web", "nested monorepo root; tab-indented backend-config.json; a commented-out @model", true},
	{"bradyrichmond__cupexchange", "field-level @auth; an owner field never declared; a predictions category", true},
	{"davidsilva__my-tutorial-v2", "no team-provider-info.json (refused: `amplify pull` would write it); REST and AppSync in one api category", false},
	{"chrisbonifacio__amplify-dse-repros/ext/fullstack-app", "a .migration-backup schema beside the v2 one; an absolute macOS gqlSchemaPath; an OIDC owner rule; a PreSignup trigger; two envs", true},
	{"chrisbonifacio__amplify-dse-repros/issues/api-graphql/issue9279", "ownerField tenantId (an ID) with identityClaim custom:tenant", true},
	{"MaiAnh871__nbiot-tracker-system/App/anhttm8-app", "a function that depends on auth, no API", true},
	{"MaiAnh871__nbiot-tracker-system/App/cognito-api", "a doubled hash suffix in the auth name; ownerField username; a PostConfirmation trigger; userPoolGroups", true},
	{"MaiAnh871__nbiot-tracker-system/App/my-ddb-tracker", "ownerField username that Device does not declare", true},
	{"MaiAnh871__nbiot-tracker-system/App/my-tracker-app", "REST only; the committed amplify-meta.json, #current-cloud-backend and a Windows projectPath", true},
	{"MaiAnh871__nbiot-tracker-system/App/my-tracking-app", "a function that depends on api and auth", true},
	{"MaiAnh871__nbiot-tracker-system/App/tracker-app", "two envs (dev, newenvi)", true},
	{"parvindd__metasage", "orphan api and auth folders not in backend-config.json; the auth named as the API", true},
	{"rhok-aws__content-management-postagram", "the API folder is not AppSyncApiName; an empty storage category", true},
}

// sampleRoots returns the roots of corpusSample; one missing from the
// corpus fails the test.
func sampleRoots(t *testing.T, corpusDir string, all []string) []string {
	t.Helper()
	var roots []string
	for _, s := range corpusSample {
		r := filepath.Join(corpusDir, filepath.FromSlash(s.root))
		if !slices.Contains(all, r) {
			t.Errorf("the corpus sample names %s, which the corpus has no amplify root at", s.root)
			continue
		}
		roots = append(roots, r)
	}
	return roots
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
