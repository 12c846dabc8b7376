package gen2e2e

import (
	"context"
	"testing"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/poolmigrate/poolmigrate/testbed/gen2sim"
	"github.com/poolmigrate/poolmigrate/testbed/gen2synth"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// gen2Bed is a copy of the Gen 2 example on the test bed: each deploy
// synthesizes it with the real toolchain and plays the deploy
// (testbed/gen2sim); every pool a deploy creates is deleted after the
// test, and migrate runs poolmigrate on it.
type gen2Bed struct {
	t          *testing.T
	env        *testenv.Env
	tc         *gen2synth.Toolchain
	dir        string
	backend    gen2synth.Backend
	clients    gen2sim.Clients
	importRole string
}

// newGen2Bed copies the example (its auth replaced by auth, if not "")
// for the branch deployment namespace/main.
func newGen2Bed(t *testing.T, env *testenv.Env, tc *gen2synth.Toolchain, namespace, auth string, clients gen2sim.Clients) *gen2Bed {
	return &gen2Bed{t: t, env: env, tc: tc, dir: gen2synth.CopyExample(t, "gen2-app", auth),
		backend: gen2synth.Backend{Namespace: namespace, Name: "main", Type: "branch"}, clients: clients}
}

// deploy synthesizes the app as it is now and deploys it over prev (nil:
// the first deploy).
func (b *gen2Bed) deploy(prev *gen2sim.Deployment) *gen2sim.Deployment {
	b.t.Helper()
	ctx := context.Background()
	asm, err := b.tc.Synth(ctx, b.dir, b.backend)
	if err != nil {
		b.t.Fatal(err)
	}
	defer asm.Remove()
	d, err := gen2sim.Deploy(ctx, b.clients, asm, b.dir, b.backend, prev)
	if err != nil {
		b.t.Fatal(err)
	}
	if prev == nil || d.PoolID != prev.PoolID {
		pool := d.PoolID
		b.t.Cleanup(func() {
			_, _ = b.env.Local.DeleteUserPool(context.Background(), &cip.DeleteUserPoolInput{UserPoolId: &pool})
		})
	}
	return d
}

// exampleTables names the example's tables in deployment d: table(model), and
// all of them.
func exampleTables(d *gen2sim.Deployment) (func(string) string, []string) {
	table := func(m string) string { return m + "-" + d.APIID + "-NONE" }
	return table, []string{table("Note"), table("Comment"), table("Profile"), table("Board"), table("Invite"), table("Tag")}
}

// migrate runs `poolmigrate migrate --yes` (the test bed's import role,
// fast polls) and extra, and returns its output; an error fails the test.
func (b *gen2Bed) migrate(extra ...string) string {
	b.t.Helper()
	if b.importRole == "" {
		b.importRole = b.env.ImportRole(b.t)
	}
	args := append([]string{"migrate", "--yes", "--role-arn", b.importRole, "--rate-scale", "1000", "--poll", "50ms"}, extra...)
	out, stderr, err := runApp(b.t, b.dir, nil, args...)
	if err != nil {
		b.t.Fatalf("migrate %v: %v\n%s%s", extra, err, out, stderr)
	}
	return out + stderr
}
