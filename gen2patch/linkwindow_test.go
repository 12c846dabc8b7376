package gen2patch

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/backendpatch"
	"github.com/poolmigrate/poolmigrate/testbed/gen2synth"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestLinkWindowRefusesCode: the pool and client ids become TypeScript
// source, so anything but ids is refused and nothing is written.
func TestLinkWindowRefusesCode(t *testing.T) {
	root := project(t, "import { defineBackend } from '@aws-amplify/backend';\nconst backend = defineBackend({ auth });\n")
	if _, err := LinkWindow(root, "us-east-1'", "us-east-1_abc", "client1"); err == nil {
		t.Error("a region with a quote accepted")
	}
	for _, c := range [][2]string{
		{"us-east-1_abc'); process.exit(1); ('", "client1"},
		{"us-east-1_abc", "client'); process.exit(1); ('"},
		{"abc", "client1"},
		{"us-east-1_abc\n", "client1"},
		{"us-east-1_abc", ""},
	} {
		if _, err := LinkWindow(root, "us-east-1", c[0], c[1]); err == nil {
			t.Errorf("LinkWindow(%q, %q) accepted", c[0], c[1])
		}
	}
	cs, err := LinkWindow(root, "eu-west-2", "eu-west-2_Ab12", "7abc+def_1")
	if err != nil {
		t.Fatal(err)
	}
	apply(t, cs, "storage-link-backend")
	if got := read(t, root); !strings.Contains(got, "'cognito-idp.eu-west-2.amazonaws.com/eu-west-2_Ab12', clientId: '7abc+def_1'") {
		t.Errorf("block:\n%s", got)
	}
	if open, err := LinkWindowOpen(root); err != nil || !open {
		t.Errorf("LinkWindowOpen %v, %v", open, err)
	}
}

// TestLinkWindowWithTheRealToolchain: after patch, the synthesized
// identity pool lists the new pool (a reference to the new logical id)
// and, with the link-window block, the old pool by its id and client;
// removing the block leaves the new pool alone, and undo restores the file
// byte for byte.
func TestLinkWindowWithTheRealToolchain(t *testing.T) {
	tc := gen2synth.Require(t)
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "app")
	if err := testenv.CopyTree("../examples/gen2-app", root); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(root, ".poolmigrate")
	cs, id, err := Patch(root, PatchOptions{SignIn: SignInEmail, OldPoolID: "us-east-1_oldPool1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(state, "patch", nil); err != nil {
		t.Fatal(err)
	}
	patched, err := os.ReadFile(filepath.Join(root, BackendPath))
	if err != nil {
		t.Fatal(err)
	}
	if cs, err = LinkWindow(root, "us-east-1", "us-east-1_oldPool1", "oldclient123"); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(state, "storage-link-backend", nil); err != nil {
		t.Fatal(err)
	}
	sandbox := gen2synth.Backend{Namespace: "gen2-app", Name: "dev", Type: "sandbox"}
	providers := func() []map[string]any {
		t.Helper()
		a, err := tc.Synth(ctx, root, sandbox)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Remove()
		pools := a.OfType("AWS::Cognito::IdentityPool")
		if len(pools) != 1 {
			t.Fatalf("%d identity pools", len(pools))
		}
		var out []map[string]any
		data, _ := json.Marshal(pools[0].Properties["CognitoIdentityProviders"])
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("CognitoIdentityProviders %s: %v", data, err)
		}
		return out
	}
	ps := providers()
	if len(ps) != 2 {
		t.Fatalf("providers %v, want the new pool's and the old's", ps)
	}
	newRef, _ := json.Marshal(ps[0])
	if !strings.Contains(string(newRef), id) {
		t.Errorf("first provider %s does not name the new pool %s", newRef, id)
	}
	if ps[1]["ProviderName"] != "cognito-idp.us-east-1.amazonaws.com/us-east-1_oldPool1" || ps[1]["ClientId"] != "oldclient123" {
		t.Errorf("second provider %v, want the old pool's", ps[1])
	}

	// Closed again at retire: only the new pool.
	if cs, err = LinkWindow(root, "", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(state, "storage-link-backend-close", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, BackendPath)); string(got) != string(patched) {
		t.Errorf("closing the window left\n%s", got)
	}
	if ps := providers(); len(ps) != 1 {
		t.Errorf("providers after the window %v", ps)
	}
	if _, err := backendpatch.Undo(root, state, "storage-link-backend-close"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, BackendPath)); !strings.Contains(string(got), "us-east-1_oldPool1', clientId") {
		t.Errorf("undo of the close does not bring the window back")
	}
	if _, err := backendpatch.Undo(root, state, "storage-link-backend"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, BackendPath)); string(got) != string(patched) {
		t.Errorf("undo left\n%s", got)
	}
}
