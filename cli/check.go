package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/federated"
)

// blockedError makes check exit 1 when the import would reject users.
type blockedError struct{ n int }

func (e blockedError) Error() string {
	return fmt.Sprintf("%d blocking problem(s): export will refuse until each is decided (see each problem's fix)", e.n)
}
func (e blockedError) ExitCode() int { return 1 }

func checkCommand(a *App) command {
	return command{
		name:    "check",
		summary: "report every user the new pool's import would reject or change (exit 1 when something blocks)",
		usage:   "check --backup FILE --target-pool ID [--fix] [--username-from email|username|sub]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			backup := fs.String("backup", "", "backup file written by poolmigrate backup")
			target := fs.String("target-pool", "", "the new user pool's id")
			fix := fs.Bool("fix", false, "add custom:prev_sub_id and custom:prev_username to the target when missing (immutable)")
			from := fs.String("username-from", "", "what becomes cognito:username: email, username or sub (default: email when the target signs in by email, else the old username)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("check takes no arguments (got %q)", strings.Join(args, " "))
				}
				if *backup == "" || *target == "" {
					return usagef("check needs --backup FILE and --target-pool ID")
				}
				uf, err := parseUsernameFrom(*from)
				if err != nil {
					return err
				}
				return a.runCheck(ctx, g, *backup, *target, *fix, uf)
			}
		},
	}
}

func parseUsernameFrom(s string) (cognito.UsernameFrom, error) {
	switch cognito.UsernameFrom(s) {
	case cognito.UsernameAuto, cognito.UsernameEmail, cognito.UsernameUsername, cognito.UsernameSub:
		return cognito.UsernameFrom(s), nil
	}
	return "", usagef("--username-from must be email, username or sub")
}

// readTarget resolves the region (project or flags) and reads the target.
func (a *App) readTarget(ctx context.Context, g *globals, targetPool string) (*poolTarget, *awsClients, cognito.Target, error) {
	t, err := a.resolvePool(g, targetPool)
	if err != nil {
		return nil, nil, cognito.Target{}, err
	}
	c, err := a.newAWSClients(ctx, t.region, t.profile)
	if err != nil {
		return nil, nil, cognito.Target{}, err
	}
	tg, err := cognito.ReadTarget(ctx, c.cognito, targetPool)
	if err != nil {
		return nil, nil, cognito.Target{}, explainAWS(err)
	}
	return t, c, tg, nil
}

func (a *App) runCheck(ctx context.Context, g *globals, backup, targetPool string, fix bool, from cognito.UsernameFrom) error {
	_, c, tg, err := a.readTarget(ctx, g, targetPool)
	if err != nil {
		return err
	}
	if missing := tg.MissingPrevAttributes(); fix && len(missing) > 0 {
		fmt.Fprintf(a.Stderr, "Adding %s to pool %s (custom attributes cannot be removed from a pool afterwards).\n", strings.Join(missing, " and "), targetPool)
		if err := cognito.AddPrevAttributes(ctx, c.cognito, targetPool, missing); err != nil {
			return explainAWS(err)
		}
		if tg, err = cognito.ReadTarget(ctx, c.cognito, targetPool); err != nil {
			return explainAWS(err)
		}
	}
	if mutable := tg.MutablePrevAttributes(); fix && len(mutable) > 0 {
		fmt.Fprintf(a.Stderr, "%s: mutable in pool %s, and --fix cannot change that (custom attributes are fixed once added); see %s below.\n", strings.Join(mutable, " and "), targetPool, cognito.CodePrevAttributesMutable)
	}
	writers, err := cognito.PrevWriters(ctx, c.cognito, targetPool)
	if err != nil {
		return explainAWS(err)
	}
	an, err := cognito.Analyze(backup, tg, cognito.Policies{UsernameFrom: from})
	if err != nil {
		return err
	}
	rep := an.Report()
	providers, err := checkProviders(ctx, c, backup, an.SourcePool, targetPool)
	if err != nil {
		return err
	}
	rep.Problems = append(cognito.PrevGuardProblems(tg, writers), rep.Problems...)
	if g.json {
		if err := writeJSON(a.Stdout, checkOutput{rep, providers}); err != nil {
			return err
		}
	} else {
		printReport(a.Stdout, backup, rep)
		printProviders(a.Stdout, providers)
	}
	if rep.Blocking {
		n := 0
		for _, p := range rep.Problems {
			if p.Blocking {
				n++
			}
		}
		return blockedError{n}
	}
	return nil
}

// checkOutput is what `check --json` prints: the report, and the identity
// providers the backup's federated users sign in with.
type checkOutput struct {
	cognito.Report
	Providers []federated.ProviderCheck `json:"providers"`
}

func checkProviders(ctx context.Context, c *awsClients, backup, oldPool, newPool string) ([]federated.ProviderCheck, error) {
	users, _, err := federated.Read(backup)
	if err != nil {
		return nil, err
	}
	out, err := federated.Check(ctx, c.cognito, oldPool, newPool, users)
	return out, explainAWS(err)
}

func printProviders(w io.Writer, ps []federated.ProviderCheck) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintln(w, "\nIdentity providers (import creates the federated users and links their logins):")
	for _, p := range ps {
		fmt.Fprintf(w, "  %s: %s user(s): %s\n", p.Name, thousands(int64(p.Users)), p.Message)
		for _, d := range p.MappingDifferences {
			fmt.Fprintf(w, "      mapping %s\n", d)
		}
	}
}

func printReport(w io.Writer, backup string, r cognito.Report) {
	fmt.Fprintf(w, "Check of %s (pool %s, %s users) against pool %s:\n", backup, r.SourcePool, thousands(r.Users), r.TargetPool)
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "  nothing to report: every user can be imported as is.")
		return
	}
	for _, p := range r.Problems {
		level := "warning "
		if p.Blocking {
			level = "BLOCKING"
		}
		fmt.Fprintf(w, "\n  %s %s", level, p.Code)
		if p.Count > 0 || len(p.Users) > 0 {
			fmt.Fprintf(w, ": %s user(s): %s", thousands(int64(p.Count)), sampleNames(p.Users, 8))
		}
		fmt.Fprintf(w, "\n           %s\n           fix: %s\n", p.Message, p.Fix)
	}
	if r.Blocking {
		fmt.Fprintln(w, "\nSomething blocks: export refuses until each blocking problem is decided.")
	} else {
		fmt.Fprintln(w, "\nNothing blocks: export can run.")
	}
}

func sampleNames(users []string, n int) string {
	if len(users) <= n {
		return strings.Join(users, ", ")
	}
	return strings.Join(users[:n], ", ") + fmt.Sprintf(" … and %d more", len(users)-n)
}

func exportCommand(a *App) command {
	return command{
		name:    "export",
		summary: "write the import CSV(s) for the new pool from a backup, with line maps and a rejects file",
		usage:   "export --backup FILE --target-pool ID [--out DIR] [--on-duplicate P] [--on-unverified P] [--skip CODES] [--username-from F]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			backup := fs.String("backup", "", "backup file written by poolmigrate backup")
			target := fs.String("target-pool", "", "the new user pool's id")
			out := fs.String("out", "", "folder for the CSVs (default: .poolmigrate/export/<pool>-<time>)")
			from := fs.String("username-from", "", "what becomes cognito:username: email, username or sub")
			onDup := fs.String("on-duplicate", "fail", "users sharing a unique email/phone/username: keep-newest, keep-oldest or fail")
			onUnverified := fs.String("on-unverified", "fail", "users without the verified contact the target needs: skip, mark-verified or fail")
			skip := fs.String("skip", "", "reject the users with these problem codes, comma-separated: "+strings.Join(cognito.SkippableCodes, ", "))
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("export takes no arguments (got %q)", strings.Join(args, " "))
				}
				if *backup == "" || *target == "" {
					return usagef("export needs --backup FILE and --target-pool ID")
				}
				uf, err := parseUsernameFrom(*from)
				if err != nil {
					return err
				}
				pol := cognito.Policies{UsernameFrom: uf, OnDuplicate: *onDup, OnUnverified: *onUnverified, Skip: map[string]bool{}}
				if !oneOf(*onDup, "fail", "keep-newest", "keep-oldest") {
					return usagef("--on-duplicate must be keep-newest, keep-oldest or fail")
				}
				if !oneOf(*onUnverified, "fail", "skip", "mark-verified") {
					return usagef("--on-unverified must be skip, mark-verified or fail")
				}
				for _, c := range strings.Split(*skip, ",") {
					if c = strings.TrimSpace(strings.ToUpper(c)); c == "" {
						continue
					}
					if !oneOf(c, cognito.SkippableCodes...) {
						return usagef("--skip %s: not a code export can skip (%s)", c, strings.Join(cognito.SkippableCodes, ", "))
					}
					pol.Skip[c] = true
				}
				return a.runExport(ctx, g, *backup, *target, *out, pol)
			}
		},
	}
}

func oneOf(s string, list ...string) bool {
	for _, v := range list {
		if s == v {
			return true
		}
	}
	return false
}

func (a *App) runExport(ctx context.Context, g *globals, backup, targetPool, out string, pol cognito.Policies) error {
	t, _, tg, err := a.readTarget(ctx, g, targetPool)
	if err != nil {
		return err
	}
	an, err := cognito.Analyze(backup, tg, pol)
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(t.stateDir, "export", fmt.Sprintf("%s-%s", targetPool, time.Now().UTC().Format("20060102T150405Z")))
	}
	res, err := an.Export(backup, out)
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(a.Stdout, res)
	}
	fmt.Fprintf(a.Stdout, "Exported %s of %s users for pool %s into %d file(s):\n", thousands(res.Exported), thousands(res.Users), targetPool, len(res.Files))
	for i, f := range res.Files {
		fmt.Fprintf(a.Stdout, "  %s  (line map %s)\n", f, filepath.Base(res.LineMaps[i]))
	}
	fmt.Fprintf(a.Stdout, "%s rejected, each with its reason, in %s", thousands(res.Rejected), res.Rejects)
	if len(res.RejectedBy) > 0 {
		var parts []string
		for _, c := range cognito.SortedKeys(res.RejectedBy) {
			parts = append(parts, fmt.Sprintf("%s %d", c, res.RejectedBy[c]))
		}
		fmt.Fprintf(a.Stdout, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(a.Stdout)
	return nil
}
