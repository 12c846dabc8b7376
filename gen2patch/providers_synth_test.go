package gen2patch

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/gen2synth"
)

// TestProvidersFollowTheNewPool synthesizes a Gen 2 app that signs in
// with Google and Facebook before and after patch: the identity
// providers come back on the new pool under the same names (the import
// links its federated users to them by name), with their scopes and
// attribute mappings, their client ids and secrets still read from the
// app's secrets (nothing to re-enter for the same branch); and the
// hosted UI domain, a name only one pool may hold, gets a new name on
// the new pool (the old, retained pool holds the old one until its
// domain resource is gone), under a new logical id so CloudFormation
// creates it rather than replacing a custom-named resource.
func TestProvidersFollowTheNewPool(t *testing.T) {
	tc := gen2synth.Require(t)
	ctx := context.Background()
	root := gen2synth.CopyExample(t, "app", gen2synth.FederatedAuth)
	backend := gen2synth.Backend{Namespace: "gen2-app", Name: "main", Type: "branch"}
	state := filepath.Join(root, ".poolmigrate")
	cs, err := RetainPool(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(state, "retain-pool", nil); err != nil {
		t.Fatal(err)
	}
	before, err := tc.Synth(ctx, root, backend)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Remove()
	cs, id, err := Patch(root, PatchOptions{SignIn: SignInEmail, OldPoolID: "us-east-1_oldPool1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(state, "patch", nil); err != nil {
		t.Fatal(err)
	}
	after, err := tc.Synth(ctx, root, backend)
	if err != nil {
		t.Fatal(err)
	}
	defer after.Remove()

	providers := func(a *gen2synth.Assembly) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, r := range a.OfType("AWS::Cognito::UserPoolIdentityProvider") {
			out[fmt.Sprint(r.Properties["ProviderName"])] = r.Properties
		}
		return out
	}
	pb, pa := providers(before), providers(after)
	if len(pa) != 2 || pa["Google"] == nil || pa["Facebook"] == nil {
		t.Fatalf("providers after patch: %v", pa)
	}
	for name, p := range pa {
		if ref, _ := json.Marshal(p["UserPoolId"]); string(ref) != `{"Ref":"`+id+`"}` {
			t.Errorf("%s points at %s, not the new pool %s", name, ref, id)
		}
		for _, k := range []string{"ProviderType", "AttributeMapping", "ProviderDetails"} {
			b, _ := json.Marshal(pb[name][k])
			a, _ := json.Marshal(p[k])
			if string(a) != string(b) {
				t.Errorf("%s %s changed:\n%s\n%s", name, k, b, a)
			}
		}
		details, _ := json.Marshal(p["ProviderDetails"])
		// The secrets stay the app's secret() values, resolved at deploy.
		if strings.Contains(string(details), "GOCSPX") || !strings.Contains(string(details), "client_secret") {
			t.Errorf("%s details %s", name, details)
		}
	}
	if d := fmt.Sprint(pa["Google"]["ProviderDetails"]); !strings.Contains(d, "email profile openid") {
		t.Errorf("Google scopes: %s", d)
	}
	if m, _ := json.Marshal(pa["Google"]["AttributeMapping"]); !strings.Contains(string(m), `"name":"name"`) || !strings.Contains(string(m), `"email":"email"`) {
		t.Errorf("Google mapping: %s", m)
	}

	domains := func(a *gen2synth.Assembly) []gen2synth.Named { return a.OfType("AWS::Cognito::UserPoolDomain") }
	db, da := domains(before), domains(after)
	if len(db) != 1 || len(da) != 1 {
		t.Fatalf("domains before %+v, after %+v", db, da)
	}
	if ref, _ := json.Marshal(da[0].Properties["UserPoolId"]); string(ref) != `{"Ref":"`+id+`"}` {
		t.Errorf("the domain points at %s", ref)
	}
	if da[0].Properties["Domain"] == db[0].Properties["Domain"] || da[0].LogicalID == db[0].LogicalID {
		t.Errorf("the new pool's domain is %v (%s), the old one's %v (%s): one name two pools cannot share",
			da[0].Properties["Domain"], da[0].LogicalID, db[0].Properties["Domain"], db[0].LogicalID)
	}
	t.Logf("domain %v -> %v", db[0].Properties["Domain"], da[0].Properties["Domain"])
}
