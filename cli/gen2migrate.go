package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/poolmigrate/poolmigrate/amplifygen2"
	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/gen2patch"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/trigger/deploy"
)

// gen2State is a Gen 2 migration's progress in .poolmigrate/migrate.json:
// the Gen 1 flow's fields (the steps they share run as they do for Gen 1)
// and what only Gen 2 needs.
type gen2State struct {
	migrateState
	Generation   int    `json:"generation"`
	APIID        string `json:"apiId,omitempty"`
	PatchWritten bool   `json:"patchWritten,omitempty"`
	TriggerKept  bool   `json:"triggerKept,omitempty"`
	// LinkWindow: the link-window block was written with the patch block
	// (storage route link); link-close removes it.
	LinkWindow bool `json:"linkWindow,omitempty"`
}

// gen2Steps: the old pool is kept (retain, deployed) before the new one
// replaces it (patch, deployed); the rest is the Gen 1 flow. The patch
// step also writes the link-window block when users have files under
// their identity ids; storage links their new logins to those ids and
// link-close removes the block.
var gen2Steps = []string{"plan", "backup", "retain", "patch", "deploy", "check", "export", "import", "remap", "storage", "verify", "link-close"}

// gen2KeepSteps is the flow with the user migration trigger, kept on the
// new pool through deploys by a block in backend.ts (trigger-keep).
var gen2KeepSteps = []string{"plan", "backup", "retain", "patch", "deploy", "check", "trigger", "trigger-keep", "window",
	"export", "import", "sync", "verify", "link-close", "trigger-remove", "retire"}

func (s *gen2State) steps() []string {
	if s.KeepPasswords {
		return gen2KeepSteps
	}
	return gen2Steps
}

func (a *App) runMigrateGen2(ctx context.Context, g *globals, f *migrateFlags, root string) error {
	state, err := statedir.Ensure(root)
	if err != nil {
		return err
	}
	statePath := filepath.Join(state, "migrate.json")
	st := gen2State{Generation: 2}
	save, err := loadMigrateState(statePath, &st)
	if err != nil {
		return err
	}
	if f.keep && !st.KeepPasswords {
		if st.done("patch") {
			return usagef("--keep-passwords must be chosen before patch; this migration is past it")
		}
		st.KeepPasswords = true
	}
	// The steps shared with Gen 1 run as sub-commands; the API id found by
	// the plan step reaches remap and verify as POOLMIGRATE_API_ID would.
	child := *a
	child.Getenv = func(k string) string {
		if k == "POOLMIGRATE_API_ID" && st.APIID != "" {
			return st.APIID
		}
		return a.Getenv(k)
	}
	for _, step := range st.steps() {
		if st.done(step) {
			continue
		}
		fmt.Fprintf(a.Stderr, "== %s\n", step)
		waiting, err := child.migrateStepGen2(ctx, g, f, root, state, step, &st)
		if err != nil {
			if serr := save(); serr != nil {
				return errors.Join(err, serr)
			}
			return fmt.Errorf("step %s: %w\n(fix it and run `poolmigrate migrate` again: it continues from this step)", step, err)
		}
		if waiting {
			return save()
		}
		st.Done = append(st.Done, step)
		if err := save(); err != nil {
			return err
		}
		if step == f.stopAfter {
			fmt.Fprintf(a.Stdout, "Stopped after %s as asked; run `poolmigrate migrate` to continue.\n", step)
			return nil
		}
	}
	fmt.Fprintln(a.Stdout, "Migration complete: every step is done and verify is clean.")
	return nil
}

func (a *App) migrateStepGen2(ctx context.Context, g *globals, f *migrateFlags, root, state, step string, st *gen2State) (bool, error) {
	out := a.Stdout
	sub := func(args ...string) error {
		args = append(args, "--project", root)
		if g.env != "" {
			args = append(args, "--env", g.env)
		}
		if g.yes {
			args = append(args, "--yes")
		}
		return a.Run(ctx, args)
	}
	switch step {
	case "plan":
		pl, _, err := a.loadPlan(g, planOptions{})
		if err != nil {
			return false, err
		}
		if len(pl.Auth) != 1 || pl.Auth[0].UserPoolID == "" {
			return false, fmt.Errorf("the user pool id is unknown: %s is missing (write it with `npx ampx generate outputs --branch BRANCH --app-id APP_ID`, or run the sandbox)", amplifygen2.OutputsPath)
		}
		c, err := a.newAWSClients(ctx, pl.Region, pl.Profile)
		if err != nil {
			return false, err
		}
		if err := a.addLive(ctx, pl, c); err != nil {
			return false, err
		}
		for _, api := range pl.APIs {
			for _, m := range api.Models {
				if m.Table == "" {
					return false, fmt.Errorf("the table of model %s is unknown (no AppSync API has data.url, and no stack holding the pool names one): pass the API id with POOLMIGRATE_API_ID (the root stack's awsAppsyncApiId output)", m.Type)
				}
			}
			st.APIID = api.APIID
		}
		st.OldAuth, st.OldPool = amplifygen2.AuthResource, pl.Auth[0].UserPoolID
		if g.json {
			return false, writeJSON(out, pl)
		}
		printPlan(out, pl)
		return false, nil
	case "retain":
		if err := verifiedGen2Backup(st); err != nil {
			return false, err
		}
		if !st.RetainWritten {
			if err := sub("retain-pool"); err != nil {
				return false, err
			}
			st.RetainWritten = true
			return true, nil // retain-pool printed the deploy steps
		}
		if f.retained {
			fmt.Fprintln(out, "Taking your word that the deployed old pool is retained (--retained).")
			return false, nil
		}
		err := sub("retain-pool", "--check")
		var nr notReady
		if errors.As(err, &nr) {
			return true, nil
		}
		return false, err
	case "patch":
		if err := verifiedGen2Backup(st); err != nil {
			return false, err
		}
		args := []string{"patch", "--pool", st.OldPool}
		if f.retained {
			args = append(args, "--retained")
		}
		for i := 0; i+1 < len(f.detachFlags); i += 2 {
			if f.detachFlags[i] == "--sign-in" {
				args = append(args, "--sign-in", f.detachFlags[i+1])
			}
		}
		if err := sub(args...); err != nil {
			return false, err
		}
		st.PatchWritten = true
		return false, a.gen2LinkWindow(ctx, g, root, state, st)
	case "storage":
		return false, a.gen2StorageLink(ctx, g, st)
	case "link-close":
		return a.gen2LinkClose(ctx, root, state, g, st)
	case "deploy":
		p, err := amplifygen2.Load(statedir.FS(root), root)
		if err != nil {
			return false, err
		}
		if p.Outputs == nil || p.Outputs.UserPoolID == "" || p.Outputs.UserPoolID == st.OldPool {
			fmt.Fprintf(out, "\nNow deploy the new pool, then run `poolmigrate migrate` again (it reads the new pool's id from %s):\n%s\nThe old pool %s stays, with its users (and in the verified backup %s).\n", amplifygen2.OutputsPath, gen2DeploySteps, st.OldPool, st.Backup)
			return true, nil
		}
		st.TargetPool = p.Outputs.UserPoolID
		fmt.Fprintf(out, "The new user pool is %s (from %s).\n", st.TargetPool, amplifygen2.OutputsPath)
		return false, nil
	case "trigger-keep":
		if !st.TriggerKept {
			arn, err := a.gen2TriggerArn(ctx, g, st.TargetPool)
			if err != nil {
				return false, err
			}
			if err := sub("trigger", "override", "--function-arn", arn); err != nil {
				return false, err
			}
			st.TriggerKept = true
			return true, nil
		}
		err := sub("trigger", "status", "--old-pool", st.OldPool, "--target-pool", st.TargetPool)
		var nr notReady
		if errors.As(err, &nr) {
			return true, nil
		}
		return false, err
	case "trigger-remove":
		if _, err := a.migrateStep(ctx, g, f, nil, root, state, step, &st.migrateState); err != nil {
			return false, err
		}
		if err := sub("trigger", "override", "--undo"); err != nil {
			return false, err
		}
		fmt.Fprintf(out, "Deploy once more: the web client goes back to SRP only.\n")
		return false, nil
	}
	return a.migrateStep(ctx, g, f, nil, root, state, step, &st.migrateState)
}

// verifiedGen2Backup refuses to go on to the deploys without a whole
// backup of the old pool: if anything goes wrong with the pool, it is
// what the users come back from.
func verifiedGen2Backup(st *gen2State) error {
	hdr, _, err := cognito.VerifyBackupFile(st.Backup)
	if err != nil {
		return fmt.Errorf("the backup %s of pool %s does not verify (%w): take it again (`poolmigrate backup --pool %s`) before the deploys", st.Backup, st.OldPool, err, st.OldPool)
	}
	if hdr.PoolID != st.OldPool {
		return fmt.Errorf("the backup %s is of pool %s, not of the app's pool %s", st.Backup, hdr.PoolID, st.OldPool)
	}
	return nil
}

// gen2TriggerArn is the ARN `trigger deploy` gave the function (its
// default name, deploy.FunctionName).
func (a *App) gen2TriggerArn(ctx context.Context, g *globals, target string) (string, error) {
	pl, _, err := a.loadPlan(g, planOptions{})
	if err != nil {
		return "", err
	}
	c, err := a.newAWSClients(ctx, pl.Region, pl.Profile)
	if err != nil {
		return "", err
	}
	account, err := c.accountID(ctx)
	if err != nil {
		return "", explainAWS(err)
	}
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", c.cfg.Region, account, deploy.FunctionName(target)), nil
}

func (a *App) runTriggerOverrideGen2(root, arn string, dry, undo bool) error {
	state, err := statedir.Ensure(root)
	if err != nil {
		return err
	}
	if undo {
		return a.undo(root, state, "trigger-override")
	}
	if arn == "" {
		return usagef("trigger override needs --function-arn ARN (trigger deploy prints it)")
	}
	cs, err := gen2patch.KeepTrigger(root, arn)
	if err != nil {
		return err
	}
	already := fmt.Sprintf("%s already keeps %s as the user migration trigger.", gen2patch.BackendPath, arn)
	if written, err := a.writeChangeSet(cs, state, "trigger-override", dry, already); !written {
		return err
	}
	fmt.Fprintf(a.Stdout, `Wrote the migration-trigger block into %s: every deploy keeps %s
as the pool's user migration trigger, and the web client accepts USER_PASSWORD_AUTH.
Deploy it:
%s
While the window is open the app signs in with the password flow the trigger
needs (Amplify JS v6): signIn({ username, password, options: { authFlowType: 'USER_PASSWORD_AUTH' } }).
`, gen2patch.BackendPath, arn, strings.TrimRight(gen2DeploySteps, "\n"))
	return nil
}
