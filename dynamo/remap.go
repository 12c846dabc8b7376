package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/time/rate"
)

// TableAPI is the part of the DynamoDB API the remap and rollback use.
type TableAPI interface {
	TableReader
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchAPI
}

// ValueStatus is what a Rewriter found for one owner value.
type ValueStatus int

// Value statuses.
const (
	ValueNew      ValueStatus = iota // already a new identity (or unchanged by the migration)
	ValueChanged                     // an old identity; the new one is returned
	ValueUnmapped                    // no known user: left alone
)

// Rewriter maps an owner value stored with a claim format ("sub",
// "username", "sub::username") from old to new identity.
type Rewriter interface {
	Rewrite(claim, value string) (string, ValueStatus)
}

// OwnerAttr is an attribute holding identities.
type OwnerAttr struct {
	Attr  string
	Claim string
}

// Composite is an attribute the transformer derives by joining fields with
// "#" (a key of two or more sort fields).
type Composite struct {
	Attr   string
	Fields []string
}

// Spec says which attributes of a table hold identities.
type Spec struct {
	Table      string
	Owners     []OwnerAttr
	Composites []Composite
}

// scanPage caps the items a scan page returns.
const scanPage = 500

// RemapOptions configure RemapTable.
type RemapOptions struct {
	// Segments is how many parallel scan segments the table is split into
	// (Scan's TotalSegments; default 4). At most maxScanners of a run's
	// segments are scanned at a time.
	Segments int
	// Share limits the run to one worker's segments when several workers
	// (processes, machines) split the table; the zero Share is all of them.
	Share Share
	// Workers is how many goroutines plan and send writes.
	Workers int
	DryRun  bool
	// Batch is how many in-place updates share one BatchExecuteStatement
	// call (0: BatchSize, the most DynamoDB takes); 1 writes each with its
	// own UpdateItem.
	Batch int
	// Limiter paces writes (nil: as fast as the table takes them).
	Limiter *rate.Limiter
	// Slots, when set, is shared by tables remapped at the same time: a
	// write call (a batch, a transaction) holds a slot, so all of them
	// together keep at most cap(Slots) calls in flight, and a large table can use the whole budget once the
	// small ones are done.
	Slots   chan struct{}
	Journal *Journal
	// Unsettled are the standing writes of the journal's unfinished runs
	// (ReadUnsettled): a write this run makes again voids theirs.
	Unsettled *Unsettled
	Now       func() time.Time
	Examples  int
	Progress  func(TableProgress)
	// Command is the command to run again, named in the notes on items
	// left alone (default "remap"); Unmapped says what a value no rewrite
	// knows is (default "an owner value of no user in the new pool").
	Command  string
	Unmapped string
}

// TableProgress reports a table's remap.
type TableProgress struct {
	Table   string
	Scanned int64
	Changed int64
}

// Example is one change, shown by a dry run.
type Example struct {
	Key  string `json:"key"`
	Attr string `json:"attribute"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

// TableResult is the outcome for one table.
type TableResult struct {
	Table      string `json:"table"`
	Scanned    int64  `json:"scanned"`
	Changed    int64  `json:"changed"`
	AlreadyNew int64  `json:"alreadyNew"`
	Unmapped   int64  `json:"unmapped"`
	Failed     int64  `json:"failed"`
	// Conflicts are items the app changed between scan and write: left
	// alone.
	Conflicts int64     `json:"conflicts"`
	Moved     int64     `json:"moved"`
	Examples  []Example `json:"examples,omitempty"`
	Problems  []string  `json:"problems,omitempty"`
	// Fallback is set when in-place updates were written one UpdateItem
	// each because the engine refused their batches.
	Fallback *Fallback `json:"fallback,omitempty"`
}

// RemapTable rewrites every owner value of a table from old to new
// identity: a parallel, paginated scan feeds concurrent writers; each write
// is journaled first and made conditional on the old values still being
// there, so an app writing at the same time is never overwritten. A changed
// key attribute moves the item (put new, delete old, in one transaction).
// Items of DataStore tables get _version incremented and _lastChangedAt set
// so that clients sync the change. Running it again changes nothing.
func RemapTable(ctx context.Context, api TableAPI, spec Spec, rw Rewriter, o RemapOptions) (TableResult, error) {
	res := TableResult{Table: spec.Table}
	desc, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &spec.Table})
	if err != nil {
		return res, fmt.Errorf("describe table %s: %w", spec.Table, err)
	}
	pk, sk := keyNames(desc.Table.KeySchema)
	r := &remapRun{api: api, spec: spec, rw: rw, o: o, pk: pk, sk: sk, res: &res}
	r.projection, r.names = projection(spec, pk, sk)
	if r.o.Segments <= 0 {
		r.o.Segments = 4
	}
	if r.o.Workers <= 0 {
		r.o.Workers = 32
	}
	if r.o.Batch <= 0 || r.o.Batch > BatchSize {
		r.o.Batch = BatchSize
	}
	if r.o.Now == nil {
		r.o.Now = time.Now
	}
	if r.o.Command == "" {
		r.o.Command = "remap"
	}
	if r.o.Unmapped == "" {
		r.o.Unmapped = "an owner value of no user in the new pool"
	}
	if err := r.o.Share.check(r.o.Segments); err != nil {
		return res, err
	}
	err = r.run(ctx)
	res.Scanned, res.Changed, res.AlreadyNew, res.Unmapped, res.Failed, res.Conflicts, res.Moved =
		r.scanned.Load(), r.changed.Load(), r.alreadyNew.Load(), r.unmapped.Load(), r.failed.Load(), r.conflicts.Load(), r.moved.Load()
	res.Fallback = r.batching.result()
	return res, err
}

type remapRun struct {
	api    TableAPI
	spec   Spec
	rw     Rewriter
	o      RemapOptions
	pk, sk string
	res    *TableResult
	// projection limits the scan to the attributes the remap reads, unless
	// an item may move (then it is copied whole).
	projection *string
	names      map[string]string

	// pending are in-place updates waiting to fill a batch.
	bmu     sync.Mutex
	pending []pendingUpdate
	// batching tracks refused batches.
	batching batching

	mu sync.Mutex
	// movedTo holds the keys this run moved items to: a scan still going
	// may meet them, and they are not items of the table as it was.
	movedTo map[string]bool

	scanned, changed, alreadyNew, unmapped, failed, conflicts, moved atomic.Int64
}

func (r *remapRun) note(problem string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.res.Problems) < 20 {
		r.res.Problems = append(r.res.Problems, problem)
	}
}

func (r *remapRun) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan Item, r.o.Workers*4)
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err; cancel() }) }

	segments := make(chan int)
	go func() {
		defer close(segments)
		for _, seg := range r.o.Share.Segments(r.o.Segments) {
			select {
			case segments <- seg:
			case <-ctx.Done():
				return
			}
		}
	}()
	var scanners sync.WaitGroup
	for range min(len(r.o.Share.Segments(r.o.Segments)), maxScanners) {
		scanners.Add(1)
		go func() {
			defer scanners.Done()
			for seg := range segments {
				if err := r.scanSegment(ctx, seg, items); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	var writers sync.WaitGroup
	for w := 0; w < r.o.Workers; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for it := range items {
				if err := r.item(ctx, it); err != nil {
					fail(err)
				}
			}
		}()
	}
	scanners.Wait()
	close(items)
	writers.Wait()
	if firstErr == nil && ctx.Err() == nil {
		if err := r.flushRest(ctx); err != nil {
			fail(err)
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// maxScanners bounds the segments of a run scanned at a time: a worker
// with hundreds of segments scans them a few at a time, keeping the pages
// in memory few; the writes, not the scan, set the pace.
const maxScanners = 8

// scanSegment feeds the items of one scan segment to the writers.
func (r *remapRun) scanSegment(ctx context.Context, seg int, items chan<- Item) error {
	// Pages of at most scanPage items keep the memory of pages in flight
	// small whatever the item size and the table size.
	in := &dynamodb.ScanInput{TableName: &r.spec.Table, Segment: ptr(int32(seg)), TotalSegments: ptr(int32(r.o.Segments)), ConsistentRead: ptr(true),
		ProjectionExpression: r.projection, ExpressionAttributeNames: r.names, Limit: ptr(int32(scanPage))}
	for {
		out, err := r.api.Scan(ctx, in)
		if err != nil {
			return fmt.Errorf("scan %s segment %d: %w", r.spec.Table, seg, err)
		}
		for _, it := range out.Items {
			select {
			case items <- it:
			case <-ctx.Done():
				return nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func (r *remapRun) key(it Item) Item {
	k := Item{r.pk: it[r.pk]}
	if r.sk != "" {
		k[r.sk] = it[r.sk]
	}
	return k
}

func (r *remapRun) item(ctx context.Context, it Item) error {
	if r.isMoved(it) {
		return nil
	}
	r.scanned.Add(1)
	defer r.progress()
	c, st, had := r.plan(it)
	switch {
	case st == ValueUnmapped:
		r.unmapped.Add(1)
		if r.unmapped.Load() <= 5 {
			r.note(fmt.Sprintf("%s: item %s holds %s; left alone", r.spec.Table, KeyString(r.key(it)), r.o.Unmapped))
		}
		return nil
	case st == ValueNew:
		if had {
			r.alreadyNew.Add(1)
		}
		return nil
	}
	if r.o.DryRun {
		r.changed.Add(1)
		if c.move {
			r.moved.Add(1) // what the real run would move
		}
		r.example(it, c)
		return nil
	}
	if r.o.Limiter != nil {
		if err := r.o.Limiter.Wait(ctx); err != nil {
			return err
		}
	}
	if !c.move && r.o.Batch > 1 {
		if !r.batching.refused() {
			return r.enqueue(ctx, it, c) // counted when its batch is settled
		}
		r.batching.items.Add(1)
	}
	if r.o.Slots != nil {
		select {
		case r.o.Slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-r.o.Slots }()
	}
	var err error
	if c.move {
		err = r.move(ctx, it, c)
	} else {
		err = r.update(ctx, it, c)
	}
	switch {
	case err == nil:
		r.changed.Add(1)
		if c.move {
			r.moved.Add(1)
		}
	case errors.Is(err, errConflict):
		r.conflicts.Add(1)
		r.noteConflict(it)
	case errors.Is(err, errJournal), ctx.Err() != nil:
		return err
	default:
		r.failed.Add(1)
		r.note(fmt.Sprintf("%s: item %s: %v", r.spec.Table, KeyString(r.key(it)), err))
	}
	return nil
}

// noteConflict names an item the app changed between the scan and the
// write.
func (r *remapRun) noteConflict(it Item) {
	r.note(fmt.Sprintf("%s: item %s changed while the remap ran; left alone (run %s again to pick it up)", r.spec.Table, KeyString(r.key(it)), r.o.Command))
}

func (r *remapRun) isMoved(it Item) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.movedTo[KeyString(r.key(it))]
}

// markMoved records (or, when the move failed, forgets) a new key before
// the write that creates it, so the scan never counts it.
func (r *remapRun) markMoved(key Item, moved bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.movedTo == nil {
		r.movedTo = map[string]bool{}
	}
	if moved {
		r.movedTo[KeyString(key)] = true
	} else {
		delete(r.movedTo, KeyString(key))
	}
}

func (r *remapRun) progress() {
	if r.o.Progress != nil {
		r.o.Progress(TableProgress{Table: r.spec.Table, Scanned: r.scanned.Load(), Changed: r.changed.Load()})
	}
}

func (r *remapRun) example(it Item, c change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.res.Examples) >= max(r.o.Examples, 3) {
		return
	}
	names := make([]string, 0, len(c.attrs))
	for a := range c.attrs {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, a := range names {
		r.res.Examples = append(r.res.Examples, Example{Key: KeyString(r.key(it)), Attr: a, Old: show(it[a]), New: show(c.attrs[a])})
	}
}

func show(av types.AttributeValue) string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *types.AttributeValueMemberSS:
		return "[" + strings.Join(v.Value, ", ") + "]"
	case nil:
		return "(none)"
	}
	return fmt.Sprintf("%v", av)
}

func ptr[T any](v T) *T { return &v }
