package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/testbed/amplifycli"
)

// buildWithOverrides runs `amplify build` with overrides, which npm
// installs the override helper from the registry first: a failure is
// logged (with the CLI's log) and the build tried once more, so a
// registry hiccup is not taken for a broken override, which fails twice.
func buildWithOverrides(t *testing.T, amp *amplifycli.CLI, dir string) {
	t.Helper()
	_, err := amp.RunWithOverrides(context.Background(), dir, "", "build")
	if err == nil {
		return
	}
	t.Logf("amplify build failed once, trying again: %v", err)
	if _, err := amp.RunWithOverrides(context.Background(), dir, "", "build"); err != nil {
		t.Fatal(err)
	}
}

// amplifyOK runs the real Amplify CLI and fails the test when it fails.
func amplifyOK(t *testing.T, amp *amplifycli.CLI, dir, stdin string, args ...string) string {
	t.Helper()
	out, err := amp.Run(context.Background(), dir, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkPatchedOnRealCLI proves a patched project sound with the real CLI:
// `amplify status` loads it, `amplify api gql-compile` compiles every API
// into a build/parameters.json whose AuthCognitoUserPoolId is the new
// resource's pool (required for an API with Cognito auth), and no file outside #current-cloud-backend/ and
// .poolmigrate/ refers to the old resource any more.
func checkPatchedOnRealCLI(t *testing.T, amp *amplifycli.CLI, dir, oldAuth, newAuth string) {
	t.Helper()
	amplifyOK(t, amp, dir, "", "status")
	backend := mustRead(t, filepath.Join(dir, "amplify/backend/backend-config.json"))
	var apis []string // AppSync APIs only: REST APIs share the category, orphan folders are ignored by the CLI
	cognitoAuth := map[string]bool{}
	gjson.GetBytes(backend, "api").ForEach(func(name, res gjson.Result) bool {
		if res.Get("service").String() == "AppSync" {
			apis = append(apis, name.String())
			auth := res.Get("output.authConfig")
			cognitoAuth[name.String()] = auth.Get("defaultAuthentication.authenticationType").String() == "AMAZON_COGNITO_USER_POOLS" ||
				auth.Get(`additionalAuthenticationProviders.#(authenticationType=="AMAZON_COGNITO_USER_POOLS")`).Exists()
		}
		return true
	})
	if len(apis) > 0 {
		amplifyOK(t, amp, dir, "", "api", "gql-compile")
	}
	for _, s := range apis {
		params, err := os.ReadFile(filepath.Join(dir, "amplify/backend/api", s, "build", "parameters.json"))
		if err != nil {
			t.Errorf("gql-compile wrote no build/parameters.json: %v", err)
			continue
		}
		// An API with Cognito auth must take the new pool; one without
		// may have no AuthCognitoUserPoolId, but any it has is the new one.
		ref := gjson.GetBytes(params, `AuthCognitoUserPoolId.Fn\:\:GetAtt.0`).String()
		if (cognitoAuth[s] || gjson.GetBytes(params, "AuthCognitoUserPoolId").Exists()) && ref != "auth"+newAuth {
			t.Errorf("%s: AuthCognitoUserPoolId names %q, want auth%s", s, ref, newAuth)
		}
	}
	if refs := oldAuthRefs(t, dir, oldAuth, newAuth); len(refs) > 0 {
		t.Errorf("files still refer to auth %s:\n  %s", oldAuth, strings.Join(refs, "\n  "))
	}
}

// oldAuthRefs lists the files under amplify/ (but #current-cloud-backend/,
// the CLI's record of the last push) that name the old auth resource. A
// name that merely contains it (the new resource, a trigger function named
// <old>PostConfirmation, a project named like its auth resource and its
// stacks and roles) is a name of its own, not a reference.
func oldAuthRefs(t *testing.T, dir, oldAuth, newAuth string) []string {
	t.Helper()
	backend, _ := os.ReadFile(filepath.Join(dir, "amplify/backend/backend-config.json"))
	var own []string
	gjson.ParseBytes(backend).ForEach(func(_, resources gjson.Result) bool {
		resources.ForEach(func(name, _ gjson.Result) bool {
			if n := name.String(); n != oldAuth && strings.Contains(strings.ToLower(n), strings.ToLower(oldAuth)) {
				own = append(own, n)
			}
			return true
		})
		return true
	})
	sort.Slice(own, func(i, j int) bool { return len(own[i]) > len(own[j]) })
	var refs []string
	old := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(oldAuth))
	project := gjson.GetBytes(mustRead(t, filepath.Join(dir, "amplify/.config/project-config.json")), "projectName").String()
	if strings.Contains(strings.ToLower(project), strings.ToLower(oldAuth)) {
		// The CLI names stacks, roles and buckets after the project: only
		// the reference forms can tell the auth resource apart.
		q := regexp.QuoteMeta(oldAuth)
		old = regexp.MustCompile(`(?i)("auth` + q + `"|auth` + q + `(UserPoolId|AppClient|IdentityPool)|AUTH_` + q + `_)`)
	}
	// dependsOn entries on the auth resource, read as JSON: another
	// category's resource may have the same name (an API named like it).
	for _, f := range []string{"backend-config.json", "amplify-meta.json"} {
		gjson.ParseBytes(mustRead(t, filepath.Join(dir, "amplify/backend", f))).ForEach(func(cat, resources gjson.Result) bool {
			resources.ForEach(func(name, res gjson.Result) bool {
				for _, d := range res.Get("dependsOn").Array() {
					if d.Get("category").String() == "auth" && d.Get("resourceName").String() == oldAuth {
						refs = append(refs, fmt.Sprintf("amplify/backend/%s: %s/%s depends on auth %s", f, cat, name, oldAuth))
					}
				}
				return true
			})
			return true
		})
	}
	_ = filepath.WalkDir(filepath.Join(dir, "amplify"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// The new resource's folder is the CLI's own output (it derives
		// names like resourceNameTruncated from the project name).
		if d.IsDir() && (d.Name() == "#current-cloud-backend" || d.Name() == "node_modules" || p == filepath.Join(dir, "amplify/backend/auth", newAuth)) {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := string(data)
		if strings.Contains(s, `"dependsOn"`) {
			// Checked above, as JSON; a resource of another category may
			// share the auth resource's name.
			s = regexp.MustCompile(`"resourceName": *"[^"]*"`).ReplaceAllString(s, `"resourceName": "<checked>"`)
		}
		for _, n := range own {
			s = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(n)).ReplaceAllString(s, "<resource>")
		}
		if loc := old.FindStringIndex(s); loc != nil {
			rel, _ := filepath.Rel(dir, p)
			from, to := max(0, loc[0]-40), min(len(s), loc[1]+40)
			refs = append(refs, rel+": …"+strings.ReplaceAll(s[from:to], "\n", " ")+"…")
		}
		return nil
	})
	return refs
}

// checkTriggerCarried proves the old pool's trigger now belongs to the new
// auth resource, wired as `amplify update auth` wires one: the function is
// named <new auth><event> (the CLI's generated auth stack takes the
// parameter function<new auth><event>Arn, which the push fills from the
// auth resource's dependsOn on that function), and `amplify build`
// generates that stack offline.
func checkTriggerCarried(t *testing.T, amp *amplifycli.CLI, dir, newAuth, event, oldFn string) {
	t.Helper()
	newFn := newAuth + event
	inputs, _ := os.ReadFile(filepath.Join(dir, "amplify/backend/auth", newAuth, "cli-inputs.json"))
	c := gjson.GetBytes(inputs, "cognitoConfig")
	if !c.Get("triggers." + event).Exists() {
		t.Errorf("cli-inputs.json of %s has no %s trigger: %s", newAuth, event, c.Get("triggers").Raw)
	}
	if conns := c.Get("authTriggerConnections"); !strings.Contains(c.Get("dependsOn").Raw, `"`+newFn+`"`) || (len(conns.Array()) > 0 && !strings.Contains(conns.Raw, newFn)) {
		t.Errorf("cli-inputs.json of %s does not wire %s: %s %s", newAuth, newFn, c.Get("dependsOn").Raw, c.Get("authTriggerConnections").Raw)
	}
	for _, f := range []string{"backend-config.json", "amplify-meta.json"} {
		data, _ := os.ReadFile(filepath.Join(dir, "amplify/backend", f))
		found := false
		for _, d := range gjson.GetBytes(data, "auth."+newAuth+".dependsOn").Array() {
			found = found || (d.Get("resourceName").String() == newFn && d.Get("triggerProvider").String() == "Cognito" && strings.Contains(d.Get("attributes").Raw, "Arn"))
		}
		if !found {
			t.Errorf("%s: auth %s does not depend on its trigger %s", f, newAuth, newFn)
		}
		if !gjson.GetBytes(data, "function."+newFn).Exists() || gjson.GetBytes(data, "function."+oldFn).Exists() {
			t.Errorf("%s: function %s should have become %s", f, oldFn, newFn)
		}
	}
	fnDir := filepath.Join(dir, "amplify/backend/function")
	if _, err := os.Stat(filepath.Join(fnDir, newFn, "function-parameters.json")); err != nil {
		t.Errorf("the function was not moved: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fnDir, oldFn)); err == nil {
		t.Errorf("the old function folder %s is still there", oldFn)
	}
	params, _ := os.ReadFile(filepath.Join(fnDir, newFn, "function-parameters.json"))
	if got := gjson.GetBytes(params, "parentResource").String(); got != newAuth {
		t.Errorf("%s's parentResource is %q, want %s", newFn, got, newAuth)
	}
	if _, err := os.Stat(filepath.Join(fnDir, newFn, newFn+"-cloudformation-template.json")); err != nil {
		return // a corpus copy holds config only: no template for the CLI to build
	}
	amplifyOK(t, amp, dir, "", "build")
	tmpl, _ := os.ReadFile(filepath.Join(dir, "amplify/backend/auth", newAuth, "build", "auth-trigger-cloudformation-template.json"))
	if !strings.Contains(string(tmpl), `"function`+newFn+`Arn"`) {
		t.Errorf("amplify build generated no trigger stack taking function%sArn:\n%.400s", newFn, tmpl)
	}
	if out := amplifyOK(t, amp, dir, "", "status"); !strings.Contains(out, newFn) {
		t.Errorf("amplify status does not list %s:\n%s", newFn, out)
	}
}

// TestRetainPoolOnRealCLI: the override retain-pool writes is what the
// real CLI builds into the auth stack: the UserPool resource gets
// DeletionPolicy and UpdateReplacePolicy Retain (`amplify build` runs npm
// install and tsc in amplify/backend).
func TestRetainPoolOnRealCLI(t *testing.T) {
	t.Parallel() // its own copy of the project and CLI home: beside the corpus roots
	amp := amplifycli.Require(t)
	ctx := context.Background()
	dir := copyProject(t, "../examples/notes-app")
	if err := amp.Pull(ctx, dir, "dev"); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runApp(t, dir, nil, "retain-pool")
	if err != nil || !strings.Contains(out, "amplify push") {
		t.Fatalf("retain-pool: %v\n%s%s", err, out, stderr)
	}
	if out, _, err := runApp(t, dir, nil, "retain-pool"); err != nil || !strings.Contains(out, "already keeps the pool") {
		t.Errorf("retain-pool twice: %v %s", err, out)
	}
	buildWithOverrides(t, amp, dir)
	tmpl := mustRead(t, filepath.Join(dir, "amplify/backend/auth/notesappauth/build/notesappauth-cloudformation-template.json"))
	pool := gjson.GetBytes(tmpl, "Resources.UserPool")
	if pool.Get("DeletionPolicy").String() != "Retain" || pool.Get("UpdateReplacePolicy").String() != "Retain" {
		t.Errorf("the built UserPool: DeletionPolicy %q, UpdateReplacePolicy %q", pool.Get("DeletionPolicy"), pool.Get("UpdateReplacePolicy"))
	}
	// The identity pool is kept too: `storage copy` reads each user's old
	// identity id from it after the push.
	idPool := gjson.GetBytes(tmpl, "Resources.IdentityPool")
	if !idPool.Exists() || idPool.Get("DeletionPolicy").String() != "Retain" || idPool.Get("UpdateReplacePolicy").String() != "Retain" {
		t.Errorf("the built IdentityPool (exists %v): DeletionPolicy %q, UpdateReplacePolicy %q", idPool.Exists(), idPool.Get("DeletionPolicy"), idPool.Get("UpdateReplacePolicy"))
	}
	// An override of the user's own is not rewritten.
	own := filepath.Join(dir, "amplify/backend/auth/notesappauth/override.ts")
	if _, _, err := runApp(t, dir, nil, "retain-pool", "--undo"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(own); err == nil {
		t.Fatal("--undo left override.ts")
	}
	if err := os.WriteFile(own, []byte("export function override(resources: any) { resources.userPool.userPoolName = 'x'; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runApp(t, dir, nil, "retain-pool"); err == nil || !strings.Contains(err.Error(), "deletionPolicy = 'Retain'") {
		t.Errorf("an override of the user's own: %v", err)
	}
}

// TestTriggerOverrideOnRealCLI: the override route keeps the user
// migration trigger through pushes: the real CLI's `amplify build` puts
// it in the pool's LambdaConfig. A resource with triggers of its own is
// refused (the CLI's trigger custom resource would replace LambdaConfig).
func TestTriggerOverrideOnRealCLI(t *testing.T) {
	t.Parallel() // its own copy of the project and CLI home: beside the corpus roots
	amp := amplifycli.Require(t)
	ctx := context.Background()
	const arn = "arn:aws:lambda:us-east-1:111122223333:function:poolmigrate-migration-us-east-1-New"
	withTriggers := copyProject(t, "../examples/notes-app")
	if _, _, err := runApp(t, withTriggers, nil, "trigger", "override", "--function-arn", arn); err == nil || !strings.Contains(err.Error(), "custom resource") {
		t.Errorf("an auth resource with triggers of its own: %v", err)
	}

	dir := copyProject(t, "../examples/notes-app")
	// The same project without its PostConfirmation trigger.
	inputs := filepath.Join(dir, "amplify/backend/auth/notesappauth/cli-inputs.json")
	data := mustRead(t, inputs)
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	c := doc["cognitoConfig"].(map[string]any)
	for _, k := range []string{"triggers", "dependsOn", "permissions", "authTriggerConnections"} {
		delete(c, k)
	}
	out, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(inputs, out, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"amplify/backend/backend-config.json", "amplify/backend/amplify-meta.json"} {
		replaceInFile(t, filepath.Join(dir, f), `"triggerProvider": "Cognito"`, `"triggerProvider": "none"`)
	}
	if err := amp.Pull(ctx, dir, "dev"); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, err := runApp(t, dir, nil, "trigger", "override", "--function-arn", arn); err != nil {
		t.Fatalf("trigger override: %v\n%s%s", err, stdout, stderr)
	}
	buildWithOverrides(t, amp, dir)
	tmpl := mustRead(t, filepath.Join(dir, "amplify/backend/auth/notesappauth/build/notesappauth-cloudformation-template.json"))
	if got := gjson.GetBytes(tmpl, "Resources.UserPool.Properties.LambdaConfig.UserMigration").String(); got != arn {
		t.Errorf("the built pool's UserMigration: %q, want %s", got, arn)
	}
}
