package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/storage"
	"github.com/poolmigrate/poolmigrate/storage/idfield"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
)

// The storage commands' identity-id fields (--identity-field): storage
// copy rewrites them for the users whose files it moved, verify checks
// them, rollback restores them, status shows their journals.

// fieldJournalDir holds the identity-field journals: a folder of its own,
// so no bucket's journal (<bucket>.journal.jsonl) can share a name.
func (s *storageSetup) fieldJournalDir() string {
	return filepath.Join(s.stateDir, "storage", "identity-fields")
}

// fieldJournal is storage copy's identity-field journal.
func (s *storageSetup) fieldJournal() string {
	return filepath.Join(s.fieldJournalDir(), "copy.journal.jsonl")
}

// identityFields resolves --identity-field against the project's schema
// (as `storage plan` does) to the fields and their tables.
func identityFields(pl *migration.Plan, specs []string) ([]idfield.Field, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	if pl == nil {
		return nil, usagef("--identity-field needs the project's schema: run the command in the Amplify project")
	}
	fs, err := storage.IdentityFields(specs, storageModels(pl, false))
	var fe *storage.FieldError
	if errors.As(err, &fe) {
		return nil, usagef("%v", err)
	}
	if err != nil {
		return nil, err
	}
	var out []idfield.Field
	for _, f := range fs {
		if f.Table == "" {
			return nil, usagef("--identity-field %s.%s: the table of model %s is unknown because the data's API id is unknown: Gen 1, run `amplify pull` (amplify-meta.json); Gen 2, set POOLMIGRATE_API_ID to the AppSync API id", f.Type, f.Field, f.Type)
		}
		out = append(out, idfield.Field{Type: f.Type, Name: f.Field, Table: f.Table, List: f.List})
	}
	return out, nil
}

// fieldPairs are the old → new identity ids of the moves, but for the
// users left out (their files are not all moved yet).
func fieldPairs(moves []s3move.Move, leftOut map[string]bool) map[string]string {
	pairs := map[string]string{}
	for _, m := range moves {
		if !leftOut[m.User] {
			pairs[m.Old] = m.New
		}
	}
	return pairs
}

// rewriteFields rewrites (in a dry run, counts) the identity-id fields
// for the pairs, in storage copy's journal.
func (a *App) rewriteFields(ctx context.Context, s *storageSetup, pairs map[string]string, dryRun bool) (*idfield.Result, error) {
	return a.rewriteFieldsIn(ctx, s, pairs, dryRun, s.fieldJournal(), "storage copy")
}

// rewriteFieldsIn rewrites (in a dry run, counts) the identity-id fields
// for the pairs, in the journal of the command.
func (a *App) rewriteFieldsIn(ctx context.Context, s *storageSetup, pairs map[string]string, dryRun bool, journal, command string) (*idfield.Result, error) {
	step := "identity fields"
	if dryRun {
		step += " (dry run)"
	}
	p := a.newProgress(step, "items", 0)
	var mu sync.Mutex
	scanned, changed := map[string]int64{}, map[string]int64{}
	res, err := idfield.Rewrite(ctx, s.clients.dynamo, idfield.Options{Fields: s.fields, Pairs: pairs, Journal: journal,
		Command: command, DryRun: dryRun,
		Progress: func(tp dynamo.TableProgress) {
			mu.Lock()
			scanned[tp.Table], changed[tp.Table] = tp.Scanned, tp.Changed
			var n, c int64
			for t, v := range scanned {
				n, c = n+v, c+changed[t]
			}
			mu.Unlock()
			p.set(n, 0, thousands(c)+" changed")
		}})
	p.done("")
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return &res, fmt.Errorf("identity fields interrupted; every write made is in the journal %s: run %s again to finish, or storage rollback to undo: %w", journal, command, err)
		}
		return &res, explainAWS(err)
	}
	return &res, nil
}

// fieldsIncomplete says what a rewrite left to the next run.
func fieldsIncomplete(r *idfield.Result) error {
	if r == nil {
		return nil
	}
	failed, conflicts := r.Left()
	if failed+conflicts == 0 {
		return nil
	}
	return fmt.Errorf("identity fields: %d item(s) failed and %d changed while the rewrite ran (left alone, named above): run storage copy again to finish them", failed, conflicts)
}

func printFieldRewrite(w io.Writer, r *idfield.Result, skipped string) {
	if skipped != "" {
		fmt.Fprintf(w, "Identity fields: %s\n", skipped)
	}
	if r == nil {
		return
	}
	var names []string
	for _, f := range r.Fields {
		names = append(names, f.String())
	}
	fmt.Fprintf(w, "Identity fields %s: %d identity ids mapped", strings.Join(names, ", "), r.Pairs)
	if r.Journal != "" {
		fmt.Fprintf(w, " (journal %s)", r.Journal)
	}
	fmt.Fprintln(w)
	for _, t := range r.Tables {
		verb := "changed"
		if r.DryRun {
			verb = "would change"
		}
		fmt.Fprintf(w, "  table %s: %d items, %d %s, %d already new, %d holding only ids of no migrated user (left), %d failed, %d changed meanwhile (left)\n",
			t.Table, t.Scanned, t.Changed, verb, t.AlreadyNew, t.Unmapped, t.Failed, t.Conflicts)
		for _, e := range t.Examples {
			fmt.Fprintf(w, "    %s  %s: %s → %s\n", e.Key, e.Attr, e.Old, e.New)
		}
		for _, p := range t.Problems {
			fmt.Fprintf(w, "    ! %s\n", p)
		}
	}
}

// verifyFields checks that no field still names an old identity id of the
// pairs, holding the field journals' locks (a rewrite still writing would
// make the verdict meaningless).
func verifyFields(ctx context.Context, s *storageSetup, pairs map[string]string) ([]idfield.Check, int, error) {
	if len(s.fields) == 0 {
		return nil, 0, nil
	}
	journals, err := idfield.Journals(s.fieldJournalDir())
	if err != nil {
		return nil, 0, err
	}
	locks, err := statedir.LockFiles(journals, "storage verify")
	if err != nil {
		return nil, 0, err
	}
	defer locks.Unlock()
	checks, err := idfield.Verify(ctx, s.clients.dynamo, s.fields, pairs)
	if err != nil {
		return nil, 0, explainAWS(err)
	}
	stale := 0
	for _, c := range checks {
		stale += len(c.Stale)
	}
	return checks, stale, nil
}

func printFieldChecks(w io.Writer, checks []idfield.Check) {
	for _, c := range checks {
		fmt.Fprintf(w, "Identity field %s (table %s): %d items, %d values still name an old identity id\n", c.Field, c.Field.Table, c.Scanned, len(c.Stale))
		for i, st := range c.Stale {
			if i == 20 {
				fmt.Fprintf(w, "    … and %d more\n", len(c.Stale)-20)
				break
			}
			fmt.Fprintf(w, "    OLD  %s  %s = %s (now %s)\n", st.Key, c.Field.Name, st.Value, st.New)
		}
	}
}

// fieldJournalWrites counts the standing writes a field journal holds (a
// voided write was refused: there is nothing to undo).
func fieldJournalWrites(journal string) (int, error) {
	n := 0
	err := dynamo.ReadJournal(journal, func(r dynamo.JournalRecord) error {
		switch {
		case r.IsWrite():
			n++
		case r.Kind == "void":
			n--
		}
		return nil
	})
	return n, err
}

// rollbackFields undoes the field journals, newest first.
func rollbackFields(ctx context.Context, s *storageSetup, journals []string) ([]dynamo.RollbackResult, error) {
	out := []dynamo.RollbackResult{}
	for _, j := range journals {
		res, err := idfield.Rollback(ctx, s.clients.dynamo, j, "storage rollback")
		if err != nil {
			return out, explainAWS(err)
		}
		out = append(out, res)
	}
	return out, nil
}
