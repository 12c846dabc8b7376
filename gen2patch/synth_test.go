package gen2patch

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/backendpatch"
	"github.com/poolmigrate/poolmigrate/testbed/gen2synth"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

const oldPoolLogicalID = "amplifyAuthUserPool4BA7F805"

// TestBlocksWithTheRealToolchain synthesizes the Gen 2 example with the
// real toolchain after each step: retain-pool keeps the pool (same logical
// id, DeletionPolicy and UpdateReplacePolicy Retain; without the block it
// is Delete, see amplifygen2's synthesis test) even in a sandbox, whose
// aspect forces every other removal policy to Delete; patch leaves
// exactly one pool, under a new logical id, signing in by e-mail, with the
// data stacks' tables as they were; undo restores the file byte for byte.
func TestBlocksWithTheRealToolchain(t *testing.T) {
	tc := gen2synth.Require(t)
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "app")
	if err := testenv.CopyTree("../examples/gen2-app", root); err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(filepath.Join(root, BackendPath))
	if err != nil {
		t.Fatal(err)
	}
	// Two syntheses, both of a sandbox (whose aspect forces every removal
	// policy to Delete): after retain-pool, and after patch (with the
	// trigger block); the tables of the second are compared with the first.
	sandbox := gen2synth.Backend{Namespace: "gen2-app", Name: "dev", Type: "sandbox"}
	cs, err := RetainPool(root)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(root, ".poolmigrate")
	if _, err := cs.Apply(state, "retain-pool", nil); err != nil {
		t.Fatal(err)
	}
	retained, err := tc.Synth(ctx, root, sandbox)
	if err != nil {
		t.Fatal(err)
	}
	defer retained.Remove()
	pools := retained.OfType("AWS::Cognito::UserPool")
	if len(pools) != 1 || pools[0].LogicalID != oldPoolLogicalID || pools[0].DeletionPolicy != "Retain" || pools[0].UpdateReplacePolicy != "Retain" {
		t.Fatalf("after retain-pool (sandbox): pools %+v", pools)
	}

	cs, id, err := Patch(root, PatchOptions{SignIn: SignInEmail, OldPoolID: "us-east-1_oldPool1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(state, "patch", nil); err != nil {
		t.Fatal(err)
	}
	const trigger = "arn:aws:lambda:us-east-1:000000000000:function:poolmigrate-migration-us-east-1_new"
	if cs, err = KeepTrigger(root, trigger); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(state, "trigger-override", nil); err != nil {
		t.Fatal(err)
	}
	after, err := tc.Synth(ctx, root, sandbox)
	if err != nil {
		t.Fatal(err)
	}
	defer after.Remove()
	pools = after.OfType("AWS::Cognito::UserPool")
	if len(pools) != 1 || pools[0].LogicalID != id || pools[0].LogicalID == oldPoolLogicalID {
		t.Fatalf("after patch: pools %+v, want one under %s", pools, id)
	}
	if got, _ := json.Marshal(pools[0].Properties["UsernameAttributes"]); string(got) != `["email"]` {
		t.Errorf("UsernameAttributes %s", got)
	}
	if _, aliases := pools[0].Properties["AliasAttributes"]; aliases {
		t.Error("the new pool has AliasAttributes")
	}
	// amplify_outputs.json's username_attributes comes from this output:
	// the app's sign-in form must ask for the e-mail.
	if out, _ := json.Marshal(after.Templates[after.RootTemplate()].Outputs["usernameAttributes"]); string(out) != `{"Value":"[\"email\"]"}` {
		t.Errorf("the root stack's usernameAttributes output is %s", out)
	}
	// The trigger block: the pool invokes the migration trigger, and the
	// web client accepts the password flow the trigger needs.
	if lc, _ := pools[0].Properties["LambdaConfig"].(map[string]any); lc["UserMigration"] != trigger {
		t.Errorf("LambdaConfig %v", pools[0].Properties["LambdaConfig"])
	}
	if clients := after.OfType("AWS::Cognito::UserPoolClient"); len(clients) != 1 || !strings.Contains(fmt.Sprint(clients[0].Properties["ExplicitAuthFlows"]), "ALLOW_USER_PASSWORD_AUTH") {
		t.Errorf("web client %+v", clients)
	}
	// The web client may write the standard attributes, never the old
	// identity (defineAuth's client, without a list, may write all).
	if clients := after.OfType("AWS::Cognito::UserPoolClient"); len(clients) == 1 {
		w := fmt.Sprint(clients[0].Properties["WriteAttributes"])
		if !strings.Contains(w, "email") || !strings.Contains(w, "given_name") || strings.Contains(w, "prev_") || strings.Contains(w, "verified") {
			t.Errorf("web client WriteAttributes %s", w)
		}
	}
	// The client and the groups follow the new pool.
	for _, typ := range []string{"AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup"} {
		for _, r := range after.OfType(typ) {
			if ref, _ := json.Marshal(r.Properties["UserPoolId"]); string(ref) != `{"Ref":"`+id+`"}` {
				t.Errorf("%s %s points at %s", typ, r.LogicalID, ref)
			}
		}
	}
	tablesOf := func(a *gen2synth.Assembly) map[string]string {
		out := map[string]string{}
		for _, r := range a.OfType("Custom::AmplifyDynamoDBTable") {
			data, _ := json.Marshal(r.Properties)
			out[r.Template+"/"+r.LogicalID] = string(data)
		}
		return out
	}
	tb, ta := tablesOf(retained), tablesOf(after)
	if len(tb) != 6 || len(ta) != len(tb) {
		t.Fatalf("%d tables before, %d after", len(tb), len(ta))
	}
	for k, v := range tb {
		if ta[k] != v {
			t.Errorf("table %s changed:\n%s\n%s", k, v, ta[k])
		}
	}

	for _, op := range []string{"trigger-override", "patch", "retain-pool"} {
		if _, err := backendpatch.Undo(root, state, op); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(root, BackendPath)); string(got) != string(original) {
		t.Errorf("undo left\n%s", got)
	}
}
