package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/poolmigrate/poolmigrate/amplifygen2"
	"github.com/poolmigrate/poolmigrate/gen2patch"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// gen2Root returns the Gen 2 project's root when the globals point at
// one.
func (a *App) gen2Root(g *globals) (string, bool) {
	root, gen, err := a.findProject(g)
	return root, err == nil && gen == 2
}

// gen2DeploySteps are the two ways a Gen 2 backend deploys.
const gen2DeploySteps = `  npx ampx sandbox            # a sandbox (or --once); it rewrites amplify_outputs.json
  git push                    # a branch: its Amplify Hosting pipeline runs ` + "`npx ampx pipeline-deploy`" + `;
                              # then ` + "`npx ampx generate outputs --branch BRANCH --app-id APP_ID`"

func (a *App) runRetainGen2(root string, dry, undo bool) error {
	state, err := statedir.Ensure(root)
	if err != nil {
		return err
	}
	if undo {
		return a.undo(root, state, "retain-pool")
	}
	cs, err := gen2patch.RetainPool(root)
	if err != nil {
		return err
	}
	already := gen2patch.BackendPath + " already keeps the pool (the poolmigrate retain block)."
	if written, err := a.writeChangeSet(cs, state, "retain-pool", dry, already); !written {
		return err
	}
	fmt.Fprintf(a.Stdout, `Wrote the retain block into %s (DeletionPolicy and UpdateReplacePolicy Retain on the user pool).
Deploy it; this deploy changes nothing but the two policies of the pool:
%s
Then `+"`poolmigrate retain-pool --check`"+` confirms the deployed template keeps the pool.
`+"`poolmigrate retain-pool --undo`"+` removes the block again.
`, gen2patch.BackendPath, gen2DeploySteps)
	return nil
}

// gen2Pool is the pool the Gen 2 project's files name (amplify_outputs.json),
// or --pool.
func (a *App) gen2Pool(g *globals, pool string) (string, *amplifygen2.Project, error) {
	root, _ := a.gen2Root(g)
	p, err := amplifygen2.Load(statedir.FS(root), root)
	if err != nil {
		return "", nil, err
	}
	if pool != "" {
		return pool, p, nil
	}
	if p.Outputs == nil || p.Outputs.UserPoolID == "" {
		return "", p, fmt.Errorf("the user pool id is unknown: %s is missing (write it with `npx ampx generate outputs --branch BRANCH --app-id APP_ID`, or run the sandbox), or pass --pool ID", amplifygen2.OutputsPath)
	}
	return p.Outputs.UserPoolID, p, nil
}

// gen2Retained reads the deployed auth stack's template: is the pool kept
// when the next deploy replaces it?
func (a *App) gen2Retained(ctx context.Context, g *globals, poolID string) (amplifygen2.DeployedPool, error) {
	pl, _, err := a.loadPlan(g, planOptions{})
	if err != nil {
		return amplifygen2.DeployedPool{}, err
	}
	c, err := a.newAWSClients(ctx, pl.Region, pl.Profile)
	if err != nil {
		return amplifygen2.DeployedPool{}, err
	}
	d, err := amplifygen2.FindDeployedPool(ctx, c.cloudformation(), poolID)
	return d, explainAWS(err)
}

func (a *App) runRetainCheckGen2(ctx context.Context, g *globals, pool string) error {
	poolID, _, err := a.gen2Pool(g, pool)
	if err != nil {
		return err
	}
	d, err := a.gen2Retained(ctx, g, poolID)
	if err != nil {
		return err
	}
	if !d.Retained() {
		fmt.Fprintf(a.Stdout, "The deployed stack %s does not keep user pool %s yet (%s: DeletionPolicy %s, UpdateReplacePolicy %s): run `poolmigrate retain-pool`, deploy, then check again.\n", d.Stack, poolID, d.LogicalID, d.DeletionPolicy, d.UpdateReplacePolicy)
		return notReady{"the deployed user pool is not retained yet"}
	}
	fmt.Fprintf(a.Stdout, "The deployed stack %s keeps user pool %s (%s: DeletionPolicy and UpdateReplacePolicy Retain): a deploy that replaces it leaves it, with its users, in place.\n", d.Stack, poolID, d.LogicalID)
	return nil
}

// gen2PatchFlags are patch's flags for a Gen 2 project.
type gen2PatchFlags struct {
	signIn, aliases, pool string
	retained, dry, undo   bool
}

func (a *App) runPatchGen2(ctx context.Context, g *globals, root string, f gen2PatchFlags) error {
	state, err := statedir.Ensure(root)
	if err != nil {
		return err
	}
	if f.undo {
		return a.undo(root, state, "patch")
	}
	poolID, p, err := a.gen2Pool(g, f.pool)
	if err != nil {
		return err
	}
	signIn := f.signIn
	if signIn == "" {
		signIn = gen2patch.SignInEmail
		if p.Outputs != nil && len(p.Outputs.UsernameAttributes) == 1 && p.Outputs.UsernameAttributes[0] == "email" {
			return usagef("user pool %s already signs in by e-mail: pass --sign-in to say what the new pool changes (email, phone, email-and-phone, username)", poolID)
		}
	}
	var aliases []string
	if f.aliases != "" {
		aliases = strings.Split(f.aliases, ",")
	}
	cs, id, err := gen2patch.Patch(root, gen2patch.PatchOptions{SignIn: signIn, Aliases: aliases, OldPoolID: poolID})
	if err != nil {
		return err
	}
	if cs.Empty() {
		fmt.Fprintf(a.Stdout, "%s already replaces user pool %s (new logical id %s).\n", gen2patch.BackendPath, poolID, id)
		return nil
	}
	if f.dry {
		fmt.Fprint(a.Stdout, cs.Diff())
		return nil
	}
	if err := a.gen2RequireRetained(ctx, g, poolID, f.retained); err != nil {
		return err
	}
	if _, err := cs.Apply(state, "patch", map[string]string{"oldPool": poolID, "logicalId": id, "signIn": signIn}); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, `Wrote the new-pool block into %s: a new user pool (logical id %s) signing in by %s.
Deploy it: CloudFormation creates the new pool, with a new app client and the
groups, and leaves the old pool %s and its users in place (the deployed
template says Retain). The identity pool and the data API follow the new pool;
the tables do not change.
%s
Then `+"`poolmigrate migrate`"+` goes on (or check, export and import with the new pool's id
from amplify_outputs.json). `+"`poolmigrate patch --undo`"+` removes the block.
`, gen2patch.BackendPath, id, signIn, poolID, gen2DeploySteps)
	if p.Auth != nil && slices.Contains(p.Auth.LoginWith, "externalProviders") {
		fmt.Fprint(a.Stdout, gen2ProvidersNote)
	}
	return nil
}

// gen2ProvidersNote is what a Gen 2 app with loginWith.externalProviders
// does about its providers when the pool is replaced.
const gen2ProvidersNote = `Its identity providers (loginWith.externalProviders) come back on the new pool
under the same names, scopes and attribute mappings (the import links
federated users to them by name). Their client ids and secrets stay your
secret() values: on the same branch or sandbox there is nothing to re-enter;
elsewhere set them again (` + "`npx ampx sandbox secret set NAME`" + `, or the Amplify
console's secrets for a branch). The new pool's hosted UI domain has a name of
its own (one name is one pool's): after the deploy, add
https://<oauth.domain in amplify_outputs.json>/oauth2/idpresponse to each
provider's app (Google Cloud console, Facebook app, ...).
`

// gen2RequireRetained refuses to write the new pool until the deployed
// template keeps the old one: deployed from a Delete template, the
// replacement deletes the old pool and every user in it.
func (a *App) gen2RequireRetained(ctx context.Context, g *globals, poolID string, retained bool) error {
	if retained {
		fmt.Fprintln(a.Stderr, "Taking your word that the deployed user pool is retained (--retained).")
		return nil
	}
	d, err := a.gen2Retained(ctx, g, poolID)
	if err != nil {
		return fmt.Errorf("%w\n(patch checks that the deployed template keeps the old pool before replacing it; if you checked yourself, pass --retained)", err)
	}
	if !d.Retained() {
		return errors.New("the deployed stack " + d.Stack + " would delete user pool " + poolID + " (DeletionPolicy " + d.DeletionPolicy + ") when the new pool replaces it: run `poolmigrate retain-pool`, deploy, check with `poolmigrate retain-pool --check`, then patch")
	}
	return nil
}
