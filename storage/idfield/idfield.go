// Package idfield rewrites the identity-id fields of an app's data (say
// Profile.identityId, kept to build other users' protected/ paths) from
// one identity id to another. It runs the owner remap's engine
// (dynamo.RemapTables) with a plain value map: every write journaled and
// fsynced before it is sent, conditional on the item still holding what
// was read (an app's change is never overwritten), resumable after a kill,
// verified by a scan, and undone exactly by the journal.
//
// The caller brings the pairs: storage copy maps each migrated user's old
// identity id to the new one; a user who signed in to the new pool before
// the link maps the other way.
package idfield

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// Field is an attribute of a table that holds identity ids: a string, or a
// list (or string set) of them.
type Field struct {
	// Type is the model the field belongs to, for messages.
	Type  string `json:"type,omitempty"`
	Name  string `json:"field"`
	Table string `json:"table"`
	List  bool   `json:"list"`
}

func (f Field) String() string {
	if f.Type != "" {
		return f.Type + "." + f.Name
	}
	return f.Table + "." + f.Name
}

// Options configure Rewrite.
type Options struct {
	Fields []Field
	// Pairs map each old identity id to its new one. A value that is both
	// an old and a new id is refused (a second run would carry it on).
	Pairs map[string]string
	// Journal is the run's journal (created 0600 in a 0700 folder, locked
	// for the run; a journal of a killed run is resumed). A dry run writes
	// none.
	Journal string
	// Command is what runs the rewrite: named in the lock and in the notes
	// on items left alone ("storage copy").
	Command string
	DryRun  bool
	// Workers is how many writes are in flight, all tables together.
	Workers  int
	Progress func(dynamo.TableProgress)
}

// Result is what a rewrite did (or, in a dry run, would do), per table:
// Changed items, AlreadyNew (holding new ids only), Unmapped (holding a
// value no pair maps: users not migrated, guests, anything else; left),
// Conflicts (changed by the app between read and write; left and named in
// Problems) and Failed.
type Result struct {
	Journal string               `json:"journal,omitempty"`
	DryRun  bool                 `json:"dryRun"`
	Pairs   int                  `json:"pairs"`
	Fields  []Field              `json:"fields"`
	Tables  []dynamo.TableResult `json:"tables"`
}

// Left counts the items a run left to a next one.
func (r Result) Left() (failed, conflicts int64) {
	for _, t := range r.Tables {
		failed += t.Failed
		conflicts += t.Conflicts
	}
	return failed, conflicts
}

// unmappedNote is how a value no pair maps is named in the notes.
const unmappedNote = "an identity id no migrated user had (not migrated, a guest, or not an id)"

// Rewrite rewrites every value of the fields that Pairs maps.
func Rewrite(ctx context.Context, api dynamo.TableAPI, o Options) (Result, error) {
	res := Result{DryRun: o.DryRun, Fields: o.Fields, Tables: []dynamo.TableResult{}}
	if res.Fields == nil {
		res.Fields = []Field{}
	}
	vm, err := dynamo.NewValueMap(o.Pairs)
	if err != nil {
		return res, err
	}
	res.Pairs = vm.Len()
	specs, err := specs(o.Fields)
	if err != nil || len(specs) == 0 {
		return res, err
	}
	if o.Command == "" {
		o.Command = "the rewrite"
	}
	ro := dynamo.RemapOptions{DryRun: o.DryRun, Workers: o.Workers, Examples: 3, Progress: o.Progress, Command: o.Command, Unmapped: unmappedNote}
	if !o.DryRun {
		if o.Journal == "" {
			return res, errors.New("identity fields: no journal to write to")
		}
		if err := os.MkdirAll(filepath.Dir(o.Journal), 0o700); err != nil {
			return res, fmt.Errorf("create journal folder: %w", err)
		}
		lock, err := statedir.LockFile(o.Journal, o.Command)
		if err != nil {
			return res, err
		}
		defer lock.Unlock()
		j, err := dynamo.OpenJournal(o.Journal)
		if err != nil {
			return res, err
		}
		defer j.Close()
		ro.Journal, res.Journal = j, o.Journal
	}
	res.Tables, err = dynamo.RemapTables(ctx, api, specs, vm, ro)
	return res, err
}

// specs groups the fields by table (one scan a table).
func specs(fields []Field) ([]dynamo.Spec, error) {
	var out []dynamo.Spec
	at := map[string]int{}
	seen := map[[2]string]bool{}
	for _, f := range fields {
		if f.Table == "" || f.Name == "" {
			return nil, fmt.Errorf("identity field %s: its table is unknown", f)
		}
		if seen[[2]string{f.Table, f.Name}] {
			continue
		}
		seen[[2]string{f.Table, f.Name}] = true
		i, ok := at[f.Table]
		if !ok {
			i = len(out)
			at[f.Table] = i
			out = append(out, dynamo.Spec{Table: f.Table})
		}
		// The claim is not read: a ValueMap maps values whatever it is.
		out[i].Owners = append(out[i].Owners, dynamo.OwnerAttr{Attr: f.Name, Claim: "identityId"})
	}
	return out, nil
}

// Stale is a value that still names an old identity id.
type Stale struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	New   string `json:"new"`
}

// Check is one field's verdict: OK when no item holds an old id of the
// pairs.
type Check struct {
	Field   Field   `json:"field"`
	Scanned int64   `json:"scanned"`
	Stale   []Stale `json:"stale"`
}

// OK tells whether the field names current ids only.
func (c Check) OK() bool { return len(c.Stale) == 0 }

// Verify scans each field for values Pairs maps (old ids still there).
func Verify(ctx context.Context, api dynamo.TableAPI, fields []Field, pairs map[string]string) ([]Check, error) {
	vm, err := dynamo.NewValueMap(pairs)
	if err != nil {
		return nil, err
	}
	out := []Check{}
	for _, f := range fields {
		if f.Table == "" {
			return nil, fmt.Errorf("identity field %s: its table is unknown", f)
		}
		c := Check{Field: f, Stale: []Stale{}}
		var mu sync.Mutex
		spec := dynamo.Spec{Table: f.Table, Owners: []dynamo.OwnerAttr{{Attr: f.Name, Claim: "identityId"}}}
		n, err := dynamo.ScanOwnerValues(ctx, api, spec, 4, func(key dynamo.Item, _, _, v string) {
			if nv, ok := vm.Old(v); ok {
				mu.Lock()
				c.Stale = append(c.Stale, Stale{Key: dynamo.KeyString(key), Value: v, New: nv})
				mu.Unlock()
			}
		})
		if err != nil {
			return nil, err
		}
		c.Scanned = n
		sort.Slice(c.Stale, func(i, j int) bool {
			if c.Stale[i].Key != c.Stale[j].Key {
				return c.Stale[i].Key < c.Stale[j].Key
			}
			return c.Stale[i].Value < c.Stale[j].Value
		})
		out = append(out, c)
	}
	return out, nil
}

// Rollback undoes a journal's writes exactly (newest first, each only
// while the item holds what was written; an item the app changed since is
// left and named), holding the journal's lock. When all is undone the
// journal is renamed *.rolled-back.
func Rollback(ctx context.Context, api dynamo.TableAPI, journal, command string) (dynamo.RollbackResult, error) {
	lock, err := statedir.LockFile(journal, command)
	if err != nil {
		return dynamo.RollbackResult{Journal: journal, Conflicts: []string{}}, err
	}
	defer lock.Unlock()
	return dynamo.Rollback(ctx, api, journal, nil)
}

// JournalStatus is what a journal says of its runs.
type JournalStatus struct {
	Journal string `json:"journal"`
	Runs    int    `json:"runs"`
	// Writes were journaled; Voided of them were refused (not made).
	Writes int `json:"writes"`
	Voided int `json:"voided"`
	// Finished is set when the last run reached its end; Changed, Failed
	// and Conflicts are that run's.
	Finished  bool  `json:"finished"`
	Changed   int64 `json:"changed"`
	Failed    int64 `json:"failed"`
	Conflicts int64 `json:"conflicts"`
}

// Status reads a journal.
func Status(journal string) (JournalStatus, error) {
	st := JournalStatus{Journal: journal}
	var last *dynamo.RunInfo
	err := dynamo.ReadJournal(journal, func(r dynamo.JournalRecord) error {
		switch {
		case r.Kind == "start":
			st.Runs++
			st.Finished, last = false, nil
		case r.Kind == "end":
			st.Finished, last = true, r.Run
		case r.Kind == "void":
			st.Voided++
		case r.IsWrite():
			st.Writes++
		}
		return nil
	})
	if last != nil {
		st.Changed, st.Failed, st.Conflicts = last.Changed, last.Failed, last.Conflicts
	}
	return st, err
}

// Journals lists the field journals in dir (*.journal.jsonl), the newest
// first, as a rollback undoes them.
func Journals(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.journal.jsonl"))
	if err != nil {
		return nil, err
	}
	type dated struct {
		path string
		mod  int64
	}
	var ds []dated
	for _, p := range paths {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ds = append(ds, dated{p, fi.ModTime().UnixNano()})
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].mod > ds[j].mod })
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.path
	}
	return out, nil
}
