package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/backendpatch"
)

func retainCommand(a *App) command {
	return command{
		name:    "retain-pool",
		summary: "keep the old user pool through `amplify remove auth` and push (an auth override with Retain), for the user migration trigger",
		usage:   "retain-pool [--auth NAME] [--dry-run] | retain-pool --check | retain-pool --undo",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			auth := fs.String("auth", "", "the auth resource whose pool to keep (default: the project's Cognito auth resource)")
			dry := fs.Bool("dry-run", false, "print the files as a diff, write nothing")
			undo := fs.Bool("undo", false, "remove what the last retain-pool wrote")
			check := fs.Bool("check", false, "ask AWS whether the deployed auth stack keeps the pool (exit 1 if not)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("retain-pool takes no arguments")
				}
				if *check {
					return a.runRetainCheck(ctx, g, *auth)
				}
				return a.runRetain(g, *auth, *dry, *undo)
			}
		},
	}
}

func (a *App) runRetain(g *globals, auth string, dry, undo bool) error {
	if root, ok := a.gen2Root(g); ok {
		return a.runRetainGen2(root, dry, undo)
	}
	p, root, state, err := a.projectState(g)
	if err != nil {
		return err
	}
	if undo {
		return a.undo(root, state, "retain-pool")
	}
	au, err := pickAuth(p, auth)
	if err != nil {
		return err
	}
	cs, err := backendpatch.RetainPool(root, au.Name)
	if err != nil {
		return err
	}
	already := "amplify/backend/auth/" + au.Name + "/override.ts already keeps the pool (Retain)."
	if written, err := a.writeChangeSet(cs, state, "retain-pool", dry, already); !written {
		return err
	}
	fmt.Fprintf(a.Stdout, "Wrote an override that keeps the user pool of auth %s:\n  %s\n", au.Name, joinLines(cs.Paths()))
	fmt.Fprintf(a.Stdout, `Next:
  amplify build    # compiles the override (npm install in amplify/backend, then tsc)
  amplify push     # deploys only the policy: the pool and its users stay as they are
After that push, removing the auth resource leaves the pool in place (and its
users able to sign in through the migration trigger) until you delete it.
`+"`poolmigrate retain-pool --undo`"+` removes the files again.
`)
	return nil
}

// runRetainCheck asks CloudFormation whether the env's deployed auth stack
// keeps its pool: until it does, removing the auth resource and pushing
// deletes the pool the migration trigger signs users in against.
func (a *App) runRetainCheck(ctx context.Context, g *globals, auth string) error {
	if _, ok := a.gen2Root(g); ok {
		return a.runRetainCheckGen2(ctx, g, "")
	}
	p, _, err := a.loadProject(g)
	if err != nil {
		return err
	}
	au, err := pickAuth(p, auth)
	if err != nil {
		return err
	}
	c, err := a.newAWSClients(ctx, p.Region, p.Profile)
	if err != nil {
		return err
	}
	retained, err := amplifyproj.DeployedPoolRetained(ctx, c.cloudformation(), p.StackName, au.Name)
	var busy *amplifyproj.StackBusyError
	if errors.As(err, &busy) {
		fmt.Fprintf(a.Stdout, "Cannot tell yet whether the deployed auth stack of %s in env %s keeps its user pool: %v.\n", au.Name, p.Env, busy)
		return notReady{"the env's stacks are not settled"}
	}
	if err != nil {
		return explainAWS(err)
	}
	if !retained {
		fmt.Fprintf(a.Stdout, "The deployed auth stack of %s in env %s does not keep its user pool yet: run `poolmigrate retain-pool`, `amplify build` and `amplify push`, then check again.\n", au.Name, p.Env)
		return notReady{"the deployed old pool is not retained yet"}
	}
	fmt.Fprintf(a.Stdout, "The deployed auth stack of %s in env %s keeps its user pool (DeletionPolicy Retain): removing the auth resource and pushing leaves the pool and its users in place.\n", au.Name, p.Env)
	return nil
}

func joinLines(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += "\n  "
		}
		out += v
	}
	return out
}

// writeChangeSet applies a change set the command owns as step op of the
// state folder (so --undo can restore the files), and tells whether it
// wrote it: an empty one says already, a dry run prints the diff, and
// neither writes.
func (a *App) writeChangeSet(cs *backendpatch.ChangeSet, state, op string, dry bool, already string) (written bool, err error) {
	switch {
	case cs.Empty():
		fmt.Fprintln(a.Stdout, already)
		return false, nil
	case dry:
		fmt.Fprint(a.Stdout, cs.Diff())
		return false, nil
	}
	if _, err := cs.Apply(state, op, nil); err != nil {
		return false, err
	}
	return true, nil
}
