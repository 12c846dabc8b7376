package s3move

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// Defaults of Options.
const (
	// DefaultMultipartThreshold is CopyObject's limit: larger objects are
	// copied in parts.
	DefaultMultipartThreshold = 5 << 30
	DefaultPartSize           = 512 << 20
	// MinPartSize is S3's smallest part but the last.
	MinPartSize    = 5 << 20
	maxParts       = 10000
	DefaultWorkers = 16
)

// Options configure a copy.
type Options struct {
	Bucket    string
	Templates []Template
	// Moves are every user's move; the run copies its Share of them.
	Moves []Move
	// Journal is the run's journal file (its folder is created 0700). A
	// journal of an earlier run of the same bucket and share is resumed.
	Journal string
	// Share splits the moves by user across workers (--worker K/M): the
	// zero Share is all of them.
	Share dynamo.Share
	// Workers is how many copies run at once (DefaultWorkers if 0).
	Workers int
	// MultipartThreshold: objects larger are copied in parts of PartSize.
	MultipartThreshold int64
	PartSize           int64
	// PageSize is ListObjectsV2's MaxKeys (0: the server's, 1000 on AWS).
	PageSize int32
	// Command names the run in its journal's lock ("storage copy").
	Command string
	// Progress, if set, is called (one call at a time) after each object.
	Progress func(Progress)
}

// Progress is what a run has done so far.
type Progress struct {
	Objects, Bytes          int64
	Copied, Done, Identical int64
	Conflicts, Failed       int64
}

// Result is what a copy did.
type Result struct {
	Journal string       `json:"journal"`
	Users   []UserResult `json:"users"`
	// Objects and Bytes are what the run's users hold under their old ids.
	Objects int64 `json:"objects"`
	Bytes   int64 `json:"bytes"`
	// Copied by this run; Done by an earlier run of the journal; Identical
	// already at the destination (not created by any run).
	Copied    int64      `json:"copied"`
	Done      int64      `json:"done"`
	Identical int64      `json:"identical"`
	Conflicts []Conflict `json:"conflicts"`
	Failures  []Failure  `json:"failures"`
}

// UserResult is one user's part of a copy.
type UserResult struct {
	User      string `json:"user"`
	Old       string `json:"old"`
	New       string `json:"new"`
	Objects   int64  `json:"objects"`
	Copied    int64  `json:"copied"`
	Conflicts int64  `json:"conflicts"`
	Failed    int64  `json:"failed"`
}

// Conflict is a destination that already holds another object: the user
// uploaded under their new id. Both are kept.
type Conflict struct {
	User   string `json:"user"`
	Source string `json:"source"`
	Dest   string `json:"dest"`
	Reason string `json:"reason"`
}

// Failure is an object (or a user's listing, Key empty) not copied.
type Failure struct {
	User  string `json:"user"`
	Key   string `json:"key,omitempty"`
	Error string `json:"error"`
}

// IncompleteError is a copy that left conflicts or failures: the objects
// named in the Result were not copied; the rest were.
type IncompleteError struct {
	Conflicts, Failed int
	Journal           string
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("storage copy: %d conflict(s) and %d failure(s), listed in the result: a conflict is a file the user already has under their new id (both are kept; resolve it by hand), a failure can be retried by running the copy again with the same journal (%s)", e.Conflicts, e.Failed, e.Journal)
}

// Copy copies every object under each move's old prefixes to the same key
// under the new id, journaling each copy before it is sent so that a
// killed run resumes without copying twice and Rollback deletes exactly
// what was copied. Old objects are never deleted. A destination that
// holds the same object counts as done; one that holds another is a
// conflict, reported and left. The run returns an *IncompleteError when
// any object was not copied.
func Copy(ctx context.Context, api API, o Options) (Result, error) {
	res := Result{Journal: o.Journal, Conflicts: []Conflict{}, Failures: []Failure{}}
	if err := o.check(); err != nil {
		return res, err
	}
	if err := prepareJournalDir(o.Journal); err != nil {
		return res, err
	}
	lock, err := statedir.LockFile(o.Journal, o.Command)
	if err != nil {
		return res, err
	}
	defer lock.Unlock()
	sweepSpills(o.Journal)
	st, err := readState(o.Journal)
	if err != nil {
		return res, err
	}
	defer st.close()
	run := &RunInfo{Time: time.Now().UTC(), Bucket: o.Bucket, Share: o.Share}
	for _, t := range o.Templates {
		run.Templates = append(run.Templates, t.String())
	}
	if f := st.first; f != nil && (f.Bucket != run.Bucket || f.Share != run.Share) {
		return res, fmt.Errorf("journal %s is of bucket %s, worker %s; this run is of bucket %s, worker %s: pass each run its own journal", o.Journal, f.Bucket, f.Share, run.Bucket, run.Share)
	}
	j, err := openJournal(o.Journal, st.last)
	if err != nil {
		return res, err
	}
	defer j.close()
	if _, err := j.append(Record{Kind: "start", Run: run}); err != nil {
		return res, err
	}
	c := &copier{api: api, o: o, j: j, st: st, res: &res}
	// Uploads an earlier run left open hold parts nobody will complete.
	for _, u := range st.uploads {
		c.abort(ctx, u.Dest, u.UploadID)
	}
	c.run(ctx)
	if c.journalErr != nil {
		return res, c.journalErr
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	end := *run
	end.Copied, end.Conflicts, end.Failed = res.Copied, int64(len(res.Conflicts)), int64(len(res.Failures))
	if _, err := j.append(Record{Kind: "end", Run: &end}); err != nil {
		return res, err
	}
	if len(res.Conflicts)+len(res.Failures) > 0 {
		return res, &IncompleteError{Conflicts: len(res.Conflicts), Failed: len(res.Failures), Journal: o.Journal}
	}
	return res, nil
}

func (o *Options) check() error {
	switch {
	case o.Bucket == "":
		return errors.New("storage copy: no bucket")
	case len(o.Templates) == 0:
		return errors.New("storage copy: no path template")
	case o.Journal == "":
		return errors.New("storage copy: no journal file")
	case o.PartSize != 0 && o.PartSize < MinPartSize:
		return fmt.Errorf("storage copy: part size %d is below S3's minimum of 5 MiB", o.PartSize)
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MultipartThreshold <= 0 {
		o.MultipartThreshold = DefaultMultipartThreshold
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	return CheckMoves(o.Moves)
}

// mine tells whether a move is in a share: split by the old identity id,
// so every worker, given the moves in any order, takes the same users.
func mine(s dynamo.Share, m Move) bool {
	if s.Whole() {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(m.Old))
	return int(h.Sum32()%uint32(s.Of)) == s.Worker
}

type copyJob struct {
	user int // index in res.Users
	move Move
	obj  types.Object
	src  string
	dest string
	// listed: the listing of the new prefix was walked; seen is what it
	// held at dest (nil: nothing).
	listed bool
	seen   *object
}

type copier struct {
	api API
	o   Options
	j   *journal
	st  *journalState
	res *Result

	mu         sync.Mutex
	journalErr error
	progress   Progress
	users      []userCounts
}

type userCounts struct{ objects, copied, conflicts, failed atomic.Int64 }

func (c *copier) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var moves []Move
	for _, m := range c.o.Moves {
		if mine(c.o.Share, m) {
			moves = append(moves, m)
		}
	}
	c.users = make([]userCounts, len(moves))
	jobs := make(chan copyJob, 2*c.o.Workers)
	var listers sync.WaitGroup
	next := atomic.Int64{}
	for range min(c.o.Workers, len(moves)) {
		listers.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(moves) || ctx.Err() != nil {
					return
				}
				c.list(ctx, i, moves[i], jobs)
			}
		})
	}
	go func() { listers.Wait(); close(jobs) }()
	var workers sync.WaitGroup
	for range c.o.Workers {
		workers.Go(func() {
			for job := range jobs {
				if ctx.Err() != nil {
					continue
				}
				if err := c.copyOne(ctx, job); err != nil {
					// The journal could not be written: nothing more is sent.
					c.mu.Lock()
					c.journalErr = cmpOr(c.journalErr, err)
					c.mu.Unlock()
					cancel()
				}
			}
		})
	}
	workers.Wait()
	for i, m := range moves {
		u := &c.users[i]
		c.res.Users = append(c.res.Users, UserResult{User: m.User, Old: m.Old, New: m.New,
			Objects: u.objects.Load(), Copied: u.copied.Load(), Conflicts: u.conflicts.Load(), Failed: u.failed.Load()})
	}
	slices.SortFunc(c.res.Failures, func(a, b Failure) int { return cmpStr(a.User+"\x00"+a.Key, b.User+"\x00"+b.Key) })
	slices.SortFunc(c.res.Conflicts, func(a, b Conflict) int { return cmpStr(a.Dest, b.Dest) })
}

// list sends a user's objects, page by page, to the workers, each with
// what the listing of the new prefix, walked alongside, holds at its
// destination: one listing call for a thousand objects instead of a
// look at each destination.
func (c *copier) list(ctx context.Context, i int, m Move, jobs chan<- copyJob) {
	for _, t := range c.o.Templates {
		oldp, newp := t.Prefix(m.Old), t.Prefix(m.New)
		olds := newLister(c.api, c.o.Bucket, oldp, c.o.PageSize)
		news := newLister(c.api, c.o.Bucket, newp, c.o.PageSize)
		nrel, nobj, nok, err := news.next(ctx)
		for err == nil {
			var rel string
			var obj object
			var ok bool
			if rel, obj, ok, err = olds.next(ctx); err != nil || !ok {
				break
			}
			for err == nil && nok && nrel < rel {
				nrel, nobj, nok, err = news.next(ctx)
			}
			if err != nil {
				break
			}
			job := copyJob{user: i, move: m, src: obj.Key, dest: newp + rel, listed: true,
				obj: types.Object{Key: &obj.Key, Size: &obj.Size, ETag: &obj.ETag, StorageClass: obj.Class}}
			if nok && nrel == rel {
				seen := nobj
				job.seen = &seen
			}
			select {
			case jobs <- job:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				c.fail(i, m.User, "", fmt.Errorf("list s3://%s: %w", c.o.Bucket, err))
			}
			return
		}
	}
}

func (c *copier) fail(i int, user, key string, err error) {
	c.users[i].failed.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.Failures = append(c.res.Failures, Failure{User: user, Key: key, Error: err.Error()})
	c.progress.Failed++
	c.report()
}

func (c *copier) report() {
	if c.o.Progress != nil {
		c.o.Progress(c.progress)
	}
}

// outcome records what became of one object.
func (c *copier) outcome(job copyJob, kind string, conflict *Conflict) {
	u := &c.users[job.user]
	u.objects.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	size := deref(job.obj.Size)
	c.res.Objects++
	c.res.Bytes += size
	c.progress.Objects++
	c.progress.Bytes += size
	switch kind {
	case "copied":
		u.copied.Add(1)
		c.res.Copied++
		c.progress.Copied++
	case "done":
		c.res.Done++
		c.progress.Done++
	case "identical":
		c.res.Identical++
		c.progress.Identical++
	case "conflict":
		u.conflicts.Add(1)
		c.res.Conflicts = append(c.res.Conflicts, *conflict)
		c.progress.Conflicts++
	}
	c.report()
}

// copyOne copies one object. Only a journal failure is returned: every
// other failure is the object's own, reported in the result.
func (c *copier) copyOne(ctx context.Context, job copyJob) error {
	done, err := c.st.isDone(job.dest)
	if err != nil {
		// The resume's index beside the journal failed: stop, as for the
		// journal itself.
		return err
	}
	if done {
		c.outcome(job, "done", nil)
		return nil
	}
	src := object{Key: job.src, Size: deref(job.obj.Size), ETag: deref(job.obj.ETag)}
	if job.seen != nil && job.seen.Size == src.Size && job.seen.ETag == src.ETag {
		return c.settleExisting(ctx, job, src, *job.seen)
	}
	if job.seen != nil || !job.listed {
		// Something is there, and the listing cannot tell what: a look
		// gives its checksums and version.
		h, err := headObject(ctx, c.api, c.o.Bucket, job.dest)
		switch {
		case err == nil:
			return c.settleExisting(ctx, job, src, fromHead(job.dest, h))
		case !notFound(err):
			c.objectFailed(job, fmt.Errorf("read s3://%s/%s: %w", c.o.Bucket, job.dest, err))
			return nil
		}
	}
	switch job.obj.StorageClass {
	case types.ObjectStorageClassGlacier, types.ObjectStorageClassDeepArchive:
		c.objectFailed(job, fmt.Errorf("s3://%s/%s is archived (%s): restore it (RestoreObject) and run the copy again", c.o.Bucket, job.src, job.obj.StorageClass))
		return nil
	}
	seq, err := c.j.append(Record{Kind: "copy", User: job.move.User, Old: job.move.Old, New: job.move.New, Source: job.src, Dest: job.dest, Size: src.Size, SourceETag: src.ETag})
	if err != nil {
		return err
	}
	faultPoint("journaled")
	var dest object
	if src.Size > c.o.MultipartThreshold {
		dest, err = c.copyParts(ctx, job, src, seq)
	} else {
		dest, err = c.copyWhole(ctx, job, src)
	}
	var exists *existsError
	switch {
	case errors.As(err, &exists):
		// The destination appeared between the look and the copy.
		return c.settleExisting(ctx, job, src, exists.obj)
	case errors.Is(err, errJournalWrite):
		return err
	case err != nil:
		c.objectFailed(job, err)
		return nil
	}
	faultPoint("copied")
	if _, err := c.j.append(Record{Kind: "done", Ref: seq, ETag: dest.ETag, VersionID: dest.VersionID}); err != nil {
		return err
	}
	c.outcome(job, "copied", nil)
	return nil
}

var errJournalWrite = errors.New("journal write failed")

// settleExisting decides about a destination that holds an object: the
// copy of an earlier, killed run (done), the same object (identical, not
// this tool's), or another (a conflict, left).
func (c *copier) settleExisting(ctx context.Context, job copyJob, src, dest object) error {
	same, why := c.same(ctx, src, dest)
	if p, ok := c.st.unsettled[job.dest]; ok && (same || (p.expectETag != "" && p.expectETag == dest.ETag && src.Size == dest.Size)) {
		// An earlier run journaled this copy and was stopped before it
		// could record it done: the object is that copy.
		if _, err := c.j.append(Record{Kind: "done", Ref: p.seq, ETag: dest.ETag, VersionID: dest.VersionID}); err != nil {
			return err
		}
		c.outcome(job, "copied", nil)
		return nil
	}
	rec := Record{Kind: "exists", User: job.move.User, Old: job.move.Old, New: job.move.New, Source: job.src, Dest: job.dest, Size: dest.Size, ETag: dest.ETag}
	if !same {
		rec.Kind, rec.Reason = "conflict", why
	}
	if _, err := c.j.append(rec); err != nil {
		return err
	}
	if same {
		c.outcome(job, "identical", nil)
		return nil
	}
	c.outcome(job, "conflict", &Conflict{User: job.move.User, Source: job.src, Dest: job.dest, Reason: why})
	return nil
}

// same tells whether dest holds src's content, and if not why.
func (c *copier) same(ctx context.Context, src, dest object) (bool, string) {
	if src.Size != dest.Size {
		return false, fmt.Sprintf("another object is there (%d bytes; the old one has %d)", dest.Size, src.Size)
	}
	if src.ETag == dest.ETag {
		return true, ""
	}
	if multipartETag(src.ETag) || multipartETag(dest.ETag) {
		if h, err := headObject(ctx, c.api, c.o.Bucket, src.Key); err == nil {
			if same, ok := sameChecksum(fromHead(src.Key, h), dest); ok {
				if same {
					return true, ""
				}
				return false, "another object is there (same size, another checksum)"
			}
		}
		return false, "an object of the same size is there, but neither its ETag nor a checksum can show it is the same: compare the two by hand"
	}
	return false, "another object is there (same size, another ETag)"
}

func (c *copier) objectFailed(job copyJob, err error) {
	c.users[job.user].objects.Add(1)
	c.mu.Lock()
	c.res.Objects++
	c.res.Bytes += deref(job.obj.Size)
	c.progress.Objects++
	c.progress.Bytes += deref(job.obj.Size)
	c.mu.Unlock()
	c.fail(job.user, job.move.User, job.src, err)
}

// existsError is a copy refused because its destination appeared.
type existsError struct{ obj object }

func (e *existsError) Error() string { return e.obj.Key + " appeared during the copy" }

// whenRefused turns a refused precondition into what it means: the
// destination appeared (If-None-Match), or the source changed since it
// was listed (If-Match).
func (c *copier) whenRefused(ctx context.Context, job copyJob, err error) error {
	if !preconditionFailed(err) {
		return fmt.Errorf("copy s3://%s/%s to %s: %w", c.o.Bucket, job.src, job.dest, err)
	}
	if h, herr := headObject(ctx, c.api, c.o.Bucket, job.dest); herr == nil {
		return &existsError{obj: fromHead(job.dest, h)}
	}
	return fmt.Errorf("copy s3://%s/%s: the object changed while it was being copied: run the copy again", c.o.Bucket, job.src)
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// Survey counts the objects and bytes a copy of the share's moves will
// go through (a listing only), so a caller can show a percentage and an
// ETA.
func Survey(ctx context.Context, api API, bucket string, templates []Template, moves []Move, share dynamo.Share, pageSize int32) (objects, bytes int64, err error) {
	for _, m := range moves {
		if !mine(share, m) {
			continue
		}
		for _, t := range templates {
			prefix := t.Prefix(m.Old)
			in := &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix}
			if pageSize > 0 {
				in.MaxKeys = &pageSize
			}
			for p := s3.NewListObjectsV2Paginator(api, in); p.HasMorePages(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					return objects, bytes, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
				}
				for _, o := range page.Contents {
					objects++
					bytes += deref(o.Size)
				}
			}
		}
	}
	return objects, bytes, nil
}
