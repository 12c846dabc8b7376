package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
	"github.com/poolmigrate/poolmigrate/trigger/deploy"
)

// retire-old-pool ends the migration window by deleting the old pool; the
// decision (who would be lost, what blocks) is migration.PlanRetire's.

type retireFlags struct {
	old      string
	typedID  string
	accept   int64 // -1: not given
	typedN   int64 // -1: not given
	function string
	rps      float64
	// The copy route's old side (retirestorage.go).
	oldIdentityPool string
	// keepOldIdentityPool: do not look for it in the project's state.
	keepOldIdentityPool bool
	deleteOldFiles      bool
	dryRun              bool
	buckets, paths      []string
}

func retireCommand(a *App) command {
	return command{
		name:    "retire-old-pool",
		summary: "delete the old user pool kept for the migration window, once every user is in the new pool (or the loss accepted by number), verify is clean and no migration trigger is left (asks for the pool id typed)",
		usage:   "retire-old-pool --old-pool ID --backup FILE --target-pool ID [--old-identity-pool ID | --keep-old-identity-pool] [--delete-old-files] [--accept-unmigrated N] [--confirm-unmigrated N] [--confirm-pool-id ID] [--dry-run]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &remapFlags{}
			f.register(fs)
			r := &retireFlags{}
			fs.StringVar(&r.old, "old-pool", "", "the old user pool to delete")
			fs.StringVar(&r.typedID, "confirm-pool-id", "", "the old pool's id, typed, for runs without a terminal")
			fs.Int64Var(&r.accept, "accept-unmigrated", -1, "delete the pool although exactly N of its users are not in the new pool (they are lost; see the list retire prints)")
			fs.Int64Var(&r.typedN, "confirm-unmigrated", -1, "the number of --accept-unmigrated, typed again, for runs without a terminal")
			fs.StringVar(&r.function, "function", "", "the user migration trigger's function, when trigger deploy was given --function (it must be gone)")
			fs.Float64Var(&r.rps, "rps", defaultBackupRPS, "ListUsers requests per second while listing the old pool (the account's quota is 30, shared with your app)")
			fs.StringVar(&r.oldIdentityPool, "old-identity-pool", "", "Gen 1: the old identity pool retain-pool kept (default: the one migrate's storage-ids step or storage copy recorded for --old-pool in .poolmigrate/storage); deleted with the old pool, only if it lists --old-pool and not the new pool, and only once users' files verify under their new identity ids (storage verify) or no per-identity file exists")
			fs.BoolVar(&r.keepOldIdentityPool, "keep-old-identity-pool", false, "leave the old identity pool: do not look for it in the project's state")
			fs.BoolVar(&r.deleteOldFiles, "delete-old-files", false, "also delete the old files storage copy copied: per user only after a fresh verify of their copies, only objects its journal records copying (named and counted first)")
			fs.BoolVar(&r.dryRun, "dry-run", false, "do every check and show what would be deleted; delete nothing, ask nothing")
			fs.StringArrayVar(&r.buckets, "bucket", nil, "with an old identity pool (named or found in the project's state) or --delete-old-files: a `BUCKET` whose per-identity files are checked (repeatable; default: the project's storage)")
			fs.StringArrayVar(&r.paths, "path", nil, "a per-identity path `TEMPLATE` of the --bucket buckets (repeatable; default private/{entity_id}/ and protected/{entity_id}/)")
			return func(ctx context.Context, args []string) error {
				if err := f.validate(args, a.Getenv); err != nil {
					return err
				}
				if r.old == "" {
					return usagef("retire-old-pool needs --old-pool ID")
				}
				if err := amplifyproj.CheckPoolID("--old-pool", r.old); err != nil {
					return usagef("%v", err) // it names the fresh backup
				}
				if r.accept < -1 || r.typedN < -1 {
					return usagef("--accept-unmigrated and --confirm-unmigrated take a number of users, 0 or more")
				}
				if r.rps <= 0 {
					return usagef("--rps must be above 0")
				}
				if r.oldIdentityPool != "" && r.keepOldIdentityPool {
					return usagef("--old-identity-pool and --keep-old-identity-pool: choose one")
				}
				if r.oldIdentityPool != "" {
					if err := s3move.CheckIdentityID(r.oldIdentityPool); err != nil {
						return usagef("--old-identity-pool: %v", err)
					}
				}
				return a.runRetire(ctx, g, f, r)
			}
		},
	}
}

// RetireDecision is retire-old-pool --json's answer.
type RetireDecision struct {
	migration.RetireReport
	// Commands carry the unmigrated users over, run in the project folder.
	Commands [][]string `json:"commands"`
	Refusal  string     `json:"refusal,omitempty"`
	Deleted  bool       `json:"deleted"`
	// RefusedClaims are users of the new pool whose claim to an old
	// identity was refused: their old users count as not migrated.
	RefusedClaims []migration.ClaimRefusal `json:"refusedClaims,omitempty"`
	DryRun        bool                     `json:"dryRun"`
	// Storage is present with an old identity pool (--old-identity-pool,
	// or found in the project's state) or --delete-old-files.
	Storage *retireStorage `json:"storage,omitempty"`
	// OldIdentityPoolNote says why no old identity pool is deleted, when
	// none is named and the state names none that can be.
	OldIdentityPoolNote string `json:"oldIdentityPoolNote,omitempty"`
}

func (a *App) runRetire(ctx context.Context, g *globals, f *remapFlags, r *retireFlags) error {
	// Cheap checks first: the new pool is listed next, which takes a while.
	hdr, _, err := cognito.VerifyBackupFile(f.backup)
	if err != nil {
		return fmt.Errorf("the backup %s does not verify (%w): the old pool is deleted only with a whole backup of it", f.backup, err)
	}
	if hdr.PoolID != r.old {
		return fmt.Errorf("the backup %s is of pool %s, not of %s", f.backup, hdr.PoolID, r.old)
	}
	s, err := a.prepareRemap(ctx, g, f)
	if err != nil {
		return fmt.Errorf("read the new pool %s, its users' claims and the tables: %w; without them retire cannot tell who is migrated, so it deletes nothing", f.target, err)
	}
	defer s.close()
	_, rep, err := a.verifyWith(ctx, f, s)
	if err != nil {
		return err
	}
	if !rep.OK {
		printVerify(a, rep)
		return errors.New("verify is not clean: finish the migration (import, sync or remap) before deleting the old pool")
	}
	do := deploy.Options{TargetPool: f.target, Function: r.function}
	do.Names()
	o := migration.RetireOptions{OldPool: r.old, TargetPool: f.target, Backup: f.backup, Function: do.Function, Migrated: s.migrated,
		Limiter: rate.NewLimiter(rate.Limit(r.rps), 1), SpillDir: filepath.Join(s.stateDir, "tmp")}
	plan, err := migration.PlanRetire(ctx, s.clients.cognito, s.clients.lambda(), o)
	if err != nil {
		return explainAWS(err)
	}
	ip, ipErr := findOldIdentityPool(ctx, s.clients.identity(), s.stateDir, r, r.old)
	var ipRefused retireRefused
	if ipErr != nil && !errors.As(ipErr, &ipRefused) {
		return ipErr
	}
	d := RetireDecision{RetireReport: plan, Commands: carryOverCommands(g, f, r, plan, s.stateDir, time.Now()), Refusal: retireRefusal(plan, r.accept), RefusedClaims: s.claims.Refused, DryRun: r.dryRun,
		OldIdentityPoolNote: ip.Note}
	if ipErr != nil {
		// The state names no pool retire can trust: it deletes nothing.
		d.Refusal = strings.TrimPrefix(d.Refusal+"; ", "; ") + ipRefused.msg
	} else if d.Storage, err = a.planRetireStorage(ctx, g, s, r, ip, r.old, f.target); err != nil {
		return err
	}
	if d.Refusal == "" && d.Storage != nil {
		d.Refusal = d.Storage.Refusal
	}
	if !g.json {
		printRetire(a, d)
	}
	finish := func(err error) error {
		if err != nil && d.Refusal == "" {
			d.Refusal = err.Error()
		}
		if g.json {
			if jerr := writeJSON(a.Stdout, d); jerr != nil && err == nil {
				return jerr
			}
		}
		return err
	}
	if d.Refusal != "" {
		return finish(retireRefused{d.Refusal})
	}
	if r.dryRun {
		if !g.json {
			fmt.Fprintf(a.Stdout, "Dry run: nothing was deleted. Without --dry-run, retire asks for the pool id typed and deletes the old user pool %s.\n", r.old)
		}
		return finish(nil)
	}
	account, err := s.clients.accountID(ctx)
	if err != nil {
		return finish(explainAWS(err))
	}
	in := bufio.NewReader(a.Stdin)
	if plan.UnmigratedCount > 0 {
		typed := r.typedN
		if typed < 0 {
			fmt.Fprintf(a.Stderr, "%d users of the old pool are not in the new pool: deleting it loses them (those in the backup %s stay there only).\nType the number of users you accept to lose: ", plan.UnmigratedCount, f.backup)
			line, _ := in.ReadString('\n')
			if typed, err = strconv.ParseInt(strings.TrimSpace(line), 10, 64); err != nil {
				typed = -1
			}
		}
		if typed != plan.UnmigratedCount {
			return finish(retireRefused{fmt.Sprintf("the number typed is not the %d users the deletion would lose: nothing was deleted", plan.UnmigratedCount)})
		}
	}
	fmt.Fprintf(a.Stderr, "Delete user pool %s (%s, %d users) in AWS account %s, region %s?%s\nThis cannot be undone.\n", r.old, plan.OldPoolName, plan.Users, account, s.region, d.Storage.confirmText())
	typed := r.typedID
	if typed == "" {
		fmt.Fprint(a.Stderr, "Type the pool id to delete it: ")
		line, _ := in.ReadString('\n')
		typed = strings.TrimSpace(line)
	}
	if typed != r.old {
		return finish(retireRefused{"the id typed is not the pool's: nothing was deleted"})
	}
	if err := migration.RetireOldPool(ctx, s.clients.cognito, s.clients.lambda(), o); err != nil {
		return finish(explainAWS(err))
	}
	d.Deleted = true
	if !g.json {
		fmt.Fprintf(a.Stdout, "Deleted the old user pool %s. Its users remain in the backup %s.\n", r.old, f.backup)
	}
	err = a.retireStorageAfterPool(ctx, d.Storage, r.old)
	if !g.json {
		d.Storage.print(a.Stdout, false)
	}
	return finish(err)
}

// retireRefused is a refusal to delete: exit 1, with why.
type retireRefused struct{ msg string }

func (e retireRefused) Error() string { return e.msg }
func (e retireRefused) ExitCode() int { return 1 }

// retireRefusal says why the pool may not go, or "".
func retireRefusal(p migration.RetireReport, accept int64) string {
	switch {
	case len(p.Blockers) > 0:
		return (&migration.RetireBlockedError{Blockers: p.Blockers}).Error()
	case p.UnmigratedCount > 0 && accept < 0:
		return fmt.Sprintf("%d users of the old pool are not in the new pool (listed above): nothing was deleted. Carry them over with the commands above, or, to delete them with the pool, pass --accept-unmigrated %d", p.UnmigratedCount, p.UnmigratedCount)
	case accept >= 0 && accept != p.UnmigratedCount:
		return fmt.Sprintf("--accept-unmigrated %d, but %d users of the old pool are not in the new pool: nothing was deleted; check the list and pass the exact number", accept, p.UnmigratedCount)
	}
	return ""
}

// carryOverCommands are the commands that bring the unmigrated users over,
// exactly as poolmigrate accepts them: a fresh backup when some of them are
// not in the backup as they are now, export, import, sync, and retire again.
func carryOverCommands(g *globals, f *remapFlags, r *retireFlags, p migration.RetireReport, stateDir string, now time.Time) [][]string {
	if p.UnmigratedCount == 0 {
		return [][]string{}
	}
	var global []string
	for _, kv := range [][2]string{{"--env", g.env}, {"--region", g.region}, {"--profile", g.profile}} {
		if kv[1] != "" {
			global = append(global, kv[0], kv[1])
		}
	}
	cmd := func(args ...string) []string { return append(append([]string{"poolmigrate"}, args...), global...) }
	var out [][]string
	backup := f.backup
	if p.NeedsFreshBackup() || p.Truncated {
		backup = filepath.Join(stateDir, "backups", fmt.Sprintf("%s-%s.jsonl", p.OldPool, now.UTC().Format("20060102T150405Z")))
		out = append(out, cmd("backup", "--pool", p.OldPool, "--out", backup))
	}
	var remap []string
	for _, fl := range f.fields {
		remap = append(remap, "--field", fl)
	}
	if f.live {
		remap = append(remap, "--live")
	}
	out = append(out,
		cmd("export", "--backup", backup, "--target-pool", p.TargetPool),
		cmd("import", "--backup", backup, "--target-pool", p.TargetPool, "--method", "admin"),
		cmd(append([]string{"sync", "--backup", backup, "--target-pool", p.TargetPool}, remap...)...))
	retire := append([]string{"retire-old-pool", "--old-pool", p.OldPool, "--backup", backup, "--target-pool", p.TargetPool}, remap...)
	if r.function != "" {
		retire = append(retire, "--function", r.function)
	}
	if r.oldIdentityPool != "" {
		retire = append(retire, "--old-identity-pool", r.oldIdentityPool)
	}
	if r.keepOldIdentityPool {
		retire = append(retire, "--keep-old-identity-pool")
	}
	if r.deleteOldFiles {
		retire = append(retire, "--delete-old-files")
	}
	for _, b := range r.buckets {
		retire = append(retire, "--bucket", b)
	}
	for _, p := range r.paths {
		retire = append(retire, "--path", p)
	}
	return append(out, cmd(retire...))
}

const retireNamesShown = 50

func printRetire(a *App, d RetireDecision) {
	w := a.Stdout
	fmt.Fprintf(w, "Old pool %s (%s): %d users now; the backup %s (of %s) holds %d.\n", d.OldPool, d.OldPoolName, d.Users, d.Backup, d.BackupStartedAt.Format(time.RFC3339), d.BackupUsers)
	fmt.Fprintf(w, "%d of them are in the new pool %s.\n", d.Migrated, d.TargetPool)
	list := func(users []migration.RetireUser, count int64, migrated bool) {
		for i, u := range users {
			if i == retireNamesShown {
				break
			}
			note := map[string]string{migration.ChangeCreated: " (created after the backup)", migration.ChangeModified: " (changed after the backup)"}[u.Change]
			if migrated {
				note += " (in the new pool, which keeps what it has)"
			}
			fmt.Fprintf(w, "  %s  sub %s  %s%s\n", u.Username, u.Sub, u.Status, note)
		}
		if count > int64(min(len(users), retireNamesShown)) {
			fmt.Fprintf(w, "  … and %d more (--json lists up to %d)\n", count-int64(min(len(users), retireNamesShown)), migration.DefaultMaxNamed)
		}
	}
	if d.UnmigratedCount > 0 {
		fmt.Fprintf(w, "%d users of the old pool are not in the new pool; deleting it loses them:\n", d.UnmigratedCount)
		list(d.Unmigrated, d.UnmigratedCount, false)
	}
	var changedMigrated []migration.RetireUser
	for _, u := range d.Changed {
		if u.Migrated {
			changedMigrated = append(changedMigrated, u)
		}
	}
	if len(changedMigrated) > 0 {
		fmt.Fprintf(w, "%d users in the new pool changed in the old pool after the backup; their old records go with it:\n", len(changedMigrated))
		list(changedMigrated, int64(len(changedMigrated)), true)
	}
	if len(d.Commands) > 0 {
		fmt.Fprintln(w, "To carry them over, run in the project folder (export names the policy flags it needs, if any; `--role-arn ARN` instead of `--method admin` uses the CSV import job):")
		for _, c := range d.Commands {
			fmt.Fprintf(w, "  %s\n", shellJoin(c))
		}
	}
	for _, b := range d.Blockers {
		fmt.Fprintf(w, "! %s\n", b.Message)
	}
	if d.Storage != nil && !d.Deleted {
		d.Storage.print(w, d.DryRun)
	}
	if d.OldIdentityPoolNote != "" {
		fmt.Fprintln(w, d.OldIdentityPoolNote)
	}
}

// shellJoin writes a command line a POSIX shell reads back as args.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, s := range args {
		if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
			out[i] = s
		} else {
			out[i] = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
