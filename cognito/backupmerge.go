package cognito

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/poolmigrate/poolmigrate/linefile"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// merger writes the final file while shards are still being listed:
// header, groups and memberships, then each shard, in prefix order (so subs
// ascend through the file), as soon as it and every shard before it are
// committed. A reader follows the file as it grows and proves it whole
// (ReadBackup: checksum, counts, order, memberships), so at the end of the
// listing only the footer is left to write and check before the commit.
type merger struct {
	b      *backupRun
	f      *statedir.File
	bw     *backupWriter
	hdr    BackupHeader
	ready  chan int
	errc   chan error
	once   sync.Once
	follow *follower
	verify chan error
}

func (b *backupRun) startMerge() (*merger, error) {
	hdr := BackupHeader{Format: BackupFormat, Tool: "poolmigrate", PoolID: b.st.PoolID, Region: b.st.Region, StartedAt: b.st.StartedAt, Pool: b.st.Pool, Shards: b.st.Shards}
	f, err := statedir.Create(b.o.Out)
	if err != nil {
		return nil, err
	}
	rf, err := os.Open(f.Name())
	if err != nil {
		f.Abort()
		return nil, fmt.Errorf("write backup %s: %w", b.o.Out, err)
	}
	m := &merger{b: b, f: f, bw: newBackupWriter(f), hdr: hdr, ready: make(chan int, len(b.st.Shards)), errc: make(chan error, 1),
		follow: newFollower(rf), verify: make(chan error, 1)}
	go func() {
		defer rf.Close()
		_, _, err := readBackup(m.follow, b.o.Out, BackupVisitor{})
		m.verify <- err
	}()
	if err := m.bw.line(backupLine{Kind: "header", Header: &hdr}); err != nil {
		m.abort()
		return nil, fmt.Errorf("write backup %s: %w", b.o.Out, err)
	}
	return m, nil
}

// done hands a committed shard (by its place in the state's list) to the
// merge.
func (m *merger) done(i int) { m.ready <- i }

// wait ends the merge's input and waits for it to copy every shard it was
// given.
func (m *merger) wait() error {
	m.once.Do(func() { close(m.ready) })
	return <-m.errc
}

// run writes the groups once they are listed, then the shards in order;
// a failure stops the listing (cancel).
func (m *merger) run(groups <-chan error, cancel func()) {
	committed := make([]bool, len(m.b.st.Shards))
	next := 0
	err := <-groups
	if err == nil {
		err = m.copyGroups(filepath.Join(m.b.parts, "groups.jsonl"))
	}
	for i := range m.ready {
		committed[i] = true
		for err == nil && next < len(committed) && committed[next] {
			err = m.copyShard(m.b.shardPath(m.b.st.Shards[next]))
			next++
		}
		if err != nil {
			cancel()
		}
	}
	switch {
	case err != nil:
		err = fmt.Errorf("write backup %s: %w", m.b.o.Out, err)
		cancel()
	case next < len(committed):
		err = fmt.Errorf("write backup %s: %d of %d shards were not listed", m.b.o.Out, len(committed)-next, len(committed))
	}
	m.errc <- err
}

// abort drops the unfinished file.
func (m *merger) abort() {
	m.once.Do(func() { close(m.ready) })
	m.follow.publish(-1, true)
	m.f.Abort()
}

// finish writes the footer, waits for the reader to prove the file whole,
// and commits it.
func (m *merger) finish() (BackupHeader, BackupFooter, error) {
	footer, err := m.bw.finish(m.b.st.Pool.EstimatedUsers, m.b.o.Now().UTC())
	if err == nil {
		err = m.published(true)
	}
	if err != nil {
		m.abort()
		return m.hdr, BackupFooter{}, fmt.Errorf("write backup %s: %w", m.b.o.Out, err)
	}
	if err := <-m.verify; err != nil {
		m.f.Abort()
		return m.hdr, footer, fmt.Errorf("verify the written backup: %w", err)
	}
	if err := m.f.Commit(); err != nil {
		return m.hdr, footer, err
	}
	return m.hdr, footer, nil
}

// published flushes what was written and lets the reader have it.
func (m *merger) published(last bool) error {
	if err := m.bw.w.Flush(); err != nil {
		return err
	}
	size, err := m.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	m.follow.publish(size, last)
	return nil
}

// copyShard appends a shard file, whose lines are all users, counting them
// by their line ends.
func (m *merger) copyShard(path string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	buf := make([]byte, 256<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			m.bw.footer.Users += int64(bytes.Count(buf[:n], []byte{'\n'}))
			if werr := m.bw.raw(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return m.published(false)
		}
		if err != nil {
			return err
		}
	}
}

// copyGroups appends the groups and memberships, counting each kind.
func (m *merger) copyGroups(path string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	r := linefile.NewReader(in, 0)
	for {
		line, err := r.Next()
		if errors.Is(err, linefile.ErrTornLine) {
			err = io.EOF // written by this backup: the final file's reader refuses a torn line
		}
		if len(line) > 0 {
			var k struct {
				Kind string `json:"kind"`
			}
			if err := linefile.DecodeJSON(line, &k); err != nil {
				return fmt.Errorf("%s line %d: %w", path, r.Line(), err)
			}
			switch k.Kind {
			case "group":
				m.bw.footer.Groups++
			case "member":
				m.bw.footer.Memberships++
			}
			if err := m.bw.raw(line); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return m.published(false)
		}
		if err != nil {
			return err
		}
	}
}

// follower reads a file while it is written: Read waits for bytes the
// writer has published and ends (io.EOF) where the writer finished.
type follower struct {
	f    *os.File
	off  int64
	mu   sync.Mutex
	cond *sync.Cond
	size int64
	done bool
}

func newFollower(f *os.File) *follower {
	r := &follower{f: f}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// publish makes the file's first size bytes readable (size -1: none
// more); last ends the file there.
func (r *follower) publish(size int64, last bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if size >= 0 {
		r.size = size
	}
	r.done = r.done || last
	r.cond.Broadcast()
}

func (r *follower) Read(p []byte) (int, error) {
	r.mu.Lock()
	for r.off >= r.size && !r.done {
		r.cond.Wait()
	}
	size := r.size
	r.mu.Unlock()
	if r.off >= size {
		return 0, io.EOF
	}
	n, err := r.f.ReadAt(p[:min(int64(len(p)), size-r.off)], r.off)
	r.off += int64(n)
	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}
	return n, err
}
