package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// copyGen2App copies the Gen 2 example to a temporary folder.
func copyGen2App(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "gen2-app")
	if err := testenv.CopyTree("../examples/gen2-app", dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

const gen2Outputs = `{
  "version": "1.4",
  "auth": {
    "user_pool_id": "eu-central-1_Q7bW3nL2x",
    "aws_region": "eu-central-1",
    "user_pool_client_id": "5k3j2h1g0f9e8d7c6b5a4z3y2x",
    "identity_pool_id": "eu-central-1:0b5c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e",
    "standard_required_attributes": ["email"],
    "username_attributes": [],
    "user_verification_types": ["email"],
    "groups": [{"ADMINS": {"precedence": 0}}, {"EDITORS": {"precedence": 1}}],
    "mfa_configuration": "NONE",
    "unauthenticated_identities_enabled": true
  },
  "data": {
    "url": "https://u3nq4lrpwbbzzmhwdxqvhbq7ue.appsync-api.eu-central-1.amazonaws.com/graphql",
    "aws_region": "eu-central-1",
    "default_authorization_type": "AMAZON_COGNITO_USER_POOLS",
    "authorization_types": ["AWS_IAM"]
  }
}
`

// TestPlanGen2Offline plans the Gen 2 example from its files alone, with
// no AWS credentials and no call to AWS: the pool and region from
// amplify_outputs.json, every model's <Model>-<apiId>-NONE table from
// --api-id (or POOLMIGRATE_API_ID), and each owner field's stored form.
func TestPlanGen2Offline(t *testing.T) {
	dir := copyGen2App(t)
	if err := os.WriteFile(filepath.Join(dir, "amplify_outputs.json"), []byte(gen2Outputs), 0o644); err != nil {
		t.Fatal(err)
	}
	noAWS := map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "", "AWS_REGION": ""}
	for name, args := range map[string][]string{
		"flag": {"plan", "--json", "--api-id", "k2m4n6p8q1r3s5t7v9w2x4y6za"},
		"env":  {"plan", "--json"},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range noAWS {
				env[k] = v
			}
			if name == "env" {
				env["POOLMIGRATE_API_ID"] = "k2m4n6p8q1r3s5t7v9w2x4y6za"
			}
			out, stderr, err := runApp(t, filepath.Join(dir, "amplify", "data"), env, args...)
			if err != nil {
				t.Fatalf("plan: %v\n%s", err, stderr)
			}
			if !strings.Contains(out, `"generation": 2`) {
				t.Errorf("no generation 2 in\n%s", out)
			}
			p := decodePlan(t, out)
			if p.ProjectRoot != dir || p.Region != "eu-central-1" || len(p.Auth) != 1 || p.Auth[0].UserPoolID != "eu-central-1_Q7bW3nL2x" {
				t.Fatalf("root %s region %s auth %+v", p.ProjectRoot, p.Region, p.Auth)
			}
			want := map[string]string{
				"Note":    "owner=sub::username",
				"Comment": "owner=username author=username",
				"Profile": "userId=sub[primary]",
				"Board":   "owner=sub::username editors=sub::username(list)",
				"Invite":  "email=email[invitesByEmail](kept)",
				"Tag":     "",
			}
			for _, m := range p.APIs[0].Models {
				if m.Table != m.Type+"-k2m4n6p8q1r3s5t7v9w2x4y6za-NONE" {
					t.Errorf("%s: table %s", m.Type, m.Table)
				}
				var got []string
				for _, of := range m.OwnerFields {
					s := of.Field + "=" + of.Claim
					if len(of.KeyOf) > 0 {
						s += "[" + strings.Join(of.KeyOf, ",") + "]"
					}
					if of.List {
						s += "(list)"
					}
					if !of.Remap {
						s += "(kept)"
					}
					got = append(got, s)
				}
				if strings.Join(got, " ") != want[m.Type] {
					t.Errorf("%s: owners %q, want %q", m.Type, strings.Join(got, " "), want[m.Type])
				}
				delete(want, m.Type)
			}
			if len(want) > 0 {
				t.Errorf("models missing from the plan: %v", want)
			}
		})
	}
	// The human-readable plan says what is kept and why.
	out, _, err := runApp(t, dir, noAWS, "plan", "--api-id", "k2m4n6p8q1r3s5t7v9w2x4y6za")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"(Amplify Gen 2)", "Invite-k2m4n6p8q1r3s5t7v9w2x4y6za-NONE", "not remapped (the e-mail stays the same)", "[OWNER_CLAIM_EMAIL]"} {
		if !strings.Contains(out, s) {
			t.Errorf("plan output lacks %q:\n%s", s, out)
		}
	}
}

// A folder with both a Gen 1 and a Gen 2 backend (as `amplify
// gen2-migration generate` leaves it) is read as Gen 2.
func TestPlanPrefersGen2WhenBothAreThere(t *testing.T) {
	dir := copyGen2App(t)
	if err := testenv.CopyTree("../examples/notes-app/amplify", filepath.Join(dir, "amplify")); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runApp(t, dir, nil, "plan", "--json")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, `"generation": 2`) || !strings.Contains(out, "amplify/data/resource.ts") {
		t.Errorf("not read as Gen 2:\n%s", out)
	}
	// Without an API id the tables are unknown, and plan says how to name it.
	if !strings.Contains(out, "API_ID_UNKNOWN") {
		t.Errorf("no API_ID_UNKNOWN warning:\n%s", out)
	}
}

func TestPlanGen2MovedFromGen1(t *testing.T) {
	out, stderr, err := runApp(t, "../amplifygen2/testdata/migrated", nil, "plan", "--json", "--env", "main")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, stderr)
	}
	p := decodePlan(t, out)
	tables := map[string]string{}
	for _, m := range p.APIs[0].Models {
		tables[m.Type] = m.Table
	}
	if tables["Todo"] != "Todo-k3bq7vb2xnhvzjbyl4mgqnjnba-main" || tables["Project"] != "Project-k3bq7vb2xnhvzjbyl4mgqnjnba-main" {
		t.Errorf("tables %v", tables)
	}
	if p.Env != "main" {
		t.Errorf("branch %q", p.Env)
	}
}
