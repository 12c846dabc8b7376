package gen2patch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/backendpatch"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

func project(t *testing.T, backend string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "amplify"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, BackendPath), []byte(backend), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func apply(t *testing.T, cs *backendpatch.ChangeSet, op string) {
	t.Helper()
	if _, err := cs.Apply(filepath.Join(cs.Root, ".poolmigrate"), op, nil); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, BackendPath))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

const userCode = `import { defineBackend } from '@aws-amplify/backend';
import { auth } from './auth/resource';

export const app = defineBackend({
  auth,
});

const cfnUserPool = app.auth.resources.cfnResources.cfnUserPool;
cfnUserPool.usernameAttributes = undefined;` // no final newline, as editors sometimes leave it

func TestBlocksLeaveTheUsersCodeAlone(t *testing.T) {
	root := project(t, userCode)
	cs, err := RetainPool(root)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, cs, "retain-pool")
	got := read(t, root)
	if !strings.HasPrefix(got, userCode+"\n") {
		t.Fatalf("the user's code changed:\n%s", got)
	}
	if !strings.Contains(got, "// poolmigrate:end retain\n") {
		t.Errorf("no end line in\n%s", got)
	}
	wantRetainBlock(t, got, "app")
	// Again: nothing changes.
	cs, err = RetainPool(root)
	if err != nil || !cs.Empty() {
		t.Fatalf("second retain: %v, %d changes", err, len(cs.Changes))
	}
	// The trigger block goes after the new-pool block even when written
	// first, and the new-pool block between retain and trigger.
	cs, err = KeepTrigger(root, "arn:aws:lambda:us-east-1:000000000000:function:poolmigrate-migration-trigger")
	if err != nil {
		t.Fatal(err)
	}
	apply(t, cs, "trigger-keep")
	cs, id, err := Patch(root, PatchOptions{SignIn: SignInEmail, OldPoolID: "us-east-1_old"})
	if err != nil {
		t.Fatal(err)
	}
	apply(t, cs, "patch")
	got = read(t, root)
	r, p, tr := strings.Index(got, "begin retain"), strings.Index(got, "begin new-pool"), strings.Index(got, "begin migration-trigger")
	if r >= p || p >= tr || !strings.HasPrefix(got, userCode) {
		t.Errorf("blocks out of order (%d, %d, %d):\n%s", r, p, tr, got)
	}
	if id != NewLogicalID("us-east-1_old") || !strings.Contains(got, "overrideLogicalId('"+id+"')") || !strings.Contains(got, "'UsernameAttributes', ['email']") {
		t.Errorf("new-pool block:\n%s", got)
	}
	// The web client's write list: named, standard attributes first, the
	// old identity filtered out of the pool's custom ones.
	if !strings.Contains(got, "cfnClient.addPropertyOverride('WriteAttributes', writeAttributes);") || !strings.Contains(got, "const writeAttributes = ['address', 'birthdate', 'email',") ||
		!strings.Contains(got, "!n.startsWith('custom:prev_')") {
		t.Errorf("new-pool block does not name the client's write attributes:\n%s", got)
	}
	if logical, ok, err := Patched(root); err != nil || !ok || logical != id {
		t.Errorf("Patched: %s %v %v", logical, ok, err)
	}
	// Removing a block takes it (and the blank line before it) away.
	cs, err = KeepTrigger(root, "")
	if err != nil {
		t.Fatal(err)
	}
	apply(t, cs, "trigger-keep")
	if got := read(t, root); strings.Contains(got, "migration-trigger") || strings.Contains(got, "\n\n\n") {
		t.Errorf("after removing the trigger block:\n%s", got)
	}
	// Undo restores each step byte for byte.
	for _, op := range []string{"trigger-keep", "patch", "trigger-keep", "retain-pool"} {
		if _, err := backendpatch.Undo(root, filepath.Join(root, ".poolmigrate"), op); err != nil {
			t.Fatal(err)
		}
	}
	if got := read(t, root); got != userCode {
		t.Errorf("after undo:\n%q\nwant\n%q", got, userCode)
	}
}

func TestBackendFilesPoolmigrateRefuses(t *testing.T) {
	for name, src := range map[string]string{
		"no defineBackend":        "export const x = 1;\n",
		"two backends":            "const a = defineBackend({ auth });\nconst b = defineBackend({ auth });\n",
		"no auth resource":        "const backend = defineBackend({ data });\n",
		"a half block":            "const backend = defineBackend({ auth });\n// poolmigrate:begin retain — x\n{}\n",
		"an end before the begin": "const backend = defineBackend({ auth });\n// poolmigrate:end retain\n// poolmigrate:begin retain — x\n",
	} {
		t.Run(name, func(t *testing.T) {
			root := project(t, src)
			if _, err := RetainPool(root); err == nil {
				t.Fatal("RetainPool accepted it")
			}
			if got := read(t, root); got != src {
				t.Error("the file changed")
			}
		})
	}
	if _, _, err := Patch(project(t, userCode), PatchOptions{SignIn: "fingerprint", OldPoolID: "p"}); err == nil {
		t.Error("Patch accepted an unknown sign-in")
	}
	if _, _, err := Patch(project(t, userCode), PatchOptions{SignIn: SignInEmail}); err == nil {
		t.Error("Patch accepted no old pool id")
	}
	if _, err := RetainPool(t.TempDir()); err == nil {
		t.Error("RetainPool accepted a folder without backend.ts")
	}
}

// blockOf is the text of a poolmigrate block in backend.ts, from its
// begin line to its end line ("" when there is none).
func blockOf(src, name string) string {
	begin := strings.Index(src, "// poolmigrate:begin "+name)
	end := strings.Index(src, "// poolmigrate:end "+name)
	if begin < 0 || end < begin {
		return ""
	}
	return src[begin:end]
}

// wantRetainBlock checks, without the toolchain, that the retain block
// sets both policies on the L1 user pool of the backend held in v; the
// user's own code may name the pool the same way, so only the block
// counts.
func wantRetainBlock(t *testing.T, src, v string) {
	t.Helper()
	block := blockOf(src, RetainBlock)
	for _, s := range []string{
		"const cfnUserPool = " + v + ".auth.resources.cfnResources.cfnUserPool;\n",
		"cfnUserPool.addOverride('DeletionPolicy', 'Retain');\n",
		"cfnUserPool.addOverride('UpdateReplacePolicy', 'Retain');\n",
	} {
		if !strings.Contains(block, s) {
			t.Errorf("the retain block lacks %q:\n%s", s, block)
		}
	}
	if n := strings.Count(block, "cfnUserPool"); n != 4 {
		t.Errorf("the retain block names cfnUserPool %d times, want 4 (its declaration and the target of both overrides):\n%s", n, block)
	}
}

// The example's backend (its variable is `backend`, and its own code
// already names the pool) takes the retain block, aimed at its pool; the
// synthesis test checks the same with the real toolchain.
func TestTheExampleTakesTheBlocks(t *testing.T) {
	root := filepath.Join(t.TempDir(), "app")
	if err := testenv.CopyTree("../examples/gen2-app", root); err != nil {
		t.Fatal(err)
	}
	cs, err := RetainPool(root)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, cs, "retain-pool")
	wantRetainBlock(t, read(t, root), "backend")
}

// TestKeepTriggerRefusesCode: the ARN becomes TypeScript that the deploy
// runs, so anything that could end the string literal or start an
// expression is refused and backend.ts is left as it was.
func TestKeepTriggerRefusesCode(t *testing.T) {
	for name, arn := range map[string]string{
		"quote":        "arn:aws:lambda:us-east-1:000000000000:function:f'); require('child_process').execSync('id'); ('",
		"backtick":     "arn:aws:lambda:us-east-1:000000000000:function:f`",
		"template":     "arn:aws:lambda:us-east-1:000000000000:function:${process.exit(1)}",
		"newline":      "arn:aws:lambda:us-east-1:000000000000:function:f\nprocess.exit(1)",
		"space":        "arn:aws:lambda:us-east-1:000000000000:function:f x",
		"backslash":    `arn:aws:lambda:us-east-1:000000000000:function:f\`,
		"not an arn":   "poolmigrate-migration-trigger",
		"double quote": `arn:aws:lambda:us-east-1:000000000000:function:f"`,
	} {
		t.Run(name, func(t *testing.T) {
			root := project(t, userCode)
			cs, err := KeepTrigger(root, arn)
			if err == nil {
				t.Fatalf("KeepTrigger accepted %q (%d changes)", arn, len(cs.Changes))
			}
			if got := read(t, root); got != userCode {
				t.Errorf("backend.ts changed:\n%s", got)
			}
		})
	}
}

// --aliases is written into backend.ts: only Cognito's alias attributes
// get there; code in the value is refused and nothing is written.
func TestPatchRefusesCodeInAliases(t *testing.T) {
	for name, aliases := range map[string][]string{
		"quote":    {"email'];require('child_process').execSync('id');['"},
		"backtick": {"email`"},
		"template": {"${process.exit(1)}"},
		"newline":  {"email\nprocess.exit(1)"},
		"unknown":  {"email", "name"},
		"empty":    {""},
	} {
		t.Run(name, func(t *testing.T) {
			root := project(t, userCode)
			if cs, _, err := Patch(root, PatchOptions{SignIn: SignInUsername, Aliases: aliases, OldPoolID: "us-east-1_old"}); err == nil {
				t.Fatalf("Patch accepted aliases %q (%d changes)", aliases, len(cs.Changes))
			}
			if got := read(t, root); got != userCode {
				t.Errorf("backend.ts changed:\n%s", got)
			}
		})
	}
	root := project(t, userCode)
	cs, _, err := Patch(root, PatchOptions{SignIn: SignInUsername, Aliases: []string{" Email", "preferred_username", "email"}, OldPoolID: "us-east-1_old"})
	if err != nil {
		t.Fatal(err)
	}
	apply(t, cs, "patch")
	if got := read(t, root); !strings.Contains(got, "cfnUserPool.aliasAttributes = ['email', 'preferred_username'];") {
		t.Errorf("backend.ts:\n%s", got)
	}
}
