package cognito

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/poolmigrate/poolmigrate/statedir"
)

// listUsers lists every shard not yet committed, Workers at a time, and
// hands each committed shard to the merge, which starts once groups (the
// group listing's outcome) arrives.
func (b *backupRun) listUsers(parent context.Context, m *merger, groups <-chan error) error {
	var todo []int
	for i, p := range b.st.Shards {
		if n, err := countLines(b.shardPath(p)); err == nil {
			b.users.Add(n)
			b.shardsDone.Add(1)
			m.done(i)
			continue
		}
		todo = append(todo, i)
	}
	b.progress()
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	go m.run(groups, cancel)
	jobs := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	fail := func(err error) {
		if ctx.Err() == nil { // else the error is the cancellation's
			once.Do(func() { firstErr = err; cancel() })
		}
	}
	// A listed shard is committed (sorted, written, fsynced) by one of two
	// committers, so the worker goes on to its next shard at once: a slow
	// fsync never leaves the limiter without a request waiting.
	listed := make(chan *listedShard, b.o.Workers)
	var committers sync.WaitGroup
	for range 2 {
		committers.Add(1)
		go func() {
			defer committers.Done()
			for sh := range listed {
				err := sh.commit(b.shardPath(b.st.Shards[sh.i]))
				if err != nil {
					fail(err)
					continue
				}
				b.shardsDone.Add(1)
				b.progress()
				m.done(sh.i)
			}
		}()
	}
	for range b.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				sh, err := b.listShard(ctx, i)
				if err != nil {
					fail(err)
					return
				}
				listed <- sh
			}
		}()
	}
	for _, i := range todo {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	close(listed)
	committers.Wait()
	mergeErr := m.wait()
	if firstErr != nil {
		return firstErr
	}
	if err := parent.Err(); err != nil {
		return err
	}
	return mergeErr
}

// spilled is where one listed user's line sits in its shard's spill file.
type spilled struct {
	sub string
	off int64
	n   int
}

// listedShard is a shard listed to its spill file, to be committed.
type listedShard struct {
	i      int
	prefix string
	spill  *os.File
	index  []spilled
}

// listShard lists the users whose sub starts with the prefix of shard i.
// Pages go to a spill file as they arrive and only an index (sub, offset)
// stays in memory, so a worker costs little whatever the shard's size and
// many workers can keep requests in flight.
func (b *backupRun) listShard(ctx context.Context, i int) (*listedShard, error) {
	prefix := b.st.Shards[i]
	spill, err := os.CreateTemp(b.parts, ".spill-*") // 0600
	if err != nil {
		return nil, fmt.Errorf("list shard %s: %w", prefix, err)
	}
	sh := &listedShard{i: i, prefix: prefix, spill: spill}
	if err := b.fillSpill(ctx, sh); err != nil {
		sh.drop()
		return nil, err
	}
	return sh, nil
}

func (sh *listedShard) drop() {
	sh.spill.Close()
	os.Remove(sh.spill.Name())
}

func (b *backupRun) fillSpill(ctx context.Context, sh *listedShard) error {
	prefix, spill := sh.prefix, sh.spill
	w := bufio.NewWriterSize(spill, 64<<10)
	var index []spilled
	var off int64
	in := &cip.ListUsersInput{UserPoolId: &b.o.PoolID, Limit: ptr(int32(pageSize))}
	if prefix != "" {
		in.Filter = ptr(fmt.Sprintf("sub ^= %q", prefix))
	}
	for {
		if err := b.o.Limiter.Wait(ctx); err != nil {
			return err
		}
		out, err := b.api.ListUsers(ctx, in)
		if err != nil {
			return fmt.Errorf("list users of pool %s with sub prefix %s: %w", b.o.PoolID, prefix, err)
		}
		for _, u := range out.Users {
			user := userFromSDK(u)
			if !strings.HasPrefix(user.Sub, prefix) {
				return fmt.Errorf("list users with sub prefix %s: got user %s with sub %q: the pool's filter does not work as documented", prefix, user.Username, user.Sub)
			}
			line, err := json.Marshal(backupLine{Kind: "user", User: &user})
			if err != nil {
				return fmt.Errorf("list shard %s: %w", prefix, err)
			}
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return fmt.Errorf("list shard %s: %w", prefix, err)
			}
			index = append(index, spilled{sub: user.Sub, off: off, n: len(line)})
			off += int64(len(line))
		}
		b.users.Add(int64(len(out.Users)))
		b.progress()
		if out.PaginationToken == nil || *out.PaginationToken == "" {
			break
		}
		in.PaginationToken = out.PaginationToken
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("list shard %s: %w", prefix, err)
	}
	sh.index = index
	return nil
}

// commit writes the shard's users, sorted by sub, to its file (path) and
// drops the spill file.
func (sh *listedShard) commit(path string) error {
	defer sh.drop()
	prefix, index, spill := sh.prefix, sh.index, sh.spill
	sort.Slice(index, func(i, j int) bool { return index[i].sub < index[j].sub })
	for i := 1; i < len(index); i++ {
		if index[i].sub == index[i-1].sub {
			return fmt.Errorf("list users with sub prefix %s: the user with sub %s was listed twice; run the backup again", prefix, index[i].sub)
		}
	}
	f, err := statedir.Create(path)
	if err != nil {
		return err
	}
	fw := bufio.NewWriterSize(f, 256<<10)
	var buf []byte
	for _, e := range index {
		if cap(buf) < e.n {
			buf = make([]byte, e.n)
		}
		if _, err := spill.ReadAt(buf[:e.n], e.off); err != nil {
			f.Abort()
			return fmt.Errorf("write shard %s: %w", prefix, err)
		}
		if _, err := fw.Write(buf[:e.n]); err != nil {
			f.Abort()
			return fmt.Errorf("write shard %s: %w", prefix, err)
		}
	}
	if err := fw.Flush(); err != nil {
		f.Abort()
		return fmt.Errorf("write shard %s: %w", prefix, err)
	}
	return f.Commit()
}

func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}
