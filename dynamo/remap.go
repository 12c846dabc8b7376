package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
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
	Segments int
	Workers  int
	DryRun   bool
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
	Slots    chan struct{}
	Journal  *Journal
	Now      func() time.Time
	Examples int
	Progress func(TableProgress)
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
	err = r.run(ctx)
	res.Scanned, res.Changed, res.AlreadyNew, res.Unmapped, res.Failed, res.Conflicts, res.Moved =
		r.scanned.Load(), r.changed.Load(), r.alreadyNew.Load(), r.unmapped.Load(), r.failed.Load(), r.conflicts.Load(), r.moved.Load()
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

	var scanners sync.WaitGroup
	for seg := 0; seg < r.o.Segments; seg++ {
		scanners.Add(1)
		go func(seg int) {
			defer scanners.Done()
			// Pages of at most scanPage items keep the memory of pages in
			// flight small whatever the item size and the table size.
			in := &dynamodb.ScanInput{TableName: &r.spec.Table, Segment: ptr(int32(seg)), TotalSegments: ptr(int32(r.o.Segments)), ConsistentRead: ptr(true),
				ProjectionExpression: r.projection, ExpressionAttributeNames: r.names, Limit: ptr(int32(scanPage))}
			for {
				out, err := r.api.Scan(ctx, in)
				if err != nil {
					fail(fmt.Errorf("scan %s segment %d: %w", r.spec.Table, seg, err))
					return
				}
				for _, it := range out.Items {
					select {
					case items <- it:
					case <-ctx.Done():
						return
					}
				}
				if len(out.LastEvaluatedKey) == 0 {
					return
				}
				in.ExclusiveStartKey = out.LastEvaluatedKey
			}
		}(seg)
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

// change is what one item needs.
type change struct {
	attrs map[string]types.AttributeValue // new values of changed attributes
	move  bool
}

// plan decides an item's new owner values.
func (r *remapRun) plan(it Item) (change, ValueStatus, bool) {
	c := change{attrs: map[string]types.AttributeValue{}}
	status, had := ValueNew, false
	newStrings := map[string]string{}
	for _, o := range r.spec.Owners {
		av, ok := it[o.Attr]
		if !ok {
			continue
		}
		nv, st, present := r.rewriteAV(o.Claim, av)
		if !present {
			continue
		}
		had = true
		if st == ValueUnmapped && status == ValueNew {
			status = ValueUnmapped
		}
		if nv != nil {
			c.attrs[o.Attr] = nv
			if s, ok := nv.(*types.AttributeValueMemberS); ok {
				newStrings[o.Attr] = s.Value
			}
		}
	}
	for _, comp := range r.spec.Composites {
		touched := false
		oldParts, newParts := make([]string, len(comp.Fields)), make([]string, len(comp.Fields))
		complete := true
		for i, f := range comp.Fields {
			s, ok := it[f].(*types.AttributeValueMemberS)
			if !ok {
				complete = false
				break
			}
			oldParts[i], newParts[i] = s.Value, s.Value
			if nv, ok := newStrings[f]; ok {
				newParts[i], touched = nv, true
			}
		}
		if !touched || !complete {
			continue
		}
		cur, ok := it[comp.Attr].(*types.AttributeValueMemberS)
		if !ok || cur.Value != strings.Join(oldParts, "#") {
			r.note(fmt.Sprintf("%s: item %s: %s is %v, not the fields %v joined by #; left alone", r.spec.Table, KeyString(r.key(it)), comp.Attr, it[comp.Attr], comp.Fields))
			continue
		}
		c.attrs[comp.Attr] = &types.AttributeValueMemberS{Value: strings.Join(newParts, "#")}
	}
	if len(c.attrs) > 0 {
		_, pkChanged := c.attrs[r.pk]
		_, skChanged := c.attrs[r.sk]
		c.move = pkChanged || (r.sk != "" && skChanged)
		return c, ValueChanged, true
	}
	return c, status, had
}

// rewriteAV rewrites a string, or a list or string set element by element.
func (r *remapRun) rewriteAV(claim string, av types.AttributeValue) (types.AttributeValue, ValueStatus, bool) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		nv, st := r.rw.Rewrite(claim, v.Value)
		if st == ValueChanged && nv != v.Value {
			return &types.AttributeValueMemberS{Value: nv}, ValueChanged, true
		}
		if st == ValueChanged {
			st = ValueNew
		}
		return nil, st, true
	case *types.AttributeValueMemberL:
		out := make([]types.AttributeValue, len(v.Value))
		changed, status, had := false, ValueNew, false
		for i, e := range v.Value {
			out[i] = e
			nv, st, h := r.rewriteAV(claim, e)
			had = had || h
			if st == ValueUnmapped {
				status = ValueUnmapped
			}
			if nv != nil {
				out[i], changed = nv, true
			}
		}
		if changed {
			return &types.AttributeValueMemberL{Value: out}, ValueChanged, true
		}
		return nil, status, had
	case *types.AttributeValueMemberSS:
		out := make([]string, len(v.Value))
		changed, status := false, ValueNew
		for i, e := range v.Value {
			out[i] = e
			nv, st := r.rw.Rewrite(claim, e)
			switch {
			case st == ValueChanged && nv != e:
				out[i], changed = nv, true
			case st == ValueUnmapped:
				status = ValueUnmapped
			}
		}
		if changed {
			return &types.AttributeValueMemberSS{Value: out}, ValueChanged, true
		}
		return nil, status, len(v.Value) > 0
	}
	return nil, ValueNew, false
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
			r.note(fmt.Sprintf("%s: item %s holds an owner value of no user in the new pool; left alone", r.spec.Table, KeyString(r.key(it))))
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
		return r.enqueue(ctx, it, c) // counted when its batch is settled
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
		r.note(fmt.Sprintf("%s: item %s changed while the remap ran; left alone (run remap again to pick it up)", r.spec.Table, KeyString(r.key(it))))
	case errors.Is(err, errJournal), ctx.Err() != nil:
		return err
	default:
		r.failed.Add(1)
		r.note(fmt.Sprintf("%s: item %s: %v", r.spec.Table, KeyString(r.key(it)), err))
	}
	return nil
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

var (
	errConflict = errors.New("changed meanwhile")
	errJournal  = errors.New("journal")
)

// versionBump adds DataStore's _version + 1 and _lastChangedAt to a
// change, when the item has a _version.
func (r *remapRun) versionBump(it Item, c change) {
	v, ok := it["_version"].(*types.AttributeValueMemberN)
	if !ok {
		return
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return
	}
	c.attrs["_version"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(n+1, 10)}
	c.attrs["_lastChangedAt"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(r.o.Now().UnixMilli(), 10)}
}

// condition requires every changed attribute to still hold its old value
// (or to be absent if it was).
func condition(it Item, attrs map[string]types.AttributeValue, names map[string]string, values map[string]types.AttributeValue) string {
	keys := make([]string, 0, len(attrs))
	for a := range attrs {
		keys = append(keys, a)
	}
	sort.Strings(keys)
	var parts []string
	for i, a := range keys {
		n := fmt.Sprintf("#c%d", i)
		names[n] = a
		if old, ok := it[a]; ok {
			v := fmt.Sprintf(":c%d", i)
			values[v] = old
			parts = append(parts, n+" = "+v)
		} else {
			parts = append(parts, "attribute_not_exists("+n+")")
		}
	}
	return strings.Join(parts, " AND ")
}

// updateRecord is the journal record of an in-place update.
func (r *remapRun) updateRecord(it Item, c change) (JournalRecord, error) {
	before, after := Item{}, Item{}
	var changed, absent []string
	for a, nv := range c.attrs {
		changed = append(changed, a)
		after[a] = nv
		if old, ok := it[a]; ok {
			before[a] = old
		} else {
			absent = append(absent, a)
		}
	}
	sort.Strings(changed)
	sort.Strings(absent)
	return r.record("update", it, nil, before, after, changed, absent)
}

func (r *remapRun) update(ctx context.Context, it Item, c change) error {
	r.versionBump(it, c)
	rec, err := r.updateRecord(it, c)
	if err != nil {
		return err
	}
	seq, err := r.append(rec)
	if err != nil {
		return err
	}
	var changed []string
	for a := range c.attrs {
		changed = append(changed, a)
	}
	sort.Strings(changed)
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	cond := condition(it, c.attrs, names, values)
	var sets []string
	for i, a := range changed {
		n, v := fmt.Sprintf("#s%d", i), fmt.Sprintf(":s%d", i)
		names[n], values[v] = a, c.attrs[a]
		sets = append(sets, n+" = "+v)
	}
	_, err = r.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &r.spec.Table, Key: r.key(it),
		UpdateExpression:          ptr("SET " + strings.Join(sets, ", ")),
		ConditionExpression:       ptr(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	return r.settle(seq, conditionalError(err))
}

func (r *remapRun) move(ctx context.Context, it Item, c change) error {
	r.versionBump(it, c)
	newItem := Item{}
	for a, v := range it {
		newItem[a] = v
	}
	var changed []string
	for a, v := range c.attrs {
		newItem[a] = v
		changed = append(changed, a)
	}
	sort.Strings(changed)
	newKey := r.key(newItem)
	rec, err := r.record("move", it, newKey, it, newItem, changed, nil)
	if err != nil {
		return err
	}
	seq, err := r.append(rec)
	if err != nil {
		return err
	}
	r.markMoved(newKey, true)
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	cond := condition(it, c.attrs, names, values)
	_, err = r.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &r.spec.Table, Item: newItem, ConditionExpression: ptr("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": r.pk}}},
		{Delete: &types.Delete{TableName: &r.spec.Table, Key: r.key(it), ConditionExpression: &cond, ExpressionAttributeNames: names, ExpressionAttributeValues: values}},
	}})
	if err != nil {
		r.markMoved(newKey, false)
	}
	return r.settle(seq, conditionalError(err))
}

// record builds a journal record.
func (r *remapRun) record(kind string, it, newKey, before, after Item, changed, absent []string) (JournalRecord, error) {
	rec := JournalRecord{Table: r.spec.Table, Kind: kind, Changed: changed, AbsentBefore: absent}
	var err error
	if rec.Key, err = EncodeItem(r.key(it)); err != nil {
		return rec, err
	}
	if newKey != nil {
		if rec.NewKey, err = EncodeItem(newKey); err != nil {
			return rec, err
		}
	}
	if rec.Before, err = EncodeItem(before); err != nil {
		return rec, err
	}
	if rec.After, err = EncodeItem(after); err != nil {
		return rec, err
	}
	return rec, nil
}

// append makes a record durable before its write is sent.
func (r *remapRun) append(rec JournalRecord) (int64, error) {
	if r.o.Journal == nil {
		return 0, fmt.Errorf("%w: no journal to write to", errJournal)
	}
	seq, err := r.o.Journal.Append(rec)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errJournal, err)
	}
	return seq, nil
}

// settle voids the journal record of a write that was refused, so rollback
// knows there is nothing to undo.
func (r *remapRun) settle(seq int64, err error) error {
	if err == nil {
		return nil
	}
	if _, jerr := r.o.Journal.Append(JournalRecord{Table: r.spec.Table, Kind: "void", Void: seq}); jerr != nil {
		return fmt.Errorf("%w: %v", errJournal, jerr)
	}
	return err
}

// conditionalError turns a failed condition (of an update or of either
// half of a transaction) into errConflict.
func conditionalError(err error) error {
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	var tce *types.TransactionCanceledException
	if errors.As(err, &ccf) {
		return errConflict
	}
	if errors.As(err, &tce) {
		for _, reason := range tce.CancellationReasons {
			if reason.Code != nil && *reason.Code == "ConditionalCheckFailed" {
				return errConflict
			}
		}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ConditionalCheckFailedException" {
		return errConflict
	}
	return err
}

func ptr[T any](v T) *T { return &v }

// projection names the attributes an in-place remap needs: the key, the
// owner and composite attributes with their fields, and DataStore's
// version fields. A table where an owner value is part of the key may need
// whole items (to move them), so it is scanned whole.
func projection(spec Spec, pk, sk string) (*string, map[string]string) {
	attrs := map[string]bool{pk: true, "_version": true, "_lastChangedAt": true}
	if sk != "" {
		attrs[sk] = true
	}
	for _, o := range spec.Owners {
		if o.Attr == pk || o.Attr == sk {
			return nil, nil
		}
		attrs[o.Attr] = true
	}
	for _, c := range spec.Composites {
		if c.Attr == pk || c.Attr == sk {
			return nil, nil
		}
		attrs[c.Attr] = true
		for _, f := range c.Fields {
			attrs[f] = true
		}
	}
	names := map[string]string{}
	list := make([]string, 0, len(attrs))
	for a := range attrs {
		list = append(list, a)
	}
	sort.Strings(list)
	parts := make([]string, len(list))
	for i, a := range list {
		n := fmt.Sprintf("#p%d", i)
		names[n], parts[i] = a, n
	}
	return ptr(strings.Join(parts, ", ")), names
}
