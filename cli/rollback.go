package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/statedir"
)

type rollbackFlags struct {
	journal, pool, worker string
	journalDir            string
	share                 dynamo.Share
}

func rollbackCommand(a *App) command {
	return command{
		name:    "rollback",
		summary: "undo a remap exactly, from its journals (every worker's; newest write first)",
		usage:   "rollback [--journal FILE | [--journal-dir DIR] --target-pool ID [--worker K/M]] [--yes]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			r := &rollbackFlags{}
			fs.StringVar(&r.journal, "journal", "", "one remap journal to undo (default: every journal in .poolmigrate/remap of the remap to --target-pool)")
			fs.StringVar(&r.pool, "target-pool", "", "the remap to undo, by its target pool (default: the pool of the newest journal)")
			fs.StringVar(&r.worker, "worker", "", "undo only the writes of worker K/M of a split remap (its journal <pool>.worker-K-of-M.journal.jsonl); auto/M takes K from JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX")
			fs.StringVar(&r.journalDir, "journal-dir", "", "folder of the remap journals (default .poolmigrate/remap): the shared volume the workers journaled onto")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("rollback takes no arguments")
				}
				if r.journal != "" && (r.pool != "" || r.worker != "" || r.journalDir != "") {
					return usagef("--journal names one journal: leave out --target-pool, --worker and --journal-dir")
				}
				if r.worker != "" {
					sh, err := parseWorker(r.worker, a.Getenv)
					if err != nil {
						return usagef("%v", err)
					}
					r.share = sh
				}
				return a.runRollback(ctx, g, r)
			}
		},
	}
}

// rollbackSummary is what `rollback --json` prints: the totals over the
// journals undone, and each journal's own result.
type rollbackSummary struct {
	// Journal is the journal undone, or the folder of the journals.
	Journal    string                  `json:"journal"`
	Journals   []dynamo.RollbackResult `json:"journals"`
	Records    int                     `json:"records"`
	Reverted   int                     `json:"reverted"`
	NotApplied int                     `json:"notApplied"`
	Conflicts  []string                `json:"conflicts"`
}

func (a *App) runRollback(ctx context.Context, g *globals, r *rollbackFlags) error {
	var region, profile string
	journals := []string{r.journal}
	p, root, err := a.loadPlan(g, planOptions{})
	switch {
	case err == nil:
		region, profile = p.Region, p.Profile
	case r.journal == "" && r.journalDir == "":
		return err
	default:
		region, profile = g.region, g.profile
	}
	if r.journal == "" {
		dir, err := remapJournalDir(r.journalDir, filepath.Join(root, statedir.Name))
		if err != nil {
			return usagef("%v", err)
		}
		if journals, err = rollbackJournals(dir, r.pool, r.share); err != nil {
			return err
		}
	}
	if _, err := os.Stat(journals[0]); err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	// No remap may append to a journal while it is undone.
	locks, err := statedir.LockFiles(journals, "rollback")
	if err != nil {
		return err
	}
	defer locks.Unlock()
	var records int
	tables := map[string]bool{}
	for _, j := range journals {
		if err := dynamo.ReadJournal(j, func(rec dynamo.JournalRecord) error {
			if rec.IsWrite() {
				records++
				tables[rec.Table] = true
			}
			return nil
		}); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no journal %s to roll back: pass --journal with the path of a remap journal (in %s)", j, filepath.Join(statedir.Name, "remap"))
			}
			return err // names the journal and the line, and what to do
		}
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
	if err := a.confirm(g, fmt.Sprintf("Roll back %d journaled writes of %s in AWS account %s, region %s, tables:\n  %s",
		records, strings.Join(journals, ", "), c.account(ctx), c.cfg.Region, strings.Join(names, "\n  "))); err != nil {
		if errors.Is(err, migration.ErrNotConfirmed) {
			return errRollbackDeclined
		}
		return err
	}
	sum, err := a.rollbackAll(ctx, c, journals, records)
	if err != nil {
		return explainAWS(err)
	}
	if g.json {
		if err := writeJSON(a.Stdout, sum); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.Stdout, "Rolled back %d writes (%d journaled but never made); %d left alone because they changed since.\n", sum.Reverted, sum.NotApplied, len(sum.Conflicts))
		for _, c := range sum.Conflicts {
			fmt.Fprintf(a.Stdout, "  ! %s\n", c)
		}
	}
	if len(sum.Conflicts) > 0 {
		return remapIncomplete{conflicts: int64(len(sum.Conflicts))}
	}
	return nil
}

// errRollbackDeclined is the answer to a declined rollback prompt.
var errRollbackDeclined = errors.New("rollback not confirmed: nothing was undone (answer y, or pass --yes to run without asking)")

// rollbackAll undoes the journals at the same time: workers' journals hold
// writes to disjoint items (each worker's own segments; an item a worker
// moved lands where another worker finds it already new and leaves it).
func (a *App) rollbackAll(ctx context.Context, c *awsClients, journals []string, records int) (rollbackSummary, error) {
	sum := rollbackSummary{Journal: journals[0], Journals: make([]dynamo.RollbackResult, len(journals)), Conflicts: []string{}}
	if len(journals) > 1 {
		sum.Journal = filepath.Dir(journals[0])
	}
	pr := a.newProgress("rollback", "writes", int64(records))
	var mu sync.Mutex
	done := make([]int, len(journals))
	errs := make([]error, len(journals))
	var wg sync.WaitGroup
	for i, j := range journals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sum.Journals[i], errs[i] = dynamo.Rollback(ctx, c.dynamo, j, func(n, _ int) {
				mu.Lock()
				defer mu.Unlock()
				done[i] = n
				total := 0
				for _, d := range done {
					total += d
				}
				pr.set(int64(total), int64(records), "")
			})
		}()
	}
	wg.Wait()
	pr.done("")
	for i, res := range sum.Journals {
		if errs[i] != nil {
			return sum, errs[i]
		}
		sum.Records, sum.Reverted, sum.NotApplied = sum.Records+res.Records, sum.Reverted+res.Reverted, sum.NotApplied+res.NotApplied
		sum.Conflicts = append(sum.Conflicts, res.Conflicts...)
	}
	return sum, nil
}

// journalName is a journal's file name: <pool>.journal.jsonl, or
// <pool>.worker-K-of-M.journal.jsonl for worker K of M.
var journalName = regexp.MustCompile(`^(.+?)(\.worker-(\d+)-of-(\d+))?\.journal\.jsonl$`)

// poolJournals lists the journals in dir of a remap to pool: the journal
// of a whole remap and every worker's.
func poolJournals(dir, pool string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.journal.jsonl"))
	var out []string
	for _, m := range matches {
		if p := journalName.FindStringSubmatch(filepath.Base(m)); p != nil && p[1] == pool {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// rollbackJournals picks the journals to undo: every journal of the remap
// to pool (by default the pool of the newest journal), or one worker's.
func rollbackJournals(dir, pool string, share dynamo.Share) ([]string, error) {
	if pool == "" {
		newest, err := newestJournal(dir)
		if err != nil {
			return nil, err
		}
		pool = journalName.FindStringSubmatch(filepath.Base(newest))[1]
	}
	journals := poolJournals(dir, pool)
	if !share.Whole() {
		want := filepath.Join(dir, fmt.Sprintf("%s.worker-%d-of-%d.journal.jsonl", pool, share.Worker, share.Of))
		journals = nil
		if _, err := os.Stat(want); err == nil {
			journals = []string{want}
		}
	}
	if len(journals) == 0 {
		which := "no remap journal of pool " + pool
		if !share.Whole() {
			which = fmt.Sprintf("no journal of worker %s of the remap to pool %s", share, pool)
		}
		return nil, fmt.Errorf("%s in %s to roll back; pass --journal FILE, or copy a worker's journal from its machine into the folder", which, dir)
	}
	return journals, nil
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
