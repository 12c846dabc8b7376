package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
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
	apiID          string
	fields         fieldList
	segments       int
	worker         string
	share          dynamo.Share
	journalDir     string
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
	fs.StringVar(&f.apiID, "api-id", "", "Gen 2: the data's AppSync API id, when nothing else names it (env POOLMIGRATE_API_ID)")
	fs.StringVar(&f.journalDir, "journal-dir", "", "folder of the remap journals (default .poolmigrate/remap): workers on several machines name one shared volume, where verify and rollback read every worker's journal")
}

func remapCommand(a *App) command {
	return command{
		name:    "remap",
		summary: "rewrite every owner field in DynamoDB from old to new users (journaled, resumable, conditional writes)",
		usage:   "remap --backup FILE --target-pool ID [--field Type.field:claim ...] [--segments N [--worker K/M]] [--dry-run] [--yes]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &remapFlags{}
			f.register(fs)
			fs.IntVar(&f.workers, "workers", 32, "write calls in flight, shared by the tables (a call is a batch of updates or one move)")
			fs.IntVar(&f.batch, "batch", dynamo.BatchSize, "in-place updates per BatchExecuteStatement call, 1 to 25 (1: one UpdateItem per item)")
			fs.Float64Var(&f.wps, "wps", 0, "items written per second, all tables together (0: as fast as the tables take them); with workers on several machines, each its share of what the tables should take")
			fs.BoolVar(&f.dryRun, "dry-run", false, "scan everything and show what would change; write nothing")
			fs.StringVar(&f.worker, "worker", "", "be worker K of M (K from 0) of a remap split across processes or machines: take scan segments K, K+M, K+2M, … of --segments N (the same N on every worker, at least M), with a journal of this worker's own; auto/M takes K from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job)")
			return func(ctx context.Context, args []string) error {
				if err := f.validate(args, a.Getenv); err != nil {
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
				if err := f.validate(args, a.Getenv); err != nil {
					return err
				}
				return a.runVerify(ctx, g, f)
			}
		},
	}
}

func (f *remapFlags) validate(args []string, getenv func(string) string) error {
	if len(args) > 0 {
		return usagef("unexpected arguments %q", strings.Join(args, " "))
	}
	if f.backup == "" || f.target == "" {
		return usagef("needs --backup FILE and --target-pool ID")
	}
	if err := amplifyproj.CheckPoolID("--target-pool", f.target); err != nil {
		return usagef("%v", err) // it names the remap journal
	}
	if f.segments < 1 || f.segments > 1000 {
		return usagef("--segments must be between 1 and 1000")
	}
	if f.worker != "" {
		sh, err := parseWorker(f.worker, getenv)
		if err != nil {
			return usagef("%v", err)
		}
		if sh.Of > f.segments {
			return usagef("--worker %s: %d workers need --segments of at least %d (every worker takes its own segments; say --segments %d on every worker)", f.worker, sh.Of, sh.Of, 4*sh.Of)
		}
		f.share = sh
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
	// claims are the new pool's users whose old identity was refused.
	claims   migration.ClaimReport
	clients  *awsClients
	stateDir string
	// journalDir holds the remap's journals (--journal-dir).
	journalDir string
	region     string
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
	pl, root, err := a.loadPlan(g, planOptions{apiID: f.apiID})
	if err != nil {
		return nil, err
	}
	stateDir, err := statedir.Ensure(root)
	if err != nil {
		return nil, err
	}
	journalDir, err := remapJournalDir(f.journalDir, stateDir)
	if err != nil {
		return nil, usagef("%v", err)
	}
	c, err := a.newAWSClients(ctx, pl.Region, pl.Profile)
	if err != nil {
		return nil, err
	}
	if f.live {
		if err := a.addLive(ctx, pl, c); err != nil {
			return nil, err
		}
	}
	targets, err := pl.RemapTargets(extra)
	if err != nil {
		return nil, err
	}
	// The identity map's records go to files in the state folder, mapped
	// into memory: the heap stays small however large the pool.
	spill := filepath.Join(stateDir, "tmp")
	migrated, claims, err := migration.ListClaims(ctx, c.cognito, f.target, f.backup, rate.NewLimiter(10, 1), spill)
	if err != nil {
		return nil, explainAWS(err)
	}
	a.printRefusedClaims(claims)
	m, err := migration.BuildSubMap(f.backup, migrated, spill)
	if err != nil {
		migrated.Close()
		return nil, err
	}
	return &remapSetup{targets: targets, subMap: m, migrated: migrated, claims: claims, clients: c, stateDir: stateDir, journalDir: journalDir, region: c.cfg.Region,
		close: func() { m.Close(); migrated.Close() }}, nil
}

// journalPath is a remap's journal in the journal folder:
// <pool>.journal.jsonl, or for worker K of M
// <pool>.worker-K-of-M.journal.jsonl.
func journalPath(journalDir, pool string, share dynamo.Share) string {
	name := pool + ".journal.jsonl"
	if !share.Whole() {
		name = fmt.Sprintf("%s.worker-%d-of-%d.journal.jsonl", pool, share.Worker, share.Of)
	}
	return filepath.Join(journalDir, name)
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
	sum.RefusedClaims = s.claims.Refused
	if g.json {
		if err := writeJSON(a.Stdout, sum); err != nil {
			return err
		}
	} else {
		printRemap(a, sum)
	}
	if err := remapOutcome(sum); err != nil {
		return err
	}
	return claimsOutcome(s.claims)
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
	o := dynamo.RemapOptions{Segments: f.segments, Share: f.share, Workers: f.workers, DryRun: f.dryRun, Examples: 3, Batch: f.batch}
	if f.wps > 0 {
		o.Limiter = rate.NewLimiter(rate.Limit(f.wps), 1)
	}
	if !f.dryRun {
		if !confirmed {
			share := ""
			if !f.share.Whole() {
				share = fmt.Sprintf(" (worker %s: segments %v of %d)", f.share, f.share.Segments(f.segments), f.segments)
			}
			if err := a.confirm(g, fmt.Sprintf("Remap owner fields in AWS account %s, region %s, from the users of %s to pool %s (%d users mapped, %d not in the new pool), in tables%s:\n  %s",
				s.clients.account(ctx), s.region, f.backup, f.target, s.subMap.Mapped, len(s.subMap.Unmatched), share, strings.Join(tables, "\n  "))); err != nil {
				return migration.RemapSummary{}, err
			}
		}
		// One writer a journal: a second run of the same worker is
		// refused, and so are verify and rollback, while this one runs.
		if err := os.MkdirAll(s.journalDir, 0o700); err != nil {
			return migration.RemapSummary{}, fmt.Errorf("create journal folder: %w", err)
		}
		path := journalPath(s.journalDir, f.target, f.share)
		lock, err := statedir.LockFile(path, remapCommandLine(f))
		if err != nil {
			return migration.RemapSummary{}, err
		}
		defer lock.Unlock()
		j, err := dynamo.OpenJournal(path)
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
	total = total * int64(len(f.share.Segments(f.segments))) / int64(f.segments) // a worker's share
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
	printFallbacks(w, s.Tables)
	if len(s.Unmatched) > 0 {
		fmt.Fprintf(w, "%d users of the backup are not in the new pool; their items keep the old values: %s\n", len(s.Unmatched), sampleNames(s.Unmatched, 8))
	}
	switch {
	case s.Journal != "" && s.Worker != "":
		fmt.Fprintf(w, "Worker %s of %d segments. Journal: %s (`poolmigrate rollback --worker %s` undoes this worker's writes; `poolmigrate rollback` every worker's journal in this folder).\n", s.Worker, s.Segments, s.Journal, s.Worker)
	case s.Journal != "":
		fmt.Fprintf(w, "Journal: %s (`poolmigrate rollback` undoes the writes).\n", s.Journal)
	}
}

// printFallbacks says once, per reason, which tables' updates were written
// one UpdateItem each because the engine refused their batches.
func printFallbacks(w io.Writer, tables []dynamo.TableResult) {
	type group struct {
		tables  []string
		items   int64
		stopped []string
	}
	byReason := map[string]*group{}
	var reasons []string
	for _, t := range tables {
		fb := t.Fallback
		if fb == nil {
			continue
		}
		g := byReason[fb.Reason]
		if g == nil {
			g = &group{}
			byReason[fb.Reason] = g
			reasons = append(reasons, fb.Reason)
		}
		g.tables, g.items = append(g.tables, t.Table), g.items+fb.Items
		if fb.BatchingStopped {
			g.stopped = append(g.stopped, t.Table)
		}
	}
	for _, r := range reasons {
		g := byReason[r]
		fmt.Fprintf(w, "Fell back to one UpdateItem per item for %d updates in %s: %s.", g.items, strings.Join(g.tables, ", "), r)
		if len(g.stopped) > 0 {
			fmt.Fprintf(w, " Batches stopped after %d refused calls in a row in %s; elsewhere they went on where they worked.\n", dynamo.RefusedInARow, strings.Join(g.stopped, ", "))
		} else {
			fmt.Fprintln(w, " Batches went on where they worked.")
		}
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
	// A remap still writing would make the verdict meaningless; a
	// progress report (which never fails) reads alongside it.
	if !f.progress {
		locks, err := lockJournals(s.journalDir, f.target, "verify")
		if err != nil {
			return x, migration.VerifyReport{}, err
		}
		defer locks.Unlock()
	}
	rep, err := migration.Verify(ctx, s.clients.dynamo, s.clients.cognito, f.target, s.targets, s.subMap, x, s.migrated, cognito.DefaultLimits(), f.strict)
	if err != nil {
		return x, rep, explainAWS(err)
	}
	// A refused claim is a user of the new pool whom nobody can place:
	// the migration is not proven complete while one is there.
	rep.RefusedClaims = s.claims.Refused
	if s.claims.RefusedCount > 0 {
		rep.OK = false
	}
	// Every journal found of a remap to this pool (each worker's, when
	// workers split it: on a shared --journal-dir, or copied here).
	if rep.Journals, rep.JournalNotes, err = migration.JournalStates(poolJournals(s.journalDir, f.target)); err != nil {
		return x, rep, err
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
	for _, j := range r.Journals {
		who := "remap"
		if j.Worker != "" {
			who = fmt.Sprintf("worker %s of %d segments", j.Worker, j.Segments)
		}
		state := "finished"
		if !j.Finished {
			state = "not finished"
		}
		fmt.Fprintf(w, "journal %s: %s, last run %s (%d changed, %d failed, %d changed meanwhile)\n", j.Path, who, state, j.Changed, j.Failed, j.Conflicts)
	}
	for _, n := range r.JournalNotes {
		fmt.Fprintf(w, "  ! %s\n", n)
	}
	if len(r.RefusedClaims) > 0 {
		fmt.Fprintf(w, "%d users of the new pool claim an old identity that the backup does not confirm (listed on stderr); nothing is granted for them\n", len(r.RefusedClaims))
	}
	if r.OK {
		fmt.Fprintln(w, "OK: the migration is complete.")
	} else {
		fmt.Fprintln(w, "NOT OK: see above.")
	}
}

// printRefusedClaims names, on stderr, each user of the new pool whose
// claim to an old identity was refused, with what it claimed and why.
func (a *App) printRefusedClaims(r migration.ClaimReport) {
	if r.RefusedCount == 0 {
		return
	}
	fmt.Fprintf(a.Stderr, "Refused %d claim(s) to an old identity: nothing is granted for them (no group, no item, not counted as migrated):\n", r.RefusedCount)
	for _, c := range r.Refused {
		fmt.Fprintf(a.Stderr, "  %s %s (sub %s) claims old user %q (sub %s): %s\n", c.Code, c.Username, c.Sub, c.ClaimedUsername, c.ClaimedSub, c.Reason)
	}
	if n := r.RefusedCount - len(r.Refused); n > 0 {
		fmt.Fprintf(a.Stderr, "  … and %d more\n", n)
	}
	fmt.Fprintln(a.Stderr, "  Check each user: delete a user who is not the old user, or fix the new user's verified e-mail/phone, then run again (see SECURITY.md, \"Old identities\").")
}

// claimsRefused makes sync and remap exit 1 while a claim is refused.
type claimsRefused struct{ n int }

func (e claimsRefused) Error() string {
	return fmt.Sprintf("%d claim(s) to an old identity refused (listed above, code in --json refusedClaims): nothing was granted for them; everyone else was done", e.n)
}
func (e claimsRefused) ExitCode() int { return 1 }

func claimsOutcome(r migration.ClaimReport) error {
	if r.RefusedCount > 0 {
		return claimsRefused{r.RefusedCount}
	}
	return nil
}
