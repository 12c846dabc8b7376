package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/migration"
)

type importFlags struct {
	backup, target, csv, method, role string
	dryRun, createRole                bool
	roleName                          string
	roleWait                          time.Duration
	rateScale                         float64
	poll                              time.Duration
}

func importCommand(a *App) command {
	return command{
		name:    "import",
		summary: "import the exported users into the new pool, then restore groups, memberships and disabled users",
		usage:   "import --backup FILE --target-pool ID [--csv DIR --role-arn ARN | --method admin] [--dry-run] [--yes]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &importFlags{}
			fs.StringVar(&f.backup, "backup", "", "backup file written by poolmigrate backup")
			fs.StringVar(&f.target, "target-pool", "", "the new user pool's id")
			fs.StringVar(&f.csv, "csv", "", "the folder poolmigrate export wrote (default: the newest export for the target pool)")
			fs.StringVar(&f.method, "method", migration.MethodJob, "job (CSV import job; users reset their password) or admin (AdminCreateUser; users use forgot-password)")
			fs.StringVar(&f.role, "role-arn", "", "IAM role the import job writes CloudWatch Logs with (job method)")
			fs.BoolVar(&f.createRole, "create-role", false, "create the documented IAM role for the job's CloudWatch Logs (when it does not exist), instead of --role-arn")
			fs.StringVar(&f.roleName, "role-name", "poolmigrate-cognito-import-logs", "name of the role --create-role creates or reuses")
			fs.DurationVar(&f.roleWait, "role-wait", 10*time.Second, "after --create-role made a role, wait this long for IAM to let Cognito use it")
			fs.BoolVar(&f.dryRun, "dry-run", false, "show what would be created, write nothing")
			fs.Float64Var(&f.rateScale, "rate-scale", 1, "multiply the default request rates (below 1 leaves more of the account's quotas to the app)")
			fs.DurationVar(&f.poll, "poll", 5*time.Second, "how often to ask an import job for its progress")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("import takes no arguments (got %q)", strings.Join(args, " "))
				}
				if f.backup == "" || f.target == "" {
					return usagef("import needs --backup FILE and --target-pool ID")
				}
				if f.method != migration.MethodJob && f.method != migration.MethodAdmin {
					return usagef("--method must be job or admin")
				}
				if f.method == migration.MethodJob && f.role == "" && !f.createRole && !f.dryRun {
					return usagef("the import job needs --role-arn ARN (an IAM role that cognito-idp.amazonaws.com may assume to write CloudWatch Logs, see docs/steps.md) or --create-role; or use --method admin")
				}
				if f.createRole && f.role != "" {
					return usagef("pass --role-arn or --create-role, not both")
				}
				if f.rateScale <= 0 {
					return usagef("--rate-scale must be above 0")
				}
				return a.runImport(ctx, g, f)
			}
		},
	}
}

func scaled(l cognito.Limits, k float64) cognito.Limits {
	s := func(r *rate.Limiter) *rate.Limiter { return rate.NewLimiter(r.Limit()*rate.Limit(k), 1) }
	return cognito.Limits{UserList: s(l.UserList), UserCreation: s(l.UserCreation), UserUpdate: s(l.UserUpdate), Membership: s(l.Membership), GroupWrite: s(l.GroupWrite)}
}

func (a *App) runImport(ctx context.Context, g *globals, f *importFlags) error {
	t, err := a.resolvePool(g, f.target)
	if err != nil {
		return err
	}
	if f.csv == "" {
		if f.csv, err = latestExport(filepath.Join(t.stateDir, "export"), f.target); err != nil {
			return err
		}
	}
	c, err := a.newAWSClients(ctx, t.region, t.profile)
	if err != nil {
		return err
	}
	pr := a.newProgress("import", "users", 0)
	phase := "import"
	var prepareRole func(context.Context) (string, error)
	if f.createRole {
		prepareRole = func(ctx context.Context) (string, error) {
			account, err := c.accountID(ctx)
			if err != nil {
				return "", err
			}
			arn, created, err := cognito.EnsureImportRole(ctx, c.iam(), f.roleName, c.cfg.Region, account)
			if err != nil {
				return "", explainAWS(err)
			}
			if created {
				pr.say("Created IAM role %s; waiting %s for IAM to let Cognito use it.", arn, f.roleWait)
				select {
				case <-time.After(f.roleWait):
				case <-ctx.Done():
					return "", ctx.Err()
				}
			}
			return arn, nil
		}
	}
	sum, err := migration.ImportUsers(ctx, c.cognito, migration.ImportOptions{
		PrepareRole: prepareRole,
		Backup:      f.backup, CSVDir: f.csv, TargetPool: f.target, Method: f.method, RoleARN: f.role, DryRun: f.dryRun,
		Limits: scaled(cognito.DefaultLimits(), f.rateScale), Poll: f.poll, Logs: c.logs(),
		Confirm: func(p migration.ImportPreview) error {
			role := ""
			if f.createRole && f.method == migration.MethodJob {
				role = fmt.Sprintf("\n  IAM role %s for the job's CloudWatch Logs will be created if it does not exist.", f.roleName)
			}
			return a.confirm(g, fmt.Sprintf("Import into AWS account %s, region %s, user pool %s (%s), by %s:\n  %d users (%d already there), groups to create: %s, %d memberships, %d disabled users.%s%s",
				c.account(ctx), c.cfg.Region, p.Pool.ID, p.Pool.Name, f.method, p.Rows, p.AlreadyThere, listOrNone(p.GroupsToCreate), p.Memberships, p.Disabled, role, federatedPreview(p)))
		},
		Notify: func(format string, args ...any) { pr.say(format, args...) },
		Progress: func(p migration.ImportProgress) {
			if p.Phase != phase {
				phase = p.Phase
				unit := "users"
				if p.Total == 0 && p.Done == 0 {
					unit = ""
				}
				pr.phase(p.Phase, unit, p.Total)
			}
			pr.set(p.Done, p.Total, p.Detail)
		},
	})
	pr.done("")
	var partial *migration.PartialError
	if err != nil && !errors.As(err, &partial) {
		return explainAWS(err)
	}
	if g.json {
		if jerr := writeJSON(a.Stdout, sum); jerr != nil {
			return jerr
		}
		return err
	}
	printImport(a, sum, f)
	return err
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func printImport(a *App, s migration.ImportSummary, f *importFlags) {
	w := a.Stdout
	if s.DryRun {
		p := s.Preview
		fmt.Fprintf(w, "Dry run: nothing was written. Import into pool %s (%s) by %s would:\n", p.Pool.ID, p.Pool.Name, f.method)
		fmt.Fprintf(w, "  import %d users (%d of the export's %d are already there)\n", p.Rows-p.AlreadyThere, p.AlreadyThere, p.Rows)
		if len(p.MissingPrevAttrs) > 0 {
			fmt.Fprintf(w, "  add the custom attributes %s\n", strings.Join(p.MissingPrevAttrs, ", "))
		}
		fmt.Fprintf(w, "  create groups: %s\n  restore %d memberships (%d there already) and disable %d users\n", listOrNone(p.GroupsToCreate), p.Memberships, p.MembershipsThere, p.Disabled)
		if fp := federatedPreview(p); fp != "" {
			fmt.Fprintln(w, strings.TrimPrefix(fp, "\n"))
		}
		return
	}
	fmt.Fprintf(w, "Imported %d users, skipped %d already there, %d failed.\n", s.Imported, s.Skipped, s.Failed)
	if s.FederatedCreated+s.FederatedAdopted+s.IdentitiesLinked > 0 {
		fmt.Fprintf(w, "Federated users: %d created and linked to their provider identity, %d who had signed in to the new pool already given their old identity; %d logins linked in all.\n", s.FederatedCreated, s.FederatedAdopted, s.IdentitiesLinked)
	}
	fmt.Fprintf(w, "Groups created: %d; memberships added: %d; users disabled: %d.\n", s.GroupsCreated, s.MembershipsAdded, s.UsersDisabled)
	if s.MembershipsSkipped > 0 || s.DisabledSkipped > 0 {
		fmt.Fprintf(w, "Not restored because the user is not in the new pool (rejected by export or failed): %d memberships, %d disabled states.\n", s.MembershipsSkipped, s.DisabledSkipped)
	}
	for _, u := range s.FailedUsers {
		fmt.Fprintf(w, "  failed: %s (old sub %s): %s\n", u.Username, u.Sub, u.Reason)
	}
	for _, u := range s.LoginsNotLinked {
		fmt.Fprintf(w, "  login not linked: %s (old sub %s): %s\n", u.Username, u.Sub, u.Reason)
	}
	if f.method == migration.MethodAdmin {
		fmt.Fprintln(w, "The users are CONFIRMED with a random password nobody knows: each signs in through your app's \"Forgot password\" flow (a code to the verified email or phone).")
	} else {
		fmt.Fprintln(w, "The users are RESET_REQUIRED: at sign-in Cognito answers PasswordResetRequiredException and your app's forgot-password flow lets them choose a password.")
	}
}

// federatedPreview is the preview's line on the users with provider
// identities, "" when there are none.
func federatedPreview(p migration.ImportPreview) string {
	if p.Federated == 0 {
		return ""
	}
	names := make([]string, 0, len(p.Providers))
	for n, c := range p.Providers {
		names = append(names, fmt.Sprintf("%s %d", n, c))
	}
	sort.Strings(names)
	out := fmt.Sprintf("\n  %d users with provider identities (%s): the federated ones are created and each login linked to its user.", p.Federated, strings.Join(names, ", "))
	if len(p.MissingProviders) > 0 {
		out += fmt.Sprintf(" The pool lacks %s: their users will fail.", strings.Join(p.MissingProviders, ", "))
	}
	return out
}

// confirm shows what is about to be written and asks, unless --yes.
func (a *App) confirm(g *globals, what string) error {
	fmt.Fprintln(a.Stderr, what)
	if g.yes {
		return nil
	}
	fmt.Fprint(a.Stderr, "Proceed? [y/N] ")
	line, _ := bufio.NewReader(a.Stdin).ReadString('\n')
	if ans := strings.ToLower(strings.TrimSpace(line)); ans == "y" || ans == "yes" {
		return nil
	}
	fmt.Fprintln(a.Stderr)
	return fmt.Errorf("%w: nothing was written (answer y, or pass --yes to run without asking)", migration.ErrNotConfirmed)
}

// latestExport finds the newest export folder for the pool.
func latestExport(dir, pool string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(dir, pool+"-*"))
	var dirs []string
	for _, m := range matches {
		if fi, err := os.Stat(filepath.Join(m, cognito.ManifestName)); err == nil && !fi.IsDir() {
			dirs = append(dirs, m)
		}
	}
	sort.Strings(dirs)
	if len(dirs) == 0 {
		return "", fmt.Errorf("no export for pool %s in %s: run `poolmigrate export` first, or pass --csv DIR", pool, dir)
	}
	return dirs[len(dirs)-1], nil
}
