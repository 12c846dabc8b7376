package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/spf13/pflag"
	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/authplan"
	"github.com/poolmigrate/poolmigrate/backendpatch"
	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/statedir"
)

type detachFlags struct {
	backup, auth, pool string
	newAuth, signIn    string
	aliases            string
	dry, undo, live    bool
}

func detachCommand(a *App) command {
	return command{
		name:    "detach",
		summary: "remove every dependency on the old auth resource and its userPoolGroups so `amplify remove auth` succeeds (needs a verified backup of this env's pool), and write the answers for `amplify add auth`",
		usage:   "detach [--backup FILE] [--auth NAME] [--pool ID] [--sign-in email|username|phone|email-and-phone] [--new-auth NAME] [--dry-run] | detach --undo",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &detachFlags{}
			fs.StringVar(&f.backup, "backup", "", "verified backup of the auth resource's pool (default: the newest in .poolmigrate/backups)")
			fs.StringVar(&f.auth, "auth", "", "the auth resource to detach (default: the project's Cognito auth resource)")
			fs.StringVar(&f.pool, "pool", "", "the env's pool id, when amplify-meta.json lacks it (checked with DescribeUserPool)")
			fs.StringVar(&f.signIn, "sign-in", "", "the new resource's sign-in: email, username, phone or email-and-phone (default: email when the old signs in by username, else the old)")
			fs.StringVar(&f.newAuth, "new-auth", "", "the new auth resource's name (default: the old name with a v2 suffix)")
			fs.StringVar(&f.aliases, "aliases", "", "alias attributes of the new resource (username sign-in only), comma-separated; default: the old ones")
			fs.BoolVar(&f.dry, "dry-run", false, "print the changes as a diff, write nothing")
			fs.BoolVar(&f.undo, "undo", false, "restore the files the last detach changed")
			fs.BoolVar(&f.live, "live", false, "also read the pool's Lambda triggers (DescribeUserPool) and report those the project files do not declare")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("detach takes no arguments")
				}
				if f.newAuth != "" {
					// It becomes amplify/backend/auth/<name>.
					if err := amplifyproj.CheckResourceName("--new-auth", f.newAuth); err != nil {
						return usagef("%v", err)
					}
				}
				if f.signIn != "" {
					v, err := authplan.ParseSignIn(f.signIn)
					if err != nil {
						return usagef("--sign-in: %v", err)
					}
					f.signIn = v
				}
				return a.runDetach(ctx, g, f)
			}
		},
	}
}

func patchCommand(a *App) command {
	return command{
		name:    "patch",
		summary: "re-point the backend (APIs, functions, dependsOn, team-provider-info) at the new auth resource",
		usage:   "patch [--to NAME] [--from NAME] [--dry-run] | patch --undo | (Gen 2) patch [--sign-in email|phone|email-and-phone|username] [--pool ID] [--retained] [--dry-run]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			to := fs.String("to", "", "the new auth resource (default: the Cognito auth resource now in backend-config.json)")
			from := fs.String("from", "", "the old auth resource (default: the one detached by poolmigrate detach)")
			dry := fs.Bool("dry-run", false, "print the changes as a diff, write nothing")
			undo := fs.Bool("undo", false, "restore the files the last patch changed")
			var g2 gen2PatchFlags
			fs.StringVar(&g2.signIn, "sign-in", "", "Gen 2: the new pool's sign-in: email, phone, email-and-phone or username (default: email for a username pool)")
			fs.StringVar(&g2.aliases, "aliases", "", "Gen 2: alias attributes of a new pool that signs in by username, comma-separated")
			fs.StringVar(&g2.pool, "pool", "", "Gen 2: the old pool's id, when amplify_outputs.json lacks it")
			fs.BoolVar(&g2.retained, "retained", false, "Gen 2: you checked yourself that the deployed old pool is retained (skips the CloudFormation check)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("patch takes no arguments")
				}
				if root, ok := a.gen2Root(g); ok {
					g2.dry, g2.undo = *dry, *undo
					return a.runPatchGen2(ctx, g, root, g2)
				}
				for flag, v := range map[string]string{"--to": *to, "--from": *from} {
					if v != "" {
						if err := amplifyproj.CheckResourceName(flag, v); err != nil {
							return usagef("%v", err)
						}
					}
				}
				return a.runPatch(g, *from, *to, *dry, *undo)
			}
		},
	}
}

// projectState loads the project and its state folder.
func (a *App) projectState(g *globals) (*amplifyproj.Project, string, string, error) {
	p, root, err := a.loadProject(g)
	if err != nil {
		return nil, "", "", err
	}
	dir, err := statedir.Ensure(root)
	if err != nil {
		return nil, "", "", err
	}
	return p, root, dir, nil
}

func (a *App) runDetach(ctx context.Context, g *globals, f *detachFlags) error {
	p, root, state, err := a.projectState(g)
	if err != nil {
		return err
	}
	if f.undo {
		return a.undo(root, state, "detach")
	}
	au, err := pickAuth(p, f.auth)
	if err != nil {
		return err
	}
	plan, err := newAuthPlan(root, au.Name, f)
	if err != nil {
		return err
	}
	cs, rec, err := backendpatch.Detach(root, au.Name)
	if err != nil {
		return err
	}
	if f.dry {
		if cs.Empty() {
			fmt.Fprintf(a.Stdout, "Nothing depends on auth %s or %s.\n", au.Name, backendpatch.GroupsResource)
		}
		fmt.Fprint(a.Stdout, cs.Diff())
		a.printAuthSteps(p, au.Name, plan, filepath.Join(state, addAuthFile))
		return nil
	}
	backup, hdr, err := verifiedBackup(state, au, f.backup)
	if err != nil {
		return err
	}
	if err := a.provePool(ctx, p, root, au, f.pool, backup, hdr.PoolID); err != nil {
		return err
	}
	if f.live {
		if err := a.addLiveTriggers(ctx, p, hdr.PoolID, plan); err != nil {
			return err
		}
	}
	if err := writeAuthPlan(state, plan); err != nil {
		return err
	}
	if cs.Empty() {
		fmt.Fprintf(a.Stdout, "Nothing depends on auth %s or %s: `amplify remove auth` will not be blocked by dependencies (backup %s is verified).\n", au.Name, backendpatch.GroupsResource, backup)
	} else {
		if _, err := cs.Apply(state, "detach", rec); err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "Detached auth %s (backup %s is verified):\n", au.Name, backup)
		for _, e := range rec.Edges {
			fmt.Fprintf(a.Stdout, "  %s: %s/%s no longer depends on %s\n", e.File, e.Category, e.Resource, gjson.Get(e.Entry, "resourceName").String())
		}
	}
	a.printAuthSteps(p, au.Name, plan, filepath.Join(state, addAuthFile))
	fmt.Fprintln(a.Stdout, "`poolmigrate detach --undo` restores the files.")
	return nil
}

// addLiveTriggers reports the pool's deployed triggers (LambdaConfig) that
// the project files do not declare: nothing carries them to the new pool.
func (a *App) addLiveTriggers(ctx context.Context, p *amplifyproj.Project, poolID string, plan *authplan.Plan) error {
	c, err := a.newAWSClients(ctx, p.Region, p.Profile)
	if err != nil {
		return err
	}
	pool, err := cognito.DescribePool(ctx, c.cognito, poolID)
	if err != nil {
		return explainAWS(err)
	}
	var declared []string
	for _, t := range plan.Triggers {
		declared = append(declared, t.Function)
	}
	for _, t := range pool.UndeclaredTriggers(declared, p.Env) {
		plan.NotCarried = append(plan.NotCarried, fmt.Sprintf("pool %s invokes %s for %s, but the project files do not declare it (attached by hand?): after `amplify push`, attach it to the new pool (console, or an `amplify override auth` of the new resource)", poolID, t.Function, t.Event))
	}
	return nil
}

// provePool refuses unless the backup is of this env's pool: the pool id
// in amplify-meta.json or, in a clone without it, the UserPoolId output of
// the env's deployed auth stack, or --pool checked with DescribeUserPool
// against the name Amplify gives the env's pool (<userPoolName>-<env>).
func (a *App) provePool(ctx context.Context, p *amplifyproj.Project, root string, au amplifyproj.AuthResource, pool, backup, backupPool string) error {
	mismatch := func(envPool, source string) error {
		return fmt.Errorf("the backup %s is of pool %s, but auth %s in env %s is pool %s (%s): back up %s (`poolmigrate backup --pool %s`) before detaching", backup, backupPool, au.Name, p.Env, envPool, source, envPool, envPool)
	}
	switch {
	case au.UserPoolID != "" && pool != "" && pool != au.UserPoolID:
		return fmt.Errorf("--pool %s is not the pool of auth %s in env %s: amplify-meta.json says %s", pool, au.Name, p.Env, au.UserPoolID)
	case au.UserPoolID != "":
		if backupPool != au.UserPoolID {
			return mismatch(au.UserPoolID, "amplify-meta.json")
		}
		return nil
	}
	c, err := a.newAWSClients(ctx, p.Region, p.Profile)
	if err != nil {
		return err
	}
	if pool == "" {
		deployed, err := amplifyproj.DeployedPoolID(ctx, c.cloudformation(), p.StackName, au.Name)
		if err != nil {
			return fmt.Errorf("the pool id of auth %s in env %s is unknown: amplify-meta.json has none (as in a fresh clone) and AWS did not tell it (%v), so the backup %s (pool %s) cannot be proved to be of this env's pool: run `amplify pull`, or pass --pool ID", au.Name, p.Env, err, backup, backupPool)
		}
		if deployed != backupPool {
			return mismatch(deployed, "the UserPoolId output of its stack")
		}
		return nil
	}
	if pool != backupPool {
		return fmt.Errorf("the backup %s is of pool %s, but --pool is %s", backup, backupPool, pool)
	}
	out, err := c.cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		return fmt.Errorf("check --pool %s with DescribeUserPool: %w", pool, err)
	}
	name := aws.ToString(out.UserPool.Name)
	// The pool's name comes from the project's own file, read like every
	// project file (inside the project, bounded, valid JSON): a file that
	// cannot be read refuses rather than skipping the check. Only a
	// missing file (a project from before CLI 7 keeps parameters.json)
	// leaves the name unchecked.
	inputsPath := "amplify/backend/auth/" + au.Name + "/cli-inputs.json"
	inputs, err := amplifyproj.ReadFile(statedir.FS(root), inputsPath, amplifyproj.MaxJSONSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		inputs = nil
	case err != nil:
		return fmt.Errorf("check --pool %s against auth %s: %w", pool, au.Name, err)
	default:
		if err := amplifyproj.CheckJSON(inputsPath, inputs); err != nil {
			return fmt.Errorf("check --pool %s against auth %s: %w; fix the file (or restore it with git) and run again", pool, au.Name, err)
		}
	}
	base := gjson.GetBytes(inputs, "cognitoConfig.userPoolName").String()
	if base != "" && name != base+"-"+p.Env && name != base {
		return fmt.Errorf("--pool %s is named %q, but auth %s in env %s would be named %q: pass the env's pool id (see the Cognito console or the auth stack's outputs)", pool, name, au.Name, p.Env, base+"-"+p.Env)
	}
	return nil
}

func verifiedBackup(state string, au amplifyproj.AuthResource, backup string) (string, cognito.BackupHeader, error) {
	if backup == "" {
		matches, _ := filepath.Glob(filepath.Join(state, "backups", "*.jsonl"))
		sort.Sort(sort.Reverse(sort.StringSlice(matches)))
		for _, m := range matches {
			if au.UserPoolID != "" && !strings.HasPrefix(filepath.Base(m), au.UserPoolID+"-") {
				continue
			}
			backup = m
			break
		}
		if backup == "" {
			return "", cognito.BackupHeader{}, fmt.Errorf("no backup of pool %s in %s: run `poolmigrate backup` first; detach refuses without one, because `amplify push` after `amplify remove auth` deletes the pool and its users", au.UserPoolID, filepath.Join(state, "backups"))
		}
	}
	hdr, _, err := cognito.VerifyBackupFile(backup)
	if err != nil {
		return "", hdr, fmt.Errorf("the backup %s does not verify (%w): run `poolmigrate backup` again before detaching", backup, err)
	}
	return backup, hdr, nil
}

func pickAuth(p *amplifyproj.Project, name string) (amplifyproj.AuthResource, error) {
	if name != "" {
		au, ok := p.AuthByName(name)
		if !ok {
			return au, fmt.Errorf("backend-config.json has no Cognito auth resource %q", name)
		}
		return au, nil
	}
	switch len(p.Auth) {
	case 1:
		return p.Auth[0], nil
	case 0:
		return amplifyproj.AuthResource{}, errors.New("the project has no Cognito auth resource")
	}
	return amplifyproj.AuthResource{}, errors.New("the project has several Cognito auth resources: pass --auth NAME")
}

func (a *App) undo(root, state, op string) error {
	files, err := backendpatch.Undo(root, state, op)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "Undid the last %s; restored:\n  %s\n", op, strings.Join(files, "\n  "))
	return nil
}

func (a *App) runPatch(g *globals, from, to string, dry, undo bool) error {
	p, root, state, err := a.projectState(g)
	if err != nil {
		return err
	}
	if undo {
		return a.undo(root, state, "patch")
	}
	rec, detached, err := backendpatch.LastDetach(state)
	if err != nil {
		return err
	}
	if from == "" {
		if !detached {
			return errors.New("no detach recorded in .poolmigrate: pass --from NAME (the old auth resource)")
		}
		from = rec.Auth
	}
	if to == "" {
		var names []string
		for _, au := range p.Auth {
			if au.Name != from {
				names = append(names, au.Name)
			}
		}
		switch len(names) {
		case 1:
			to = names[0]
		case 0:
			return fmt.Errorf("backend-config.json has no Cognito auth resource besides %s: run `amplify remove auth` and `amplify add auth` (or `amplify import auth`) first, or pass --to NAME", from)
		default:
			return fmt.Errorf("backend-config.json has several new Cognito auth resources (%s): pass --to NAME", strings.Join(names, ", "))
		}
	}
	au, ok := p.AuthByName(to)
	if !ok {
		return fmt.Errorf("backend-config.json has no Cognito auth resource %q", to)
	}
	cs, err := backendpatch.Patch(root, backendpatch.PatchOptions{From: from, To: to, Edges: rec.Edges, Triggers: rec.Triggers, NewImported: au.Imported, NewPoolID: au.UserPoolID})
	if err != nil {
		return err
	}
	if cs.Empty() {
		fmt.Fprintf(a.Stdout, "Nothing to patch: the backend already points at auth %s.\n", to)
	} else if dry {
		fmt.Fprint(a.Stdout, cs.Diff())
	} else {
		if _, err := cs.Apply(state, "patch", map[string]string{"from": from, "to": to}); err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "Re-pointed the backend from auth %s to auth %s:\n  %s\n", from, to, strings.Join(cs.Paths(), "\n  "))
		fmt.Fprintln(a.Stdout, "Next: `amplify push`. `poolmigrate patch --undo` restores the files.")
	}
	for _, n := range cs.Notes {
		fmt.Fprintln(a.Stdout, "note:", n)
	}
	return nil
}
