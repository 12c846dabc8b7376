package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// defaultBackupRPS leaves two thirds of the account's 30 requests/s
// UserList quota to the production traffic that shares it.
const defaultBackupRPS = 10

type backupFlags struct {
	pool    string
	out     string
	resume  bool
	rps     float64
	shards  int
	workers int
}

func backupCommand(a *App) command {
	return command{
		name:    "backup",
		summary: "back up the user pool completely (users, groups, memberships) to a verified file; `backup verify FILE` proves a file whole",
		usage:   "backup [--pool ID] [--out FILE] [--resume] [--rps N]  |  backup verify FILE",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &backupFlags{}
			fs.StringVar(&f.pool, "pool", "", "user pool id (default: the pool of the project's auth resource)")
			fs.StringVar(&f.out, "out", "", "backup file (default: .poolmigrate/backups/<pool>-<time>.jsonl in the project)")
			fs.BoolVar(&f.resume, "resume", false, "complete an interrupted backup")
			fs.Float64Var(&f.rps, "rps", defaultBackupRPS, "ListUsers/ListUsersInGroup requests per second (the account's quota is 30, shared with your app)")
			fs.IntVar(&f.shards, "shards", 0, "split the user listing into 1, 16 or 256 sub-prefix shards (default: by the pool's size)")
			fs.IntVar(&f.workers, "workers", 0, "shards listed at once (0: enough to keep the --rps pace, --rps ÷ 2 from 4 to 16)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 && args[0] == "verify" {
					if len(args) != 2 {
						return usagef("usage: poolmigrate backup verify FILE")
					}
					return a.runBackupVerify(g, args[1])
				}
				if len(args) > 0 {
					return usagef("backup takes no arguments (got %q); did you mean `backup verify FILE`?", strings.Join(args, " "))
				}
				if f.rps <= 0 {
					return usagef("--rps must be above 0")
				}
				if f.shards != 0 && f.shards != 1 && f.shards != 16 && f.shards != 256 {
					return usagef("--shards must be 1, 16 or 256")
				}
				return a.runBackup(ctx, g, f)
			}
		},
	}
}

// poolTarget is the pool a command works on, and where its state goes.
type poolTarget struct {
	poolID   string
	region   string
	profile  string
	stateDir string
}

// resolvePool finds the pool from --pool or the project's auth resource.
// Commands given a pool id work outside an Amplify project too; their state
// then goes to ./.poolmigrate.
func (a *App) resolvePool(g *globals, poolFlag string) (*poolTarget, error) {
	if poolFlag != "" {
		// Pool ids name state files (backups, exports).
		if err := amplifyproj.CheckPoolID("the pool id", poolFlag); err != nil {
			return nil, usagef("%v", err)
		}
	}
	t := &poolTarget{poolID: poolFlag, region: g.region, profile: g.profile}
	p, root, err := a.loadPlan(g, planOptions{})
	switch {
	case err == nil:
		t.region, t.profile = p.Region, p.Profile
		if t.stateDir, err = statedir.Ensure(root); err != nil {
			return nil, err
		}
	case errors.Is(err, amplifyproj.ErrNoProject) && poolFlag != "":
		wd, werr := a.Getwd()
		if werr != nil {
			return nil, werr
		}
		t.stateDir = filepath.Join(wd, statedir.Name)
	default:
		if poolFlag == "" && errors.Is(err, amplifyproj.ErrNoProject) {
			return nil, fmt.Errorf("%w; outside an Amplify project pass --pool ID", err)
		}
		return nil, err
	}
	if t.poolID != "" {
		return t, nil
	}
	var ids []string
	for _, au := range p.Auth {
		if au.UserPoolID == "" && p.Generation == 2 {
			return nil, fmt.Errorf("the user pool id is unknown (amplify_outputs.json is missing): run `npx ampx generate outputs` or pass --pool ID")
		}
		if au.UserPoolID == "" {
			return nil, fmt.Errorf("the user pool id of auth %s is unknown (amplify/backend/amplify-meta.json is missing): run `amplify pull` or pass --pool ID", au.Resource)
		}
		ids = append(ids, au.UserPoolID)
	}
	switch len(ids) {
	case 0:
		return nil, fmt.Errorf("the project has no Cognito auth resource: pass --pool ID")
	case 1:
		t.poolID = ids[0]
		return t, nil
	}
	return nil, fmt.Errorf("the project has %d Cognito auth resources (%s): pass --pool ID", len(ids), strings.Join(ids, ", "))
}

func (a *App) runBackup(ctx context.Context, g *globals, f *backupFlags) error {
	t, err := a.resolvePool(g, f.pool)
	if err != nil {
		return err
	}
	out := f.out
	if out == "" {
		dir := filepath.Join(t.stateDir, "backups")
		if f.resume {
			if out, err = latestUnfinishedBackup(dir, t.poolID); err != nil {
				return err
			}
		} else {
			out = filepath.Join(dir, fmt.Sprintf("%s-%s.jsonl", t.poolID, time.Now().UTC().Format("20060102T150405Z")))
		}
	}
	c, err := a.newAWSClients(ctx, t.region, t.profile)
	if err != nil {
		return err
	}
	pr := a.newProgress("backup "+t.poolID, "users", 0)
	hdr, footer, err := cognito.Backup(ctx, c.cognito, cognito.BackupOptions{
		PoolID:  t.poolID,
		Region:  c.cfg.Region,
		Out:     out,
		Resume:  f.resume,
		Shards:  f.shards,
		Workers: f.workers,
		Limiter: rate.NewLimiter(rate.Limit(f.rps), 1),
		Progress: func(p cognito.BackupProgress) {
			// The total is the pool's estimate of its users.
			pr.set(p.Users, int64(p.Estimated), fmt.Sprintf("%s, %d/%d shards", p.Phase, p.ShardsDone, p.Shards))
		},
	})
	pr.done("")
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("backup interrupted; finished shards are kept in %s.parts: run `poolmigrate backup --resume` to complete it: %w", out, err)
		}
		return explainAWS(err)
	}
	res := map[string]any{
		"file": out, "userPoolId": hdr.PoolID, "users": footer.Users, "groups": footer.Groups,
		"memberships": footer.Memberships, "estimatedUsers": footer.EstimatedUsers, "sha256": footer.SHA256,
	}
	if g.json {
		return writeJSON(a.Stdout, res)
	}
	fmt.Fprintf(a.Stdout, "Backed up pool %s: %s users (the pool estimates %s), %s groups, %s memberships.\n%s\nsha256 %s\nVerified whole; check it again any time with `poolmigrate backup verify %s`.\n",
		hdr.PoolID, thousands(footer.Users), thousands(int64(footer.EstimatedUsers)), thousands(footer.Groups), thousands(footer.Memberships), out, footer.SHA256, out)
	return nil
}

// latestUnfinishedBackup finds the newest *.parts folder of the pool.
func latestUnfinishedBackup(dir, pool string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(dir, pool+"-*.jsonl.parts"))
	sort.Strings(matches)
	if len(matches) == 0 {
		return "", fmt.Errorf("no unfinished backup of pool %s in %s; pass --out FILE of the backup to resume", pool, dir)
	}
	return strings.TrimSuffix(matches[len(matches)-1], ".parts"), nil
}

func (a *App) runBackupVerify(g *globals, path string) error {
	hdr, footer, err := cognito.VerifyBackupFile(path)
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(a.Stdout, map[string]any{"ok": true, "file": path, "userPoolId": hdr.PoolID, "users": footer.Users, "groups": footer.Groups, "memberships": footer.Memberships, "sha256": footer.SHA256})
	}
	fmt.Fprintf(a.Stdout, "%s is whole: pool %s, %s users, %s groups, %s memberships, sha256 %s\n", path, hdr.PoolID, thousands(footer.Users), thousands(footer.Groups), thousands(footer.Memberships), footer.SHA256)
	return nil
}

// thousands formats n with thousands separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
