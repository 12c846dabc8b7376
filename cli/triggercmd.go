package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/backendpatch"
	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/trigger"
	"github.com/poolmigrate/poolmigrate/trigger/deploy"
	"github.com/poolmigrate/poolmigrate/trigger/prebuilt"
)

type triggerFlags struct {
	out, arch, source string
	oldPool, target   string
	function, role    string
	zip, carry        string
	backup            string
	dry, undo         bool
	auth, arn         string
	retention         int
}

func triggerCommand(a *App) command {
	return command{
		name:    "trigger",
		summary: "the new pool's user migration Lambda trigger (users keep their passwords): build, deploy, status, remove",
		usage:   "trigger build [--out DIR] [--arch arm64|amd64] [--source DIR] | trigger deploy|status|remove --old-pool ID --target-pool ID [--function NAME] [--role NAME] [--zip FILE | --source DIR] [--backup FILE] [--carry ATTRS] [--log-retention-days N] [--dry-run] [--yes] | trigger override --function-arn ARN [--auth NAME] [--undo]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &triggerFlags{}
			fs.StringVar(&f.out, "out", "", "build: where bootstrap and migration-trigger.zip go (default: a new private temporary folder)")
			fs.StringVar(&f.arch, "arch", "arm64", "Lambda architecture: arm64 or amd64")
			fs.StringVar(&f.source, "source", "", "build, deploy: build the trigger from this poolmigrate source folder (default: this binary's own source; the output names the folder and the package's sha256)")
			fs.StringVar(&f.oldPool, "old-pool", "", "the old user pool (kept alive: see retain-pool)")
			fs.StringVar(&f.target, "target-pool", "", "the new user pool")
			fs.StringVar(&f.function, "function", "", "the function's name (default poolmigrate-migration-<target pool>)")
			fs.StringVar(&f.role, "role", "", "the function's IAM role (default: the function's name)")
			fs.StringVar(&f.zip, "zip", "", "deploy: the package to upload (default: the release's own, or built now from this binary's own source, which needs Go)")
			fs.StringVar(&f.backup, "backup", "", "deploy: the old pool's backup, to find usernames alike but for case (needed when only the old pool tells case apart)")
			fs.StringVar(&f.carry, "carry", "", "deploy: attributes to carry, comma-separated (default: the standard ones)")
			fs.BoolVar(&f.dry, "dry-run", false, "deploy, remove, override: say what would be done, change nothing")
			fs.BoolVar(&f.undo, "undo", false, "override: remove what the last trigger override wrote")
			fs.StringVar(&f.auth, "auth", "", "override: the new auth resource (default: the project's Cognito auth resource)")
			fs.StringVar(&f.arn, "function-arn", "", "override: the trigger's ARN (trigger deploy prints it)")
			fs.IntVar(&f.retention, "log-retention-days", deploy.DefaultLogRetentionDays, "deploy: days CloudWatch Logs keeps the function's logs (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("usage: poolmigrate trigger build|deploy|status|remove")
				}
				switch args[0] {
				case "build":
					return a.runTriggerBuild(ctx, g, f.out, f.arch, f.source)
				case "override":
					return a.runTriggerOverride(g, f)
				case "deploy", "status", "remove":
					if f.oldPool == "" || f.target == "" {
						return usagef("trigger %s needs --old-pool and --target-pool", args[0])
					}
					return a.runTriggerAWS(ctx, g, args[0], f)
				}
				return usagef("unknown trigger command %q: build, deploy, status, remove or override", args[0])
			}
		},
	}
}

func (a *App) runTriggerBuild(ctx context.Context, g *globals, out, arch, source string) error {
	wd, err := a.Getwd()
	if err != nil {
		return err
	}
	if out != "" && !filepath.IsAbs(out) {
		out = filepath.Join(wd, out)
	}
	if source != "" && !filepath.IsAbs(source) {
		source = filepath.Join(wd, source)
	}
	b, err := a.buildTrigger(ctx, source, out, goArch(arch))
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(a.Stdout, b)
	}
	fmt.Fprintf(a.Stdout, "Built the user migration trigger for provided.al2023 (%s) from %s in %s:\n  %s\n  %s (sha256 %s)\n", b.Arch, b.Source, b.Dir, b.Bootstrap, b.Zip, b.SHA256)
	fmt.Fprintln(a.Stdout, "Its settings come from the environment: OLD_USER_POOL_ID, OLD_APP_CLIENT_ID, CARRY_ATTRIBUTES (optional).")
	return nil
}

// buildTrigger builds the trigger from this binary's own source, or from
// source, a folder the user named with --source; never from a go.mod found
// around the working folder, which anyone who can write there (a project,
// a parent folder) could plant, and whose code would see every password.
func (a *App) buildTrigger(ctx context.Context, source, out, arch string) (trigger.Built, error) {
	from := "--source " + source
	if source == "" {
		if a.TriggerSource == nil {
			return trigger.Built{}, errors.New("this build of poolmigrate carries neither a prebuilt trigger nor its source: install a release (npm install -g amplify-poolmigrate), or pass --zip FILE, or --source DIR naming a poolmigrate source folder you trust")
		}
		dir, err := trigger.Unpack(a.TriggerSource)
		if err != nil {
			return trigger.Built{}, err
		}
		defer os.RemoveAll(dir)
		source, from = dir, "this poolmigrate's own source ("+Version+")"
	}
	b, err := trigger.Build(ctx, source, out, arch)
	b.Source = from
	return b, err
}

// goArch is Go's name for a Lambda architecture.
func goArch(arch string) string {
	if arch == "x86_64" {
		return "amd64"
	}
	return arch
}

func (a *App) runTriggerAWS(ctx context.Context, g *globals, op string, f *triggerFlags) error {
	region, profile := g.region, g.profile
	if p, _, err := a.loadPlan(g, planOptions{}); err == nil {
		region, profile = firstNonEmpty(region, p.Region), firstNonEmpty(profile, p.Profile)
	}
	o := deploy.Options{OldPool: f.oldPool, TargetPool: f.target, Function: f.function, Role: f.role, Arch: f.arch, LogRetentionDays: f.retention,
		Logf: func(format string, args ...any) { fmt.Fprintf(a.Stderr, format+"\n", args...) }}
	if f.carry != "" {
		o.CarryAttributes = splitList(f.carry)
	}
	o.Names()
	if err := o.Validate(); err != nil {
		return usagef("%v", err)
	}
	c, err := a.newAWSClients(ctx, region, profile)
	if err != nil {
		return err
	}
	account, err := c.accountID(ctx)
	if err != nil {
		return explainAWS(err)
	}
	o.Region, o.Account = c.cfg.Region, account
	api := deploy.APIs{Cognito: c.cognito, Lambda: c.lambda(), IAM: c.iam(), Logs: c.logs()}
	switch op {
	case "status":
		return a.triggerStatus(ctx, g, api, o)
	case "remove":
		if f.dry {
			fmt.Fprintf(a.Stdout, "Would remove: the user migration trigger of %s (every other setting kept), Cognito's permission on %s and the function (if tagged as deploy's), and the app client %s of %s (if as deploy makes it).\n", f.target, o.Function, deploy.ClientName, f.oldPool)
			return nil
		}
		if err := a.confirm(g, fmt.Sprintf("Remove the user migration trigger from pool %s in AWS account %s, region %s, and delete function %s?", f.target, account, c.cfg.Region, o.Function)); err != nil {
			return err
		}
		res, err := deploy.Remove(ctx, api.Cognito, api.Lambda, o)
		if err != nil {
			return explainAWS(err)
		}
		if g.json {
			return writeJSON(a.Stdout, res)
		}
		fmt.Fprintf(a.Stdout, "Removed the user migration trigger of %s.\n", f.target)
		return nil
	}
	// deploy: everything it would refuse is found before it asks.
	var collisions [][]string
	if f.backup != "" {
		if collisions, err = caseCollisions(f.backup, f.oldPool); err != nil {
			return err
		}
		o.CaseChecked = true
		for _, names := range collisions {
			o.CaseCollisions = append(o.CaseCollisions, trigger.CaseKey(names[0]))
		}
	}
	plan, err := deploy.Inspect(ctx, api, o)
	if err != nil {
		return explainAWS(err)
	}
	if !plan.CaseFolds {
		o.CaseCollisions = nil
	} else if len(collisions) > 0 {
		fmt.Fprintf(a.Stderr, "The new pool ignores case in usernames; these users of the old pool are named alike but for case, and the trigger refuses them (the import brings them over, as export --on-duplicate decides):\n")
		for _, names := range collisions {
			fmt.Fprintf(a.Stderr, "  %s\n", strings.Join(names, ", "))
		}
	}
	if f.dry {
		a.printDeployPlan(o, plan)
		return nil
	}
	if f.zip != "" && f.source != "" {
		return usagef("trigger deploy takes --zip FILE or --source DIR, not both")
	}
	pkg, from, err := a.triggerPackage(ctx, f.zip, f.source, o.Arch)
	if err != nil {
		return err
	}
	o.Zip = pkg
	fmt.Fprintf(a.Stderr, "Package: %s, sha256 %s\n", from, o.CodeSHA256())
	if err := a.confirm(g, fmt.Sprintf("Deploy the user migration trigger in AWS account %s, region %s: users of the old pool %s who sign in to the new pool %s will be migrated with their passwords.", account, c.cfg.Region, f.oldPool, f.target)); err != nil {
		return err
	}
	res, err := deploy.Deploy(ctx, api, o)
	if err != nil {
		return explainAWS(err)
	}
	if g.json {
		return writeJSON(a.Stdout, res)
	}
	// Each step went to stderr as it was done (o.Logf); the outcome names
	// the function only, so a terminal showing both does not list the
	// steps twice (--json carries them).
	fmt.Fprintf(a.Stdout, "Deployed: %s\nAn `amplify push` of the auth stack rewrites the pool's triggers: check with `poolmigrate trigger status` after each push.\n", res.FunctionArn)
	return nil
}

func (a *App) triggerStatus(ctx context.Context, g *globals, api deploy.APIs, o deploy.Options) error {
	st, err := deploy.Check(ctx, api.Cognito, api.Lambda, o)
	if err != nil {
		return explainAWS(err)
	}
	if g.json {
		if err := writeJSON(a.Stdout, st); err != nil {
			return err
		}
	} else if st.OK() {
		fmt.Fprintf(a.Stdout, "The user migration trigger %s is in place: pool %s migrates users from %s.\n", st.FunctionArn, o.TargetPool, o.OldPool)
	} else {
		for _, p := range st.Problems {
			fmt.Fprintln(a.Stdout, "problem:", p)
		}
	}
	if !st.OK() {
		return notReady{"the user migration trigger is not in place"}
	}
	return nil
}

func (a *App) printDeployPlan(o deploy.Options, p deploy.Plan) {
	either := func(exists bool, yes, no string) string {
		if exists {
			return yes
		}
		return no
	}
	tags := fmt.Sprintf("%s=true, %s=%s, %s=%s", deploy.TagManaged, deploy.TagOldPool, o.OldPool, deploy.TagNewPool, o.TargetPool)
	fmt.Fprintf(a.Stdout, `Would deploy, in AWS account %s, region %s:
  - app client %q on the old pool %s (%s): no secret, only ADMIN_USER_PASSWORD_AUTH (and refresh), 5-minute tokens;
  - IAM role %s (%s), trusted by Lambda only, tagged %s, with this policy:
      %s
  - log group %s (created or tagged), keeping logs %d days;
  - function %s (%s; provided.al2023, %s, timeout %d s, tagged) with OLD_USER_POOL_ID=%s;
  - a permission for cognito-idp.amazonaws.com to invoke it from %s only;
  - the new pool %s's LambdaConfig.UserMigration, every other setting read again and sent back unchanged.
`, o.Account, o.Region, deploy.ClientName, o.OldPool, either(p.ClientID != "", "reused: "+p.ClientID, "created"),
		o.Role, either(p.RoleArn != "", "reused", "created"), tags, o.RolePolicy(), o.LogGroup(), o.LogRetentionDays,
		o.Function, either(p.FunctionExists, "updated", "created"), o.Arch, deploy.FunctionTimeout, o.OldPool, o.TargetPool, o.TargetPool)
	if p.CaseFolds {
		fmt.Fprintf(a.Stdout, "The new pool ignores case in usernames, the old one does not: the trigger refuses the %d names alike but for case that the backup holds (CASE_COLLISIONS).\n", len(o.CaseCollisions))
	}
}

// triggerPackage returns the deployment package, in memory, and where it
// came from: --zip (read once), built now from --source, the release's
// own, or built now from this binary's own source into a private
// temporary folder, which is removed again.
func (a *App) triggerPackage(ctx context.Context, zipFile, source, arch string) ([]byte, string, error) {
	if zipFile != "" {
		data, err := os.ReadFile(zipFile)
		if err != nil {
			return nil, "", fmt.Errorf("read the package: %w", err)
		}
		return data, "--zip " + zipFile, nil
	}
	if zip := prebuilt.For(arch); len(zip) > 0 && source == "" {
		return zip, "the package built into this release", nil
	}
	if source != "" && !filepath.IsAbs(source) {
		wd, err := a.Getwd()
		if err != nil {
			return nil, "", err
		}
		source = filepath.Join(wd, source)
	}
	b, err := a.buildTrigger(ctx, source, "", goArch(arch))
	if b.Dir != "" {
		defer os.RemoveAll(b.Dir)
	}
	if err != nil {
		return nil, "", err
	}
	return b.Package, "built now from " + b.Source, nil
}

// runTriggerOverride writes the new auth resource's override that keeps
// the trigger on its pool through every push.
func (a *App) runTriggerOverride(g *globals, f *triggerFlags) error {
	// The ARN goes into override.ts (Gen 1) or backend.ts (Gen 2), which
	// `amplify build` or the deploy compiles and runs: only a well-formed
	// Lambda ARN may.
	if f.arn != "" {
		if _, err := deploy.ParseFunctionARN(f.arn); err != nil {
			return usagef("--function-arn: %v", err)
		}
	}
	if root, ok := a.gen2Root(g); ok {
		return a.runTriggerOverrideGen2(root, f.arn, f.dry, f.undo)
	}
	p, root, state, err := a.projectState(g)
	if err != nil {
		return err
	}
	if f.undo {
		return a.undo(root, state, "trigger-override")
	}
	if f.arn == "" {
		return usagef("trigger override needs --function-arn ARN (trigger deploy prints it)")
	}
	au, err := pickAuth(p, f.auth)
	if err != nil {
		return err
	}
	cs, err := backendpatch.WireTrigger(root, au.Name, f.arn)
	if err != nil {
		return err
	}
	already := "amplify/backend/auth/" + au.Name + "/override.ts already sets the user migration trigger."
	if written, err := a.writeChangeSet(cs, state, "trigger-override", f.dry, already); !written {
		return err
	}
	fmt.Fprintf(a.Stdout, "Wrote an override that keeps %s as the user migration trigger of auth %s:\n  %s\nNext: `amplify build`, then `amplify push`.\n", f.arn, au.Name, joinLines(cs.Paths()))
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// caseCollisions reads the old pool's backup for usernames that are one
// name when case is ignored, each group sorted; it refuses a backup of
// another pool.
func caseCollisions(backup, oldPool string) ([][]string, error) {
	byFold := map[string][]string{}
	hdr, _, err := cognito.ReadBackupFile(backup, cognito.BackupVisitor{User: func(u cognito.User) error {
		k := strings.ToLower(u.Username)
		byFold[k] = append(byFold[k], u.Username)
		return nil
	}})
	if err != nil {
		return nil, fmt.Errorf("read the backup %s: %w", backup, err)
	}
	if hdr.PoolID != oldPool {
		return nil, fmt.Errorf("the backup %s is of pool %s, not of the old pool %s", backup, hdr.PoolID, oldPool)
	}
	var out [][]string
	for _, names := range byFold {
		if len(names) > 1 {
			sort.Strings(names)
			out = append(out, names)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out, nil
}
