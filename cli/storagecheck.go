package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/idfield"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
	"github.com/poolmigrate/poolmigrate/tokenmint/deploy"
)

func storageVerifyCommand(a *App) command {
	return command{
		name:    "verify",
		summary: "prove each migrated user's files are under their new identity id (keys, sizes, checksums), or, on the link route, under the identity they had; exit 1 and a list otherwise",
		usage:   "verify --backup FILE --target-pool ID (--old-identity-pool ID --new-identity-pool ID | --identity-pool ID) [--bucket NAME [--path TEMPLATE]...] [--identity-field Type.field]...",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &storageFlags{}
			f.registerUsers(fs)
			f.registerBuckets(fs)
			identityPool := fs.String("identity-pool", "", "the link route (the identity pool survives the move: Gen 2): the `ID` of the identity pool storage link linked the users in, instead of --old-identity-pool and --new-identity-pool; verifies from storage link's journal")
			fields := fs.StringArray("identity-field", nil, "a `FIELD` of the app's data, written Type.field (e.g. Profile.identityId), that stores Cognito identity ids (repeatable; checked against the schema): no value may still name a moved user's old id")
			return func(ctx context.Context, args []string) error {
				f.identityFields = *fields
				if len(args) > 0 {
					return usagef("unexpected arguments %q", strings.Join(args, " "))
				}
				if *identityPool != "" {
					if f.oldIdentityPool != "" || f.newIdentityPool != "" {
						return usagef("--identity-pool (the link route) goes without --old-identity-pool and --new-identity-pool (the copy route)")
					}
					if f.backup == "" || f.target == "" {
						return usagef("needs --backup FILE and --target-pool ID")
					}
					if err := amplifyproj.CheckPoolID("--target-pool", f.target); err != nil {
						return usagef("%v", err)
					}
					return a.runStorageVerifyLink(ctx, g, f, *identityPool)
				}
				if err := f.validateUsers(); err != nil {
					return err
				}
				return a.runStorageVerify(ctx, g, f)
			}
		},
	}
}

// storageVerifyReport is storage verify's result (--json).
type storageVerifyReport struct {
	OK bool `json:"ok"`
	// Route is the route verified: copy, or link (--identity-pool).
	Route string `json:"route"`
	// Unmapped are migrated users the identity map (link: the link
	// journal) does not hold: their files were not copied (linked). They
	// fail only while Unknown is not 0.
	Unmapped []string `json:"unmapped"`
	// Unknown counts the identity folders under the per-identity paths
	// that hold files of an identity no verified user has (UnknownFolders
	// names the first 20, bucket/prefix); counted only when some users are
	// unmapped. With none, those users have no file there to keep.
	Unknown        int                   `json:"unknownFolders"`
	UnknownFolders []string              `json:"unknownFolderNames"`
	Buckets        []storageBucketVerify `json:"buckets"`
	// Link route: Linked counts the users whose new login answers the
	// identity they had (nothing moved); NotLinked names the users the
	// journal records as needing a copy. A bucket's users are those
	// copied (signed in to the new pool before the link), compared per
	// identity copied from.
	Linked    int      `json:"linked,omitempty"`
	NotLinked []string `json:"notLinked,omitempty"`
	// IdentityFields are the --identity-field fields checked: each value
	// still naming a moved user's old identity id is listed.
	IdentityFields []idfield.Check `json:"identityFields,omitempty"`
}

type storageBucketVerify struct {
	Bucket  string             `json:"bucket"`
	Objects int64              `json:"objects"`
	Users   int                `json:"users"`
	Failing []s3move.UserCheck `json:"failing"`
}

type storageNotVerified struct {
	route    string
	n, stale int
}

func (e storageNotVerified) Error() string {
	var parts []string
	if e.n > 0 || e.stale == 0 {
		where := "under their new identity id"
		if e.route == "link" {
			where = "under the identity they had (not linked, or a copy not complete)"
		}
		parts = append(parts, fmt.Sprintf("%d user(s) do not have all their files %s (listed)", e.n, where))
	}
	if e.stale > 0 {
		parts = append(parts, fmt.Sprintf("%d identity-field value(s) still name an old identity id (listed)", e.stale))
	}
	if e.route == "link" {
		return strings.Join(parts, "; ") + ": run `storage link` again (in a migration, `poolmigrate sync`)"
	}
	return strings.Join(parts, "; ") + ": run `storage copy` again"
}
func (e storageNotVerified) ExitCode() int { return 1 }

// checkedMoves is what storage verify and storage retire start from: the
// storage set-up, the checked claims, the migrated users the identity map
// does not hold, and the map's moves, checked (no swapped or chained ids).
func (a *App) checkedMoves(ctx context.Context, g *globals, f *storageFlags) (*storageSetup, migration.ClaimReport, []string, []s3move.Move, error) {
	s, claims, unmapped, m, err := a.checkedMap(ctx, g, f)
	if err != nil {
		return nil, claims, nil, nil, err
	}
	return s, claims, unmapped, m.Moves(), nil
}

// checkedMap is checkedMoves with the map's entries of the migrated users
// (those without a move too: users who had no old identity).
func (a *App) checkedMap(ctx context.Context, g *globals, f *storageFlags) (*storageSetup, migration.ClaimReport, []string, *identitymap.Result, error) {
	s, err := a.setupStorage(ctx, g, f)
	if err != nil {
		return nil, migration.ClaimReport{}, nil, nil, err
	}
	users, claims, err := a.claimedUsers(ctx, s, f)
	if err != nil {
		return nil, claims, nil, nil, err
	}
	m, unmapped, err := readMapFor(s.mapPath(), users)
	if err != nil {
		return nil, claims, nil, nil, err
	}
	if moves := m.Moves(); len(moves) > 0 {
		if err := s3move.CheckMoves(moves); err != nil {
			return nil, claims, nil, nil, err
		}
	}
	return s, claims, unmapped, m, nil
}

func (a *App) runStorageVerify(ctx context.Context, g *globals, f *storageFlags) error {
	s, claims, unmapped, m, err := a.checkedMap(ctx, g, f)
	if err != nil {
		return err
	}
	moves := m.Moves()
	rep := storageVerifyReport{Route: "copy", Unmapped: append([]string{}, unmapped...), Buckets: []storageBucketVerify{}, UnknownFolders: []string{}}
	failing := map[string]bool{}
	for _, b := range s.buckets {
		if len(moves) == 0 {
			rep.Buckets = append(rep.Buckets, storageBucketVerify{Bucket: b.Name, Failing: []s3move.UserCheck{}})
			continue
		}
		res, err := s3move.Verify(ctx, s.clients.s3(), s3move.VerifyOptions{Bucket: b.Name, Templates: b.Templates, Moves: moves, Journals: s.journals(b.Name)})
		if err != nil {
			return explainAWS(err)
		}
		bv := storageBucketVerify{Bucket: b.Name, Objects: res.Objects, Users: len(res.Users), Failing: []s3move.UserCheck{}}
		for _, u := range res.Users {
			if !u.OK() {
				bv.Failing = append(bv.Failing, u)
				failing[u.User] = true
			}
		}
		rep.Buckets = append(rep.Buckets, bv)
	}
	if len(unmapped) > 0 {
		// Every identity of a mapped user, also the new one of a user who
		// had none before (files they saved since are theirs).
		known := map[string]bool{}
		for _, e := range m.Entries {
			known[e.Old], known[e.New] = true, true
		}
		if rep.UnknownFolders, rep.Unknown, err = unknownFolders(ctx, s.clients.s3(), s.buckets, known); err != nil {
			return explainAWS(err)
		}
	}
	checks, stale, err := verifyFields(ctx, s, fieldPairs(moves, nil))
	if err != nil {
		return err
	}
	rep.IdentityFields = checks
	return a.finishStorageVerify(g, rep, claims, len(failing), stale)
}

// finishStorageVerify prints the report and makes the outcome: failing
// users (and, while an identity folder is unknown, the unmapped ones),
// stale field values, else the claims'.
func (a *App) finishStorageVerify(g *globals, rep storageVerifyReport, claims migration.ClaimReport, failing, stale int) error {
	if rep.Unknown > 0 {
		failing += len(rep.Unmapped)
	}
	rep.OK = failing == 0 && stale == 0
	if g.json {
		if err := writeJSON(a.Stdout, rep); err != nil {
			return err
		}
	} else {
		printFieldChecks(a.Stdout, rep.IdentityFields)
		printStorageVerify(a, rep)
	}
	if !rep.OK {
		return storageNotVerified{rep.Route, failing, stale}
	}
	return claimsOutcome(claims)
}

func printStorageVerify(a *App, r storageVerifyReport) {
	w := a.Stdout
	printUnmapped(w, r)
	if r.Route == "link" {
		fmt.Fprintf(w, "Link journal: %d users linked (their new login answers the identity they had: nothing moved), %d not linked (need a copy)\n", r.Linked, len(r.NotLinked))
		for _, u := range r.NotLinked {
			fmt.Fprintf(w, "  %s: needs a copy (signed in to the new pool before the link): run `storage link` again with --bucket\n", u)
		}
	}
	for _, b := range r.Buckets {
		what := "users compared"
		if r.Route == "link" {
			what = "users copied before the link compared"
		}
		fmt.Fprintf(w, "Bucket %s: %d objects of %d %s, %d users not complete\n", b.Bucket, b.Objects, b.Users, what, len(b.Failing))
		for _, u := range b.Failing {
			fmt.Fprintf(w, "  %s (%s → %s): %d missing, %d different\n", u.User, u.Old, u.New, len(u.Missing), len(u.Different))
			for _, k := range u.Missing {
				fmt.Fprintf(w, "    missing %s\n", k)
			}
			for _, d := range u.Different {
				fmt.Fprintf(w, "    different %s: %s\n", d.Key, d.Reason)
			}
		}
	}
	where := "their new identity id"
	if r.Route == "link" {
		where = "the identity their new login answers"
	}
	if r.OK && len(r.IdentityFields) > 0 {
		fmt.Fprintf(w, "OK: every migrated user's files are under %s, and the identity fields name it.\n", where)
	} else if r.OK {
		fmt.Fprintf(w, "OK: every migrated user's files are under %s.\n", where)
	} else {
		fmt.Fprintln(w, "NOT OK: see above.")
	}
}

func storageRollbackCommand(a *App) command {
	return command{
		name:    "rollback",
		summary: "delete exactly the copies `storage copy` and `storage link` made (never an object that was there before) and put back the identity-field values they rewrote; the files copied from were never touched, and links are not undone",
		usage:   "rollback [--bucket NAME [--path TEMPLATE]...] [--dry-run] [--yes]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &storageFlags{}
			f.registerBuckets(fs)
			fs.BoolVar(&f.dryRun, "dry-run", false, "read the journals and show how many copies would be deleted and field values put back; change nothing")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", strings.Join(args, " "))
				}
				return a.runStorageRollback(ctx, g, f)
			}
		},
	}
}

// storageRollbackReport is storage rollback's result (--json).
type storageRollbackReport struct {
	DryRun   bool                    `json:"dryRun"`
	Journals []s3move.RollbackResult `json:"journals"`
	// IdentityFields are the identity-field journals undone (a dry run:
	// Records only).
	IdentityFields []dynamo.RollbackResult `json:"identityFields,omitempty"`
	// LinkJournals are storage link's copy journals of users who signed
	// in to the new pool early (early/<bucket>.journal.jsonl); NotUndone
	// says what no rollback can undo.
	LinkJournals []s3move.RollbackResult `json:"linkJournals,omitempty"`
	NotUndone    string                  `json:"notUndone,omitempty"`
}

func (a *App) runStorageRollback(ctx context.Context, g *globals, f *storageFlags) error {
	s, err := a.setupStorage(ctx, g, f)
	if err != nil {
		return err
	}
	rep := storageRollbackReport{DryRun: f.dryRun, Journals: []s3move.RollbackResult{}}
	var journals []string
	for _, b := range s.buckets {
		journals = append(journals, s.journals(b.Name)...)
	}
	linkJournals := s.linkCopyJournals()
	fieldJournals, err := idfield.Journals(s.fieldJournalDir())
	if err != nil {
		return err
	}
	if len(journals)+len(linkJournals)+len(fieldJournals) == 0 {
		return fmt.Errorf("no copy journal in %s: `storage copy` and `storage link` have copied nothing to roll back", s.stateDir)
	}
	if len(linkJournals) > 0 {
		rep.NotUndone = linkNotUndone
	}
	fieldWrites := 0
	for _, j := range fieldJournals {
		n, err := fieldJournalWrites(j)
		if err != nil {
			return err
		}
		fieldWrites += n
		if f.dryRun {
			rep.IdentityFields = append(rep.IdentityFields, dynamo.RollbackResult{Journal: j, Records: n, Conflicts: []string{}})
		}
	}
	copies := 0
	for _, j := range append(journals, linkJournals...) {
		n, err := journalCopies(j)
		if err != nil {
			return err
		}
		copies += n
		if f.dryRun {
			r := s3move.RollbackResult{Journal: j, Copies: n, Left: []string{}}
			if slices.Contains(linkJournals, j) {
				rep.LinkJournals = append(rep.LinkJournals, r)
			} else {
				rep.Journals = append(rep.Journals, r)
			}
		}
	}
	if !f.dryRun {
		fieldsLine := ""
		if len(fieldJournals) > 0 {
			fieldsLine = fmt.Sprintf("\nPut back the %d identity-field values it rewrote (journals:\n  %s)", fieldWrites, strings.Join(fieldJournals, "\n  "))
		}
		if len(linkJournals) > 0 {
			fieldsLine += "\nNot undone: " + linkNotUndone
		}
		if err := a.confirm(g, fmt.Sprintf("In AWS account %s, region %s: delete the %d copies `storage copy` and `storage link` made (journals:\n  %s)%s\nOld files are not touched.",
			s.clients.account(ctx), s.clients.cfg.Region, copies, strings.Join(append(journals, linkJournals...), "\n  "), fieldsLine)); err != nil {
			return err
		}
		// The fields first: they were rewritten after the files.
		if rep.IdentityFields, err = rollbackFields(ctx, s, fieldJournals); err != nil {
			return err
		}
		for _, j := range journals {
			res, err := s3move.Rollback(ctx, s.clients.s3(), j, s3move.RollbackOptions{Command: "storage rollback"})
			if err != nil {
				return explainAWS(err)
			}
			rep.Journals = append(rep.Journals, res)
		}
		for _, j := range linkJournals {
			res, err := s3move.Rollback(ctx, s.clients.s3(), j, s3move.RollbackOptions{Command: "storage rollback"})
			if err != nil {
				return explainAWS(err)
			}
			rep.LinkJournals = append(rep.LinkJournals, res)
		}
	}
	left := 0
	for _, r := range rep.IdentityFields {
		left += len(r.Conflicts)
	}
	if g.json {
		if err := writeJSON(a.Stdout, rep); err != nil {
			return err
		}
		return fieldsLeft(left)
	}
	for _, r := range rep.IdentityFields {
		if f.dryRun {
			fmt.Fprintf(a.Stdout, "%s: %d identity-field writes would be undone (each only while the item holds what was written)\n", r.Journal, r.Records)
			continue
		}
		fmt.Fprintf(a.Stdout, "%s: %d identity-field writes, %d put back, %d never made, %d left\n", r.Journal, r.Records, r.Reverted, r.NotApplied, len(r.Conflicts))
		for _, c := range r.Conflicts {
			fmt.Fprintf(a.Stdout, "  left %s\n", c)
		}
	}
	for _, r := range append(rep.Journals, rep.LinkJournals...) {
		if f.dryRun {
			fmt.Fprintf(a.Stdout, "%s: %d copies would be deleted (each only while it holds what was copied)\n", r.Journal, r.Copies)
			continue
		}
		fmt.Fprintf(a.Stdout, "%s: %d copies, %d deleted, %d never made or gone, %d left\n", r.Journal, r.Copies, r.Deleted, r.NotApplied, len(r.Left))
		for _, l := range r.Left {
			fmt.Fprintf(a.Stdout, "  left %s\n", l)
		}
	}
	if rep.NotUndone != "" {
		fmt.Fprintf(a.Stdout, "Not undone: %s\n", rep.NotUndone)
	}
	return fieldsLeft(left)
}

// fieldsLeft makes a rollback that left identity-field values (the app
// changed them since) exit 1.
func fieldsLeft(n int) error {
	if n == 0 {
		return nil
	}
	return storageIncomplete{fmt.Sprintf("%d identity-field value(s) changed since storage copy wrote them and were left as they are (listed): put them back by hand if need be", n)}
}

// journalCopies counts the copies a journal's runs journaled.
func journalCopies(path string) (int, error) {
	n := 0
	err := s3move.ReadJournal(path, func(r s3move.Record) error {
		if r.Kind == "copy" {
			n++
		}
		return nil
	})
	return n, err
}

func storageStatusCommand(a *App) command {
	return command{
		name:    "status",
		summary: "show what the storage commands have attached and done: the token function on each pool, the identity map, each copy journal's and identity-field journal's progress (reads only)",
		usage:   "status [--backup FILE] [--target-pool ID] [--bucket NAME]...",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &storageFlags{}
			fs.StringVar(&f.backup, "backup", "", "backup file of the old pool (to show the token function on the old pool)")
			fs.StringVar(&f.target, "target-pool", "", "the new user pool's id (to show the token function on it)")
			f.registerBuckets(fs)
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", strings.Join(args, " "))
				}
				return a.runStorageStatus(ctx, g, f)
			}
		},
	}
}

// storageStatusReport is storage status's result (--json).
type storageStatusReport struct {
	Tokenmint []deploy.Status      `json:"tokenmint"`
	Map       storageMapStatus     `json:"identityMap"`
	Journals  []storageJournalStat `json:"journals"`
	// IdentityFieldJournals are the identity-field journals' progress.
	IdentityFieldJournals []idfield.JournalStatus `json:"identityFieldJournals"`
}

type storageMapStatus struct {
	Path    string `json:"path"`
	Exists  bool   `json:"exists"`
	Users   int    `json:"users"`
	Moves   int    `json:"moves"`
	Created int    `json:"createdOldIdentities"`
}

type storageJournalStat struct {
	Journal   string `json:"journal"`
	Runs      int    `json:"runs"`
	Copies    int    `json:"copies"`
	Done      int    `json:"done"`
	Exists    int    `json:"alreadyThere"`
	Conflicts int    `json:"conflicts"`
}

func (a *App) runStorageStatus(ctx context.Context, g *globals, f *storageFlags) error {
	s, err := a.setupStorage(ctx, g, f)
	if err != nil {
		return err
	}
	rep := storageStatusReport{Tokenmint: []deploy.Status{}, Journals: []storageJournalStat{}, IdentityFieldJournals: []idfield.JournalStatus{}}
	var pools []string
	if f.backup != "" {
		p, err := backupPool(f.backup)
		if err != nil {
			return err
		}
		pools = append(pools, p)
	}
	if f.target != "" {
		pools = append(pools, f.target)
	}
	apis := deploy.APIs{Cognito: s.clients.cognito, Lambda: s.clients.lambda(), IAM: s.clients.iam(), Logs: s.clients.logs()}
	for _, p := range pools {
		st, err := deploy.GetStatus(ctx, apis, deploy.Options{Pool: p, Region: s.clients.cfg.Region})
		if err != nil {
			return explainAWS(err)
		}
		rep.Tokenmint = append(rep.Tokenmint, st)
	}
	rep.Map.Path = s.mapPath()
	_, users, err := identitymap.Read(rep.Map.Path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		rep.Map.Exists, rep.Map.Users = true, len(users)
		for _, u := range users {
			if u.Created {
				rep.Map.Created++
			} else {
				rep.Map.Moves++
			}
		}
	}
	for _, b := range s.buckets {
		for _, j := range s.journals(b.Name) {
			st := storageJournalStat{Journal: j}
			err := s3move.ReadJournal(j, func(r s3move.Record) error {
				switch r.Kind {
				case "start":
					st.Runs++
				case "copy":
					st.Copies++
				case "done":
					st.Done++
				case "exists":
					st.Exists++
				case "conflict":
					st.Conflicts++
				}
				return nil
			})
			if err != nil {
				return err
			}
			rep.Journals = append(rep.Journals, st)
		}
	}
	fieldJournals, err := idfield.Journals(s.fieldJournalDir())
	if err != nil {
		return err
	}
	for _, j := range fieldJournals {
		st, err := idfield.Status(j)
		if err != nil {
			return err
		}
		rep.IdentityFieldJournals = append(rep.IdentityFieldJournals, st)
	}
	if g.json {
		return writeJSON(a.Stdout, rep)
	}
	w := a.Stdout
	for _, t := range rep.Tokenmint {
		state := "not attached"
		if len(t.Attached) > 0 {
			state = "attached (" + strings.Join(t.Attached, ", ") + ")"
		}
		fmt.Fprintf(w, "Token function on %s: %s", t.Pool, state)
		if t.ClientID != "" {
			fmt.Fprintf(w, ", app client %s", t.ClientID)
		}
		if t.Role {
			fmt.Fprintf(w, ", role %s", t.Function)
		}
		fmt.Fprintln(w)
		for _, p := range t.Problems {
			fmt.Fprintf(w, "  ! %s\n", p)
		}
	}
	if rep.Map.Exists {
		fmt.Fprintf(w, "Identity map %s: %d users, %d to move, %d had no old identity\n", rep.Map.Path, rep.Map.Users, rep.Map.Moves, rep.Map.Created)
	} else {
		fmt.Fprintf(w, "Identity map %s: none yet\n", rep.Map.Path)
	}
	for _, j := range rep.Journals {
		fmt.Fprintf(w, "Journal %s: %d runs, %d of %d copies done, %d already there, %d conflicts\n", j.Journal, j.Runs, j.Done, j.Copies, j.Exists, j.Conflicts)
	}
	if len(rep.Journals) == 0 {
		fmt.Fprintln(w, "No copy journal yet.")
	}
	for _, j := range rep.IdentityFieldJournals {
		state := "last run finished"
		if !j.Finished {
			state = "last run not finished (interrupted, or still running: run storage copy again)"
		}
		fmt.Fprintf(w, "Identity-field journal %s: %d runs, %d writes journaled (%d refused), %s: %d changed, %d failed, %d changed meanwhile\n",
			j.Journal, j.Runs, j.Writes, j.Voided, state, j.Changed, j.Failed, j.Conflicts)
	}
	return nil
}
