package cognito

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/statedir"
)

// BackupAPI is the part of the Cognito API a backup reads.
type BackupAPI interface {
	PoolDescriber
	ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error)
	ListGroups(ctx context.Context, in *cip.ListGroupsInput, optFns ...func(*cip.Options)) (*cip.ListGroupsOutput, error)
	ListUsersInGroup(ctx context.Context, in *cip.ListUsersInGroupInput, optFns ...func(*cip.Options)) (*cip.ListUsersInGroupOutput, error)
}

// BackupOptions configure Backup.
type BackupOptions struct {
	PoolID string
	Region string
	// Out is the backup file; its unfinished parts live in Out + ".parts".
	Out string
	// Resume continues the unfinished backup in Out + ".parts".
	Resume bool
	// Shards is how many `sub ^= prefix` listings the users are split into:
	// 1, 16 or 256 (0 picks by the pool's estimated size).
	Shards int
	// Workers list shards concurrently; all share Limiter. 0 picks enough
	// to keep Limiter's pace with answers taking up to half a second
	// (autoWorkers). A worker holds a small index of its shard, not its
	// users, so workers cost little memory.
	Workers int
	// Limiter paces ListUsers and ListUsersInGroup, which share the
	// account's UserList quota (30 requests/s, with production traffic).
	Limiter  *rate.Limiter
	Progress func(BackupProgress)
	Now      func() time.Time
}

// BackupProgress reports how far a backup is.
type BackupProgress struct {
	Phase      string // "users", "groups", "writing"
	Users      int64
	ShardsDone int
	Shards     int
	Estimated  int32
}

// pageSize is the largest page ListUsers and ListUsersInGroup return.
const pageSize = 60

// backupState is what an unfinished backup remembers between runs.
type backupState struct {
	PoolID    string    `json:"userPoolId"`
	Shards    []string  `json:"shards"`
	StartedAt time.Time `json:"startedAt"`
	Pool      Pool      `json:"pool"`
	Region    string    `json:"region"`
}

// Backup writes a complete backup of a pool: its configuration, every user,
// group and membership. Users are listed in shards by the first hex digits
// of their sub, each shard paged on its own and committed to the parts
// folder when complete, so an interrupted backup resumes shard by shard and
// never depends on one pagination token (they expire after an hour).
func Backup(ctx context.Context, api BackupAPI, o BackupOptions) (BackupHeader, BackupFooter, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limiter == nil {
		o.Limiter = rate.NewLimiter(rate.Inf, 1)
	}
	if o.Workers <= 0 {
		o.Workers = autoWorkers(o.Limiter.Limit())
	}
	if o.Progress == nil {
		o.Progress = func(BackupProgress) {}
	}
	parts := o.Out + ".parts"
	// One run a backup: two would list the same shards into one parts
	// folder and merge them into one file.
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o700); err != nil {
		return BackupHeader{}, BackupFooter{}, fmt.Errorf("create folder for %s: %w", o.Out, err)
	}
	lock, err := statedir.LockFile(o.Out, "backup --pool "+o.PoolID)
	if err != nil {
		return BackupHeader{}, BackupFooter{}, err
	}
	defer lock.Unlock()
	st, err := openBackupState(ctx, api, o, parts)
	if err != nil {
		return BackupHeader{}, BackupFooter{}, err
	}
	b := &backupRun{api: api, o: o, parts: parts, st: st}
	m, err := b.startMerge()
	if err != nil {
		return BackupHeader{}, BackupFooter{}, err
	}
	// The groups are listed alongside the users. They come first in the
	// file: the merge writes them, then each shard as it is committed, so
	// the file is written while the listing goes on.
	groups := make(chan error, 1)
	go func() { groups <- b.listGroups(ctx) }()
	if err := b.listUsers(ctx, m, groups); err != nil {
		m.abort()
		return BackupHeader{}, BackupFooter{}, err
	}
	o.Progress(BackupProgress{Phase: "writing", Users: b.users.Load(), ShardsDone: len(st.Shards), Shards: len(st.Shards), Estimated: st.Pool.EstimatedUsers})
	hdr, footer, err := m.finish()
	if err != nil {
		return hdr, footer, err
	}
	// The file was proved whole (read back as it was written) before
	// its commit: the parts can go.
	if err := os.RemoveAll(parts); err != nil {
		return hdr, footer, fmt.Errorf("remove %s: %w", parts, err)
	}
	return hdr, footer, nil
}

func openBackupState(ctx context.Context, api BackupAPI, o BackupOptions, parts string) (backupState, error) {
	statePath := filepath.Join(parts, "state.json")
	data, err := os.ReadFile(statePath)
	switch {
	case err == nil && !o.Resume:
		return backupState{}, fmt.Errorf("an unfinished backup is in %s: run `poolmigrate backup --resume` to complete it, or delete the folder to start over", parts)
	case err == nil:
		var st backupState
		if err := json.Unmarshal(data, &st); err != nil {
			return backupState{}, fmt.Errorf("read %s: %w", statePath, err)
		}
		if st.PoolID != o.PoolID {
			return backupState{}, fmt.Errorf("the unfinished backup in %s is of pool %s, not %s", parts, st.PoolID, o.PoolID)
		}
		return st, nil
	case !errors.Is(err, fs.ErrNotExist):
		return backupState{}, fmt.Errorf("read %s: %w", statePath, err)
	case o.Resume:
		return backupState{}, fmt.Errorf("nothing to resume: %s does not exist", parts)
	}
	if _, err := os.Stat(o.Out); err == nil {
		return backupState{}, fmt.Errorf("%s already exists: choose another --out, or remove it", o.Out)
	}
	pool, err := DescribePool(ctx, api, o.PoolID)
	if err != nil {
		return backupState{}, err
	}
	shards := o.Shards
	if shards == 0 {
		shards = autoShards(pool.EstimatedUsers)
	}
	st := backupState{PoolID: o.PoolID, Shards: shardPrefixes(shards), StartedAt: o.Now().UTC(), Pool: pool, Region: o.Region}
	if st.Shards == nil {
		return backupState{}, fmt.Errorf("shards must be 1, 16 or 256, not %d", shards)
	}
	if err := os.MkdirAll(parts, 0o700); err != nil {
		return backupState{}, fmt.Errorf("create %s: %w", parts, err)
	}
	data, _ = json.MarshalIndent(st, "", "  ")
	if err := statedir.WriteFile(statePath, data); err != nil {
		return backupState{}, err
	}
	return st, nil
}

// autoShards picks the shard count from the pool's estimated size: a small
// pool is listed in one go (each shard costs at least one partly filled
// page), a large one in 256 shards so that a shard is a few thousand users,
// held in memory while it is sorted, and listed well within the hour a
// pagination token lives. An unknown size (0) gets 16.
func autoShards(estimated int32) int {
	switch {
	case estimated > 0 && estimated < 2000:
		return 1
	case estimated > 100000:
		return 256
	}
	return 16
}

// autoWorkers is how many shards to list at once so that a request is
// always waiting when the limiter hands out the next: the rate times half
// a second (Cognito answers a page of 60 in 100 to 300 ms; more when
// busy), at least 4, at most 16. A worker waiting for the limiter holds
// no connection: about rps × the answer time are in flight, within the
// SDK's 10 idle connections a host unless answers take over a third of a
// second. With 4 workers, 30 requests a second needed every answer within
// 133 ms; each later one left the limiter's token unused (it keeps one at
// most).
func autoWorkers(rps rate.Limit) int {
	if rps == rate.Inf {
		return 4
	}
	return min(max(4, int(math.Ceil(float64(rps)/2))), 16)
}

// shardPrefixes returns the sub prefixes of n shards: sub is a lower-case
// hex UUID, so one hex digit makes 16 shards and two make 256; one shard
// lists the whole pool.
func shardPrefixes(n int) []string {
	const hex = "0123456789abcdef"
	switch n {
	case 1:
		return []string{""}
	case 16:
		out := make([]string, 16)
		for i := range out {
			out[i] = hex[i : i+1]
		}
		return out
	case 256:
		out := make([]string, 0, 256)
		for i := 0; i < 16; i++ {
			for j := 0; j < 16; j++ {
				out = append(out, string([]byte{hex[i], hex[j]}))
			}
		}
		return out
	}
	return nil
}

type backupRun struct {
	api        BackupAPI
	o          BackupOptions
	parts      string
	st         backupState
	users      atomic.Int64
	shardsDone atomic.Int64
}

func (b *backupRun) shardPath(prefix string) string {
	if prefix == "" {
		prefix = "all"
	}
	return filepath.Join(b.parts, "users-"+prefix+".jsonl")
}

func (b *backupRun) progress() {
	b.o.Progress(BackupProgress{Phase: "users", Users: b.users.Load(), ShardsDone: int(b.shardsDone.Load()), Shards: len(b.st.Shards), Estimated: b.st.Pool.EstimatedUsers})
}

func userFromSDK(u types.UserType) User {
	user := User{
		Username:   deref(u.Username),
		Attributes: make(map[string]string, len(u.Attributes)),
		Status:     string(u.UserStatus),
		Enabled:    u.Enabled,
	}
	for _, a := range u.Attributes {
		user.Attributes[deref(a.Name)] = deref(a.Value)
	}
	user.Sub = user.Attributes["sub"]
	if u.UserCreateDate != nil {
		user.Created = u.UserCreateDate.UTC()
	}
	if u.UserLastModifiedDate != nil {
		user.Modified = u.UserLastModifiedDate.UTC()
	}
	for _, m := range u.MFAOptions {
		user.MFAOptions = append(user.MFAOptions, MFAOption{DeliveryMedium: string(m.DeliveryMedium), AttributeName: deref(m.AttributeName)})
	}
	return user
}

// listGroups writes every group and, per group, its members (one
// ListUsersInGroup listing per group, not a call per user).
func (b *backupRun) listGroups(ctx context.Context) error {
	path := filepath.Join(b.parts, "groups.jsonl")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	var groups []Group
	gin := &cip.ListGroupsInput{UserPoolId: &b.o.PoolID, Limit: ptr(int32(pageSize))}
	for {
		out, err := b.api.ListGroups(ctx, gin)
		if err != nil {
			return fmt.Errorf("list groups of pool %s: %w", b.o.PoolID, err)
		}
		for _, g := range out.Groups {
			groups = append(groups, Group{Name: deref(g.GroupName), Description: deref(g.Description), Precedence: g.Precedence, RoleArn: deref(g.RoleArn)})
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		gin.NextToken = out.NextToken
	}
	f, err := statedir.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	fail := func(err error) error { f.Abort(); return err }
	for i := range groups {
		if err := enc.Encode(backupLine{Kind: "group", Group: &groups[i]}); err != nil {
			return fail(err)
		}
	}
	for _, g := range groups {
		in := &cip.ListUsersInGroupInput{UserPoolId: &b.o.PoolID, GroupName: ptr(g.Name), Limit: ptr(int32(pageSize))}
		for {
			if err := b.o.Limiter.Wait(ctx); err != nil {
				return fail(err)
			}
			out, err := b.api.ListUsersInGroup(ctx, in)
			if err != nil {
				return fail(fmt.Errorf("list members of group %s: %w", g.Name, err))
			}
			for _, u := range out.Users {
				user := userFromSDK(u)
				if err := enc.Encode(backupLine{Kind: "member", Member: &Membership{Group: g.Name, Username: user.Username, Sub: user.Sub}}); err != nil {
					return fail(err)
				}
			}
			if out.NextToken == nil || *out.NextToken == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	return f.Commit()
}

func ptr[T any](v T) *T { return &v }
