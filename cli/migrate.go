package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/storage"
)

// migrateState is the guided flow's progress, kept in
// .poolmigrate/migrate.json so each run continues where the last stopped.
type migrateState struct {
	Done       []string `json:"done"`
	OldAuth    string   `json:"oldAuth"`
	OldPool    string   `json:"oldPool"`
	Backup     string   `json:"backup"`
	NewAuth    string   `json:"newAuth"`
	TargetPool string   `json:"targetPool"`
	CSV        string   `json:"csv"`
	// KeepPasswords is the flow with the user migration trigger, chosen
	// when the flow starts.
	KeepPasswords bool `json:"keepPasswords,omitempty"`
	RetainWritten bool `json:"retainWritten,omitempty"`
	// Storage is the storage route and identity pools (storage-ids step).
	Storage *storageState `json:"storage,omitempty"`
}

func (s *migrateState) done(step string) bool {
	for _, d := range s.Done {
		if d == step {
			return true
		}
	}
	return false
}

// migrateSteps in order. The two amplify-* steps wait for the user to run
// Amplify CLI commands.
// storage-ids takes the old identity ids before the push deletes the old
// identity pool; storage copies the files of those who can sign in.
var migrateSteps = []string{"plan", "backup", "storage-ids", "detach", "amplify-auth", "patch", "amplify-push", "check", "export", "import", "remap", "storage", "verify"}

// keepPasswordSteps is the flow with the user migration trigger: the old
// pool is kept (retain) through the push, the trigger brings users over
// as they sign in (window), and once the window closes the rest are
// imported, everything synced and verified, the trigger removed and the
// old pool retired. Each sync moves the files of the users who came.
var keepPasswordSteps = []string{"plan", "backup", "storage-ids", "retain", "detach", "amplify-auth", "patch", "amplify-push", "check", "trigger", "window",
	"export", "import", "sync", "verify", "trigger-remove", "retire"}

// allMigrateSteps are the steps of both flows, each once.
func allMigrateSteps() []string {
	out := append([]string{}, migrateSteps...)
	for _, st := range append(append([]string{}, keepPasswordSteps...), gen2KeepSteps...) {
		if !oneOf(st, out...) {
			out = append(out, st)
		}
	}
	return out
}

func (s *migrateState) steps() []string {
	if s.KeepPasswords {
		return keepPasswordSteps
	}
	return migrateSteps
}

type migrateFlags struct {
	exportFlags  []string
	method, role string
	rateScale    float64
	poll         time.Duration
	stopAfter    string
	detachFlags  []string
	keep         bool
	closeWindow  bool
	zip          string
	confirmID    string
	retained     bool
	retireFlags  []string // --accept-unmigrated, --confirm-unmigrated
}

func migrateCommand(a *App) command {
	return command{
		name:    "migrate",
		summary: "the whole migration, step by step: plan, backup, storage-ids, detach, (amplify remove/add auth), patch, (amplify push), check, export, import, remap, storage, verify",
		usage:   "migrate [--on-duplicate P] [--on-unverified P] [--skip CODES] [--method job|admin] [--role-arn ARN] [--yes]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &migrateFlags{}
			onDup := fs.String("on-duplicate", "", "passed to export: keep-newest, keep-oldest or fail")
			onUnv := fs.String("on-unverified", "", "passed to export: skip, mark-verified or fail")
			skip := fs.String("skip", "", "passed to export: problem codes whose users are left out")
			from := fs.String("username-from", "", "passed to check and export: email, username or sub")
			fs.StringVar(&f.method, "method", migration.MethodJob, "import method: job (CSV import job) or admin")
			fs.StringVar(&f.role, "role-arn", "", "IAM role for the CSV import job's CloudWatch Logs")
			fs.Float64Var(&f.rateScale, "rate-scale", 1, "multiply the default request rates of import")
			fs.DurationVar(&f.poll, "poll", 5*time.Second, "how often to poll an import job")
			fs.StringVar(&f.stopAfter, "stop-after", "", "stop after this step (to run the flow in parts)")
			fs.BoolVar(&f.keep, "keep-passwords", false, "the flow with the user migration trigger: users who sign in during a window keep their passwords (choose it when starting)")
			fs.BoolVar(&f.closeWindow, "close-window", false, "keep-passwords: end the window: import the rest, sync, verify, remove the trigger, retire the old pool")
			fs.StringVar(&f.zip, "zip", "", "keep-passwords: the trigger's deployment package (default: the release's own, or built from source)")
			fs.BoolVar(&f.retained, "retained", false, "keep-passwords: you checked yourself that the deployed old pool is retained (skips retain-pool --check)")
			fs.StringVar(&f.confirmID, "confirm-pool-id", "", "keep-passwords: the old pool's id, typed, to retire it without a terminal")
			accept := fs.String("accept-unmigrated", "", "keep-passwords: passed to retire-old-pool: the number of old users not in the new pool you accept to lose")
			typedN := fs.String("confirm-unmigrated", "", "keep-passwords: passed to retire-old-pool: that number typed again, without a terminal")
			keepIP := fs.Bool("keep-old-identity-pool", false, "keep-passwords: passed to retire-old-pool: leave the old identity pool (it is deleted with the old pool when the storage-ids step recorded it and users' files verify)")
			signIn := fs.String("sign-in", "", "passed to detach: the new sign-in (email, username, phone, email-and-phone)")
			newAuth := fs.String("new-auth", "", "passed to detach: the new auth resource's name")
			pool := fs.String("pool", "", "passed to detach: the env's pool id when amplify-meta.json lacks it")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("migrate takes no arguments")
				}
				for name, v := range map[string]string{"--on-duplicate": *onDup, "--on-unverified": *onUnv, "--skip": *skip, "--username-from": *from} {
					if v != "" {
						f.exportFlags = append(f.exportFlags, name, v)
					}
				}
				for name, v := range map[string]string{"--sign-in": *signIn, "--new-auth": *newAuth, "--pool": *pool} {
					if v != "" {
						f.detachFlags = append(f.detachFlags, name, v)
					}
				}
				for _, kv := range [][2]string{{"--accept-unmigrated", *accept}, {"--confirm-unmigrated", *typedN}} {
					if kv[1] != "" {
						f.retireFlags = append(f.retireFlags, kv[0], kv[1])
					}
				}
				if *keepIP {
					f.retireFlags = append(f.retireFlags, "--keep-old-identity-pool")
				}
				if all := allMigrateSteps(); f.stopAfter != "" && !oneOf(f.stopAfter, all...) {
					return usagef("--stop-after must be one of %s", strings.Join(all, ", "))
				}
				return a.runMigrate(ctx, g, f)
			}
		},
	}
}

func (a *App) runMigrate(ctx context.Context, g *globals, f *migrateFlags) error {
	if root, ok := a.gen2Root(g); ok {
		return a.runMigrateGen2(ctx, g, f, root)
	}
	p, root, state, err := a.projectState(g)
	if err != nil {
		return err
	}
	statePath := filepath.Join(state, "migrate.json")
	var st migrateState
	save, err := loadMigrateState(statePath, &st)
	if err != nil {
		return err
	}
	if f.keep && !st.KeepPasswords {
		if st.done("detach") {
			return usagef("--keep-passwords must be chosen before detach (the old pool must be retained before its auth resource goes); this migration is past it")
		}
		st.KeepPasswords = true
	}
	for _, step := range st.steps() {
		if st.done(step) {
			continue
		}
		fmt.Fprintf(a.Stderr, "== %s\n", step)
		waiting, err := a.migrateStep(ctx, g, f, p, root, state, step, &st)
		if err != nil {
			if serr := save(); serr != nil {
				return errors.Join(err, serr)
			}
			return fmt.Errorf("step %s: %w\n(fix it and run `poolmigrate migrate` again: it continues from this step)", step, err)
		}
		if waiting {
			return save()
		}
		st.Done = append(st.Done, step)
		if err := save(); err != nil {
			return err
		}
		if p, err = a.reloadProject(g); err != nil {
			return err
		}
		if step == f.stopAfter {
			fmt.Fprintf(a.Stdout, "Stopped after %s as asked; run `poolmigrate migrate` to continue.\n", step)
			return nil
		}
	}
	fmt.Fprintln(a.Stdout, "Migration complete: every step is done and verify is clean.")
	return nil
}

func (a *App) reloadProject(g *globals) (*amplifyproj.Project, error) {
	p, _, err := a.loadProject(g)
	return p, err
}

// migrateStep runs one step; waiting means the user must act (run an
// Amplify command) before the flow can go on.
func (a *App) migrateStep(ctx context.Context, g *globals, f *migrateFlags, p *amplifyproj.Project, root, state, step string, st *migrateState) (bool, error) {
	out := a.Stdout
	sub := func(args ...string) error {
		args = append(args, "--project", root)
		if g.env != "" {
			args = append(args, "--env", g.env)
		}
		if g.yes {
			args = append(args, "--yes")
		}
		return a.Run(ctx, args)
	}
	switch step {
	case "plan":
		au, err := pickAuth(p, "")
		if err != nil {
			return false, err
		}
		if au.UserPoolID == "" {
			return false, errors.New("the pool id of the auth resource is unknown (amplify-meta.json is missing): run `amplify pull` first")
		}
		st.OldAuth, st.OldPool = au.Name, au.UserPoolID
		return false, sub("plan")
	case "backup":
		st.Backup = filepath.Join(state, "backups", fmt.Sprintf("%s-%s.jsonl", st.OldPool, time.Now().UTC().Format("20060102T150405Z")))
		if matches, _ := filepath.Glob(filepath.Join(state, "backups", st.OldPool+"-*.jsonl.parts")); len(matches) > 0 {
			st.Backup = strings.TrimSuffix(matches[len(matches)-1], ".parts")
			return false, sub("backup", "--pool", st.OldPool, "--out", st.Backup, "--resume")
		}
		return false, sub("backup", "--pool", st.OldPool, "--out", st.Backup)
	case "storage-ids":
		return false, a.storageOldIDs(ctx, g, state, st)
	case "storage":
		return false, a.storageMoveStep(ctx, g, state, st)
	case "detach":
		return false, sub(append([]string{"detach", "--live", "--backup", st.Backup, "--auth", st.OldAuth}, f.detachFlags...)...)
	case "amplify-auth":
		name, waiting, err := a.authReplaced(p, root, state, st)
		if err != nil || waiting {
			return waiting, err
		}
		st.NewAuth = name
		return false, nil
	case "patch":
		return false, sub("patch", "--from", st.OldAuth, "--to", st.NewAuth)
	case "amplify-push":
		au, _ := p.AuthByName(st.NewAuth)
		if au.UserPoolID == "" || au.UserPoolID == st.OldPool {
			if st.KeepPasswords {
				fmt.Fprintf(out, "\nNow run `amplify push`: it creates the new user pool; the old one, %s, stays (retained) for the user migration trigger. Then run `poolmigrate migrate` again.\n", st.OldPool)
				return true, nil
			}
			fmt.Fprintf(out, "\nNow run `amplify push`: it deletes the old user pool %s (its users are in the verified backup %s) and creates the new one. Then run `poolmigrate migrate` again.\n", st.OldPool, st.Backup)
			return true, nil
		}
		st.TargetPool = au.UserPoolID
		return false, nil
	case "check":
		args := []string{"check", "--backup", st.Backup, "--target-pool", st.TargetPool, "--fix"}
		for i := 0; i+1 < len(f.exportFlags); i += 2 {
			if f.exportFlags[i] == "--username-from" {
				args = append(args, f.exportFlags[i], f.exportFlags[i+1])
			}
		}
		err := sub(args...)
		var blocked blockedError
		if errors.As(err, &blocked) {
			fmt.Fprintln(out, "\nThe report above lists what blocks; export decides it with the flags it names. Run `poolmigrate migrate` again with them (e.g. --on-duplicate keep-newest --on-unverified skip).")
			if len(f.exportFlags) == 0 {
				return true, nil
			}
			return false, nil // the export policies decide
		}
		return false, err
	case "export":
		st.CSV = filepath.Join(state, "export", fmt.Sprintf("%s-%s", st.TargetPool, time.Now().UTC().Format("20060102T150405Z")))
		return false, sub(append([]string{"export", "--backup", st.Backup, "--target-pool", st.TargetPool, "--out", st.CSV}, f.exportFlags...)...)
	case "import":
		args := []string{"import", "--backup", st.Backup, "--target-pool", st.TargetPool, "--csv", st.CSV, "--method", f.method,
			"--rate-scale", fmt.Sprint(f.rateScale), "--poll", f.poll.String()}
		if f.role != "" {
			args = append(args, "--role-arn", f.role)
		}
		return false, sub(args...)
	case "remap":
		return false, sub("remap", "--backup", st.Backup, "--target-pool", st.TargetPool)
	case "retain":
		if !st.RetainWritten {
			if err := sub("retain-pool", "--auth", st.OldAuth); err != nil {
				return false, err
			}
			st.RetainWritten = true
			fmt.Fprintf(out, "\nNow run `amplify build` and `amplify push` (it deploys only the Retain policy), then `poolmigrate migrate` again: it checks the deployed stack keeps the pool before going on.\n")
			return true, nil
		}
		if f.retained {
			fmt.Fprintln(out, "Taking your word that the deployed old pool is retained (--retained).")
			return false, nil
		}
		err := sub("retain-pool", "--check", "--auth", st.OldAuth)
		var nr notReady
		if errors.As(err, &nr) {
			return true, nil // the message says what to do
		}
		return false, err
	case "trigger":
		args := []string{"trigger", "deploy", "--old-pool", st.OldPool, "--target-pool", st.TargetPool}
		if st.Backup != "" {
			args = append(args, "--backup", st.Backup)
		}
		if f.zip != "" {
			args = append(args, "--zip", f.zip)
		}
		return false, sub(args...)
	case "window":
		if !f.closeWindow {
			synced := "their groups, memberships and items"
			if st.Storage != nil && st.Storage.Route == storage.RouteCopy {
				synced += ", and files"
			}
			fmt.Fprintf(out, `
The migration window is open: users who sign in to the new pool with their old
passwords are brought over by the trigger and keep them. Meanwhile:
  poolmigrate sync --backup %[1]s --target-pool %[2]s --yes      # from cron: %[4]s
  poolmigrate verify --backup %[1]s --target-pool %[2]s --progress
  poolmigrate trigger status --old-pool %[3]s --target-pool %[2]s   # after each amplify push
When enough have come, close it: `+"`poolmigrate migrate --close-window`"+` imports the rest (they
reset their passwords), syncs, verifies, removes the trigger and retires the old pool.
`, st.Backup, st.TargetPool, st.OldPool, synced)
			return true, nil
		}
		return false, nil
	case "sync":
		return false, sub("sync", "--backup", st.Backup, "--target-pool", st.TargetPool)
	case "trigger-remove":
		return false, sub("trigger", "remove", "--old-pool", st.OldPool, "--target-pool", st.TargetPool)
	case "retire":
		args := []string{"retire-old-pool", "--old-pool", st.OldPool, "--backup", st.Backup, "--target-pool", st.TargetPool}
		if f.confirmID != "" {
			args = append(args, "--confirm-pool-id", f.confirmID)
		}
		return false, sub(append(args, f.retireFlags...)...)
	case "verify":
		return false, sub("verify", "--backup", st.Backup, "--target-pool", st.TargetPool)
	}
	return false, fmt.Errorf("unknown step %s", step)
}

// loadMigrateState reads migrate's state file into st, which keeps what
// it holds when the file is not there yet, and returns the function that
// writes st back (0600, through statedir).
func loadMigrateState[T any](path string, st *T) (save func() error, err error) {
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, st); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return func() error {
		data, _ := json.MarshalIndent(st, "", "  ")
		return statedir.WriteFile(path, data)
	}, nil
}
