package migration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/dynamo"
)

// ExtraField is an identity field outside @auth that the user names with
// --field Type.field:claim (say User.id:sub, where an app keys its User
// table by the Cognito sub).
type ExtraField struct {
	Type, Field, Claim string
}

// ParseExtraField reads "Type.field:claim".
func ParseExtraField(s string) (ExtraField, error) {
	tf, claim, ok := strings.Cut(s, ":")
	typ, field, ok2 := strings.Cut(tf, ".")
	if !ok || !ok2 || typ == "" || field == "" {
		return ExtraField{}, fmt.Errorf("--field %q: want Type.field:claim, e.g. User.id:sub", s)
	}
	switch claim {
	case "sub", "username", "sub::username":
	default:
		return ExtraField{}, fmt.Errorf("--field %q: the claim must be sub, username or sub::username", s)
	}
	return ExtraField{Type: typ, Field: field, Claim: claim}, nil
}

// RemapTarget is one table to remap and what it holds.
type RemapTarget struct {
	API  string
	Type string
	Spec dynamo.Spec
}

// RemapTargets lists the tables whose models have remappable owner fields
// (plus the extra fields), with the composite key attributes built from
// them.
func (pl *Plan) RemapTargets(extra []ExtraField) ([]RemapTarget, error) {
	var out []RemapTarget
	found := map[int]bool{}
	for _, api := range pl.APIs {
		for _, m := range api.Models {
			var owners []dynamo.OwnerAttr
			seen := map[string]bool{}
			for _, of := range m.OwnerFields {
				if of.Remap && !seen[of.Field+of.Claim] {
					seen[of.Field+of.Claim] = true
					owners = append(owners, dynamo.OwnerAttr{Attr: of.Field, Claim: of.Claim})
				}
			}
			for i, e := range extra {
				if e.Type == m.Type {
					found[i] = true
					if !seen[e.Field+e.Claim] {
						seen[e.Field+e.Claim] = true
						owners = append(owners, dynamo.OwnerAttr{Attr: e.Field, Claim: e.Claim})
					}
				}
			}
			if len(owners) == 0 {
				continue
			}
			if m.Table == "" {
				return nil, fmt.Errorf("the table of model %s (API %s) is unknown because the API id is unknown (amplify-meta.json is missing): run `amplify pull`, or pass --live to find it from the table names", m.Type, api.Name)
			}
			spec := dynamo.Spec{Table: m.Table, Owners: owners}
			for _, k := range append([]Key{m.PrimaryKey}, indexKeys(m.Indexes)...) {
				if len(k.SortFields) < 2 {
					continue
				}
				for _, o := range owners {
					if contains(k.SortFields, o.Attr) {
						spec.Composites = append(spec.Composites, dynamo.Composite{Attr: k.Sort, Fields: k.SortFields})
						break
					}
				}
			}
			out = append(out, RemapTarget{API: api.Name, Type: m.Type, Spec: spec})
		}
	}
	for i, e := range extra {
		if !found[i] {
			return nil, fmt.Errorf("--field %s.%s: no @model type %s in the project's APIs", e.Type, e.Field, e.Type)
		}
	}
	return out, nil
}

func indexKeys(ix []Index) []Key {
	out := make([]Key, len(ix))
	for i, x := range ix {
		out[i] = x.Key
	}
	return out
}

// RemapSummary is what `remap --json` prints.
type RemapSummary struct {
	DryRun  bool   `json:"dryRun"`
	Journal string `json:"journal,omitempty"`
	// Worker is the share a worker of a split remap took ("1/3" of
	// Segments segments); empty for the whole tables.
	Worker    string               `json:"worker,omitempty"`
	Segments  int                  `json:"segments,omitempty"`
	Tables    []dynamo.TableResult `json:"tables"`
	Mapped    int                  `json:"mappedUsers"`
	Unmatched []string             `json:"unmatchedUsers"`
	// RefusedClaims are users of the new pool whose claim to an old
	// identity was refused (see ListClaims); set by remap, not by sync,
	// which reports them once.
	RefusedClaims []ClaimRefusal `json:"refusedClaims,omitempty"`
}

// Remap rewrites the owner fields of every target table. The tables are
// remapped at the same time, sharing o.Workers writes in flight, so no
// table's scan start or last writes leave the others' budget idle. With
// o.Share set it takes one worker's segments of each table; the journal
// records the share at the start of each run and the outcome at its end,
// and a worker's journal refuses a run with another split.
func Remap(ctx context.Context, api dynamo.TableAPI, targets []RemapTarget, m *SubMap, o dynamo.RemapOptions) (RemapSummary, error) {
	if o.Segments <= 0 {
		o.Segments = 4
	}
	sum := RemapSummary{DryRun: o.DryRun, Tables: make([]dynamo.TableResult, len(targets)), Mapped: m.Mapped, Unmatched: []string{}}
	if !o.Share.Whole() {
		sum.Worker, sum.Segments = o.Share.String(), o.Segments
	}
	for _, u := range m.Unmatched {
		sum.Unmatched = append(sum.Unmatched, u.OldUsername)
	}
	sort.Strings(sum.Unmatched)
	if o.Journal != nil {
		sum.Journal = o.Journal.Path()
	}
	specs := make([]dynamo.Spec, len(targets))
	for i, t := range targets {
		specs[i] = t.Spec
	}
	var err error
	sum.Tables, err = dynamo.RemapTables(ctx, api, specs, m, o)
	return sum, err
}

// VerifyReport is what `verify --json` prints.
type VerifyReport struct {
	OK     bool          `json:"ok"`
	Tables []VerifyTable `json:"tables"`
	// Pool differences for users present in the target.
	GroupsMissing      []string `json:"groupsMissing"`
	MembershipsMissing []string `json:"membershipsMissing"`
	DisabledMismatch   []string `json:"disabledMismatch"`
	// Users of the backup not in the target: a warning (export rejects
	// some on purpose), an error with --strict.
	UnmatchedUsers []string `json:"unmatchedUsers"`
	Strict         bool     `json:"strict"`
	// Journals are the remap journals found (every worker's of a split
	// remap), with notes on what they say is left to do. The tables' scan,
	// not the journals, decides OK.
	Journals     []JournalState `json:"journals"`
	JournalNotes []string       `json:"journalNotes"`
	// RefusedClaims are users of the new pool whose claim to an old
	// identity was refused (see ListClaims): while one is there, verify
	// fails.
	RefusedClaims []ClaimRefusal `json:"refusedClaims,omitempty"`
}

// VerifyTable is one table's verdict.
type VerifyTable struct {
	Table   string `json:"table"`
	Scanned int64  `json:"scanned"`
	// OldValues are owner values that still name a migrated user by the
	// old identity: each is a failure.
	OldValues []VerifyValue `json:"oldValues"`
	// Orphaned are owner values of backup users who are not in the target.
	Orphaned []VerifyValue `json:"orphaned"`
}

// VerifyValue is one owner value found.
type VerifyValue struct {
	Key   string `json:"key"`
	Attr  string `json:"attribute"`
	Value string `json:"value"`
	User  string `json:"user"`
}

// Verify compares backup, target pool and tables.
func Verify(ctx context.Context, ddb dynamo.TableAPI, cog cognito.RestoreAPI, pool string, targets []RemapTarget, m *SubMap, x cognito.BackupExtras, migrated *cognito.MigratedUsers, l cognito.Limits, strict bool) (VerifyReport, error) {
	rep := VerifyReport{Tables: []VerifyTable{}, GroupsMissing: []string{}, MembershipsMissing: []string{}, DisabledMismatch: []string{}, UnmatchedUsers: []string{}, Strict: strict, Journals: []JournalState{}, JournalNotes: []string{}}
	for _, t := range targets {
		vt := VerifyTable{Table: t.Spec.Table, OldValues: []VerifyValue{}, Orphaned: []VerifyValue{}}
		var mu sync.Mutex
		n, err := dynamo.ScanOwnerValues(ctx, ddb, t.Spec, 4, func(key dynamo.Item, attr, claim, v string) {
			nv, st, id := m.classify(claim, v)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case st == dynamo.ValueChanged && nv != v:
				vt.OldValues = append(vt.OldValues, VerifyValue{Key: dynamo.KeyString(key), Attr: attr, Value: v, User: id.OldUsername})
			case st == dynamo.ValueUnmapped && id != nil:
				vt.Orphaned = append(vt.Orphaned, VerifyValue{Key: dynamo.KeyString(key), Attr: attr, Value: v, User: id.OldUsername})
			}
		})
		if err != nil {
			return rep, err
		}
		vt.Scanned = n
		sortValues(vt.OldValues)
		sortValues(vt.Orphaned)
		rep.Tables = append(rep.Tables, vt)
	}
	rp, err := cognito.PlanRestore(ctx, cog, pool, x, migrated, l)
	if err != nil {
		return rep, err
	}
	for _, g := range rp.GroupsToCreate {
		rep.GroupsMissing = append(rep.GroupsMissing, g.Name)
	}
	for _, mb := range rp.MembershipsToAdd {
		rep.MembershipsMissing = append(rep.MembershipsMissing, mb.Group+"/"+mb.Username)
	}
	for _, u := range rp.UsersToDisable {
		rep.DisabledMismatch = append(rep.DisabledMismatch, u.Username+" should be disabled")
	}
	migrated.Each(func(oldSub string, tu cognito.TargetUser) {
		if _, wasDisabled := x.Disabled[oldSub]; !wasDisabled && !tu.Enabled {
			rep.DisabledMismatch = append(rep.DisabledMismatch, tu.Username+" should be enabled")
		}
	})
	sort.Strings(rep.DisabledMismatch)
	for _, u := range m.Unmatched {
		rep.UnmatchedUsers = append(rep.UnmatchedUsers, u.OldUsername)
	}
	sort.Strings(rep.UnmatchedUsers)
	rep.OK = len(rep.GroupsMissing) == 0 && len(rep.MembershipsMissing) == 0 && len(rep.DisabledMismatch) == 0 && (!strict || len(rep.UnmatchedUsers) == 0)
	for _, t := range rep.Tables {
		if len(t.OldValues) > 0 || (strict && len(t.Orphaned) > 0) {
			rep.OK = false
		}
	}
	return rep, nil
}

func sortValues(v []VerifyValue) {
	sort.Slice(v, func(i, j int) bool {
		if v[i].Key != v[j].Key {
			return v[i].Key < v[j].Key
		}
		return v[i].Attr < v[j].Attr
	})
}
