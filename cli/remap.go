package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// fieldList collects repeated --field flags.
type fieldList []string

func (f *fieldList) String() string     { return strings.Join(*f, ",") }
func (f *fieldList) Set(s string) error { *f = append(*f, s); return nil }

// Type is the argument's name in help (pflag.Value).
func (f *fieldList) Type() string { return "Type.field:claim" }

type remapFlags struct {
	backup, target string
	fields         fieldList
	segments       int
	workers        int
	batch          int
	progress       bool
	wps            float64
	dryRun, live   bool
	strict         bool
}

func (f *remapFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.backup, "backup", "", "backup file of the old pool")
	fs.StringVar(&f.target, "target-pool", "", "the new user pool's id")
	fs.Var(&f.fields, "field", "an identity field outside @auth, Type.field:claim (claim sub, username or sub::username); repeatable")
	fs.IntVar(&f.segments, "segments", 4, "parallel scan segments per table")
	fs.BoolVar(&f.live, "live", false, "find tables from AWS when amplify-meta.json is missing")
}

func remapCommand(a *App) command {
	return command{
		name:    "remap",
		summary: "rewrite every owner field in DynamoDB from old to new users (journaled, resumable, conditional writes)",
		usage:   "remap --backup FILE --target-pool ID [--field Type.field:claim ...] [--segments N] [--dry-run] [--yes]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &remapFlags{}
			f.register(fs)
			fs.IntVar(&f.workers, "workers", 32, "write calls in flight, shared by the tables (a call is a batch of updates or one move)")
			fs.IntVar(&f.batch, "batch", dynamo.BatchSize, "in-place updates per BatchExecuteStatement call, 1 to 25 (1: one UpdateItem per item)")
			fs.Float64Var(&f.wps, "wps", 0, "writes per second per table (0: as fast as the table takes them)")
			fs.BoolVar(&f.dryRun, "dry-run", false, "scan everything and show what would change; write nothing")
			return func(ctx context.Context, args []string) error {
				if err := f.validate(args); err != nil {
					return err
				}
				return a.runRemap(ctx, g, f)
			}
		},
	}
}

func verifyCommand(a *App) command {
	return command{
		name:    "verify",
		summary: "prove the migration complete: no item names a migrated user by the old identity; groups, memberships, disabled users match",
		usage:   "verify --backup FILE --target-pool ID [--field Type.field:claim ...] [--strict]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &remapFlags{}
			f.register(fs)
			fs.BoolVar(&f.strict, "strict", false, "also fail on items of backup users who are not in the new pool")
			fs.BoolVar(&f.progress, "progress", false, "during a migration window: how many users have migrated, how many items still name old users (never fails)")
			return func(ctx context.Context, args []string) error {
				if err := f.validate(args); err != nil {
					return err
				}
				return a.runVerify(ctx, g, f)
			}
		},
	}
}

func (f *remapFlags) validate(args []string) error {
	if len(args) > 0 {
		return usagef("unexpected arguments %q", strings.Join(args, " "))
	}
	if f.backup == "" || f.target == "" {
		return usagef("needs --backup FILE and --target-pool ID")
	}
	if f.segments < 1 || f.segments > 1000 {
		return usagef("--segments must be between 1 and 1000")
	}
	return nil
}

// remapSetup is what remap and verify share: the tables, the identity map,
// the clients.
type remapSetup struct {
	// close frees the identity map's files.
	close    func()
	targets  []migration.RemapTarget
	subMap   *migration.SubMap
	migrated *cognito.MigratedUsers
	clients  *awsClients
	stateDir string
	region   string
}

func (a *App) prepareRemap(ctx context.Context, g *globals, f *remapFlags) (*remapSetup, error) {
	var extra []migration.ExtraField
	for _, s := range f.fields {
		e, err := migration.ParseExtraField(s)
		if err != nil {
			return nil, usagef("%v", err)
		}
		extra = append(extra, e)
	}
	p, root, err := a.loadProject(g)
	if err != nil {
		return nil, err
	}
	stateDir, err := statedir.Ensure(root)
	if err != nil {
		return nil, err
	}
	pl, err := migration.BuildPlan(os.DirFS(root), p)
	if err != nil {
		return nil, err
	}
	c, err := a.newAWSClients(ctx, pl.Region, pl.Profile)
	if err != nil {
		return nil, err
	}
	if f.live {
		if err := pl.AddLive(ctx, migration.LiveClients{Cognito: c.cognito, Dynamo: c.dynamo}); err != nil {
			return nil, explainAWS(err)
		}
	}
	targets, err := pl.RemapTargets(extra)
	if err != nil {
		return nil, err
	}
	// The identity map's records go to files in the state folder, mapped
	// into memory: the heap stays small however large the pool.
	spill := filepath.Join(stateDir, "tmp")
	migrated, err := cognito.ListMigrated(ctx, c.cognito, f.target, rate.NewLimiter(10, 1), spill)
	if err != nil {
		return nil, explainAWS(err)
	}
	m, err := migration.BuildSubMap(f.backup, migrated, spill)
	if err != nil {
		migrated.Close()
		return nil, err
	}
	return &remapSetup{targets: targets, subMap: m, migrated: migrated, clients: c, stateDir: stateDir, region: c.cfg.Region,
		close: func() { m.Close(); migrated.Close() }}, nil
}

func journalPath(stateDir, pool string) string {
	return filepath.Join(stateDir, "remap", pool+".journal.jsonl")
}

// remapIncomplete makes a remap with failed or conflicting items exit 1.
type remapIncomplete struct{ failed, conflicts int64 }

func (e remapIncomplete) Error() string {
	return fmt.Sprintf("%d item(s) failed and %d changed while the remap ran (left alone): run remap again to finish them", e.failed, e.conflicts)
}
func (e remapIncomplete) ExitCode() int { return 1 }

func (a *App) runRemap(ctx context.Context, g *globals, f *remapFlags) error {
	s, err := a.prepareRemap(ctx, g, f)
	if err != nil {
		return err
	}
	defer s.close()
	sum, err := a.remapWith(ctx, g, f, s, false)
	if err != nil {
		return err
	}
	if g.json {
		if err := writeJSON(a.Stdout, sum); err != nil {
			return err
		}
	} else {
		printRemap(a, sum)
	}
	return remapOutcome(sum)
}

// remapOutcome makes a remap with failed or conflicting items exit 1.
func remapOutcome(sum migration.RemapSummary) error {
	var failed, conflicts int64
	for _, t := range sum.Tables {
		failed += t.Failed
		conflicts += t.Conflicts
	}
	if failed+conflicts > 0 {
		return remapIncomplete{failed, conflicts}
	}
	return nil
}

// remapWith remaps the prepared tables, asking first unless the caller
// did (confirmed).
func (a *App) remapWith(ctx context.Context, g *globals, f *remapFlags, s *remapSetup, confirmed bool) (migration.RemapSummary, error) {
	var tables []string
	for _, t := range s.targets {
		tables = append(tables, t.Spec.Table)
	}
	if len(tables) == 0 {
		return migration.RemapSummary{}, fmt.Errorf("no table holds an owner field to remap (see `poolmigrate plan`); name other identity fields with --field Type.field:claim")
	}
	if f.batch < 1 || f.batch > dynamo.BatchSize {
		return migration.RemapSummary{}, usagef("--batch must be between 1 and %d", dynamo.BatchSize)
	}
	o := dynamo.RemapOptions{Segments: f.segments, Workers: f.workers, DryRun: f.dryRun, Examples: 3, Batch: f.batch}
	if f.wps > 0 {
		o.Limiter = rate.NewLimiter(rate.Limit(f.wps), 1)
	}
	if !f.dryRun {
		if !confirmed {
			if err := a.confirm(g, fmt.Sprintf("Remap owner fields in AWS account %s, region %s, from the users of %s to pool %s (%d users mapped, %d not in the new pool), in tables:\n  %s",
				s.clients.account(ctx), s.region, f.backup, f.target, s.subMap.Mapped, len(s.subMap.Unmatched), strings.Join(tables, "\n  "))); err != nil {
				return migration.RemapSummary{}, err
			}
		}
		j, err := dynamo.OpenJournal(journalPath(s.stateDir, f.target))
		if err != nil {
			return migration.RemapSummary{}, err
		}
		defer j.Close()
		o.Journal = j
	}
	// The total is the tables' item counts (DescribeTable; AWS updates
	// them every few hours, so they are estimates).
	var total int64
	for _, t := range s.targets {
		if d, err := dynamo.DescribeTable(ctx, s.clients.dynamo, t.Spec.Table); err == nil {
			total += d.ItemCount
		}
	}
	step := "remap"
	if f.dryRun {
		step = "remap (dry run)"
	}
	pr := a.newProgress(step, "items", total)
	var pmu sync.Mutex
	scanned, changed := map[string]int64{}, map[string]int64{}
	o.Progress = func(p dynamo.TableProgress) {
		pmu.Lock()
		scanned[p.Table], changed[p.Table] = p.Scanned, p.Changed
		var n, c int64
		for t, v := range scanned {
			n, c = n+v, c+changed[t]
		}
		pmu.Unlock()
		pr.set(n, 0, thousands(c)+" changed")
	}
	sum, err := migration.Remap(ctx, s.clients.dynamo, s.targets, s.subMap, o)
	pr.done("")
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return sum, fmt.Errorf("remap interrupted; every write made is in the journal %s: run remap again to finish (done items are recognised), or rollback to undo: %w", sum.Journal, err)
		}
		return sum, explainAWS(err)
	}
	return sum, nil
}

func printRemap(a *App, s migration.RemapSummary) {
	w := a.Stdout
	if s.DryRun {
		fmt.Fprintln(w, "Dry run: nothing was written.")
	}
	fmt.Fprintf(w, "%-40s %10s %10s %10s %10s %8s %9s\n", "table", "scanned", "changed", "already", "unmapped", "failed", "conflicts")
	for _, t := range s.Tables {
		fmt.Fprintf(w, "%-40s %10d %10d %10d %10d %8d %9d\n", t.Table, t.Scanned, t.Changed, t.AlreadyNew, t.Unmapped, t.Failed, t.Conflicts)
		for _, e := range t.Examples {
			fmt.Fprintf(w, "    %s  %s: %s → %s\n", e.Key, e.Attr, e.Old, e.New)
		}
		for _, p := range t.Problems {
			fmt.Fprintf(w, "    ! %s\n", p)
		}
	}
	if len(s.Unmatched) > 0 {
		fmt.Fprintf(w, "%d users of the backup are not in the new pool; their items keep the old values: %s\n", len(s.Unmatched), sampleNames(s.Unmatched, 8))
	}
	if s.Journal != "" {
		fmt.Fprintf(w, "Journal: %s (`poolmigrate rollback` undoes the writes).\n", s.Journal)
	}
}

// verifyFailed makes a failed verify exit 1.
type verifyFailed struct{}

func (verifyFailed) Error() string { return "verify failed: see the report" }
func (verifyFailed) ExitCode() int { return 1 }

// verifyWith runs verify on a prepared remap setup.
func (a *App) verifyWith(ctx context.Context, f *remapFlags, s *remapSetup) (cognito.BackupExtras, migration.VerifyReport, error) {
	x, err := cognito.ReadBackupExtras(f.backup)
	if err != nil {
		return x, migration.VerifyReport{}, err
	}
	rep, err := migration.Verify(ctx, s.clients.dynamo, s.clients.cognito, f.target, s.targets, s.subMap, x, s.migrated, cognito.DefaultLimits(), f.strict)
	if err != nil {
		return x, rep, explainAWS(err)
	}
	return x, rep, nil
}

func (a *App) runVerify(ctx context.Context, g *globals, f *remapFlags) error {
	s, err := a.prepareRemap(ctx, g, f)
	if err != nil {
		return err
	}
	defer s.close()
	x, rep, err := a.verifyWith(ctx, f, s)
	if err != nil {
		return err
	}
	if f.progress {
		return a.runVerifyProgress(ctx, g, f, s, x, rep)
	}
	if g.json {
		if err := writeJSON(a.Stdout, rep); err != nil {
			return err
		}
	} else {
		printVerify(a, rep)
	}
	if !rep.OK {
		return verifyFailed{}
	}
	return nil
}

func printVerify(a *App, r migration.VerifyReport) {
	w := a.Stdout
	for _, t := range r.Tables {
		fmt.Fprintf(w, "%s: %d items, %d old owner values, %d of users not in the new pool\n", t.Table, t.Scanned, len(t.OldValues), len(t.Orphaned))
		for i, v := range t.OldValues {
			if i == 10 {
				fmt.Fprintf(w, "    … and %d more\n", len(t.OldValues)-10)
				break
			}
			fmt.Fprintf(w, "    OLD  %s  %s = %s (user %s)\n", v.Key, v.Attr, v.Value, v.User)
		}
		for i, v := range t.Orphaned {
			if i == 10 {
				fmt.Fprintf(w, "    … and %d more\n", len(t.Orphaned)-10)
				break
			}
			fmt.Fprintf(w, "    not migrated  %s  %s = %s (user %s)\n", v.Key, v.Attr, v.Value, v.User)
		}
	}
	for _, s := range [][2]any{{"groups missing", r.GroupsMissing}, {"memberships missing", r.MembershipsMissing}, {"disabled state differs", r.DisabledMismatch}} {
		if list := s[1].([]string); len(list) > 0 {
			fmt.Fprintf(w, "%s: %s\n", s[0], sampleNames(list, 8))
		}
	}
	if len(r.UnmatchedUsers) > 0 {
		fmt.Fprintf(w, "%d users of the backup are not in the new pool (warning%s): %s\n", len(r.UnmatchedUsers), map[bool]string{true: ", an error with --strict", false: ""}[!r.Strict], sampleNames(r.UnmatchedUsers, 8))
	}
	if r.OK {
		fmt.Fprintln(w, "OK: the migration is complete.")
	} else {
		fmt.Fprintln(w, "NOT OK: see above.")
	}
}

func rollbackCommand(a *App) command {
	return command{
		name:    "rollback",
		summary: "undo a remap exactly, from its journal (newest write first)",
		usage:   "rollback [--journal FILE] [--yes]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			journal := fs.String("journal", "", "remap journal (default: the newest in .poolmigrate/remap)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("rollback takes no arguments")
				}
				return a.runRollback(ctx, g, *journal)
			}
		},
	}
}

func (a *App) runRollback(ctx context.Context, g *globals, journal string) error {
	var region, profile string
	p, root, err := a.loadProject(g)
	switch {
	case err == nil:
		region, profile = p.Region, p.Profile
		if journal == "" {
			if journal, err = newestJournal(filepath.Join(root, statedir.Name, "remap")); err != nil {
				return err
			}
		}
	case journal == "":
		return err
	default:
		region, profile = g.region, g.profile
	}
	var records int
	tables := map[string]bool{}
	if err := dynamo.ReadJournal(journal, func(r dynamo.JournalRecord) error { records++; tables[r.Table] = true; return nil }); err != nil {
		return fmt.Errorf("read journal %s: %w", journal, err)
	}
	c, err := a.newAWSClients(ctx, region, profile)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(tables))
	for t := range tables {
		names = append(names, t)
	}
	sort.Strings(names)
	if err := a.confirm(g, fmt.Sprintf("Roll back %d journaled writes of %s in AWS account %s, region %s, tables:\n  %s", records, journal, c.account(ctx), c.cfg.Region, strings.Join(names, "\n  "))); err != nil {
		return err
	}
	pr := a.newProgress("rollback", "writes", int64(records))
	res, err := dynamo.Rollback(ctx, c.dynamo, journal, func(done, total int) { pr.set(int64(done), int64(total), "") })
	pr.done("")
	if err != nil {
		return explainAWS(err)
	}
	if g.json {
		if err := writeJSON(a.Stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.Stdout, "Rolled back %d writes (%d journaled but never made); %d left alone because they changed since.\n", res.Reverted, res.NotApplied, len(res.Conflicts))
		for _, c := range res.Conflicts {
			fmt.Fprintf(a.Stdout, "  ! %s\n", c)
		}
	}
	if len(res.Conflicts) > 0 {
		return remapIncomplete{conflicts: int64(len(res.Conflicts))}
	}
	return nil
}

func newestJournal(dir string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.journal.jsonl"))
	if len(matches) == 0 {
		return "", fmt.Errorf("no remap journal in %s to roll back; pass --journal FILE", dir)
	}
	sort.Slice(matches, func(i, j int) bool {
		a, _ := os.Stat(matches[i])
		b, _ := os.Stat(matches[j])
		return a.ModTime().Before(b.ModTime())
	})
	return matches[len(matches)-1], nil
}
