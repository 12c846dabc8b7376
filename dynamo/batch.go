package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// BatchSize is how many in-place updates go out in one
// BatchExecuteStatement call, DynamoDB's limit. Against AWS a call costs a
// round trip and the SDK's work whatever it carries, so 25 items a call is
// what makes a remap of millions of items faster than any one-write-a-call
// loop.
const BatchSize = 25

// BatchAPI is the PartiQL batch call the remap writes with.
type BatchAPI interface {
	BatchExecuteStatement(ctx context.Context, in *dynamodb.BatchExecuteStatementInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchExecuteStatementOutput, error)
}

// pendingUpdate is an in-place update waiting for its batch.
type pendingUpdate struct {
	it Item
	c  change
}

// statementRetries bounds the re-sending of statements DynamoDB answered
// with a retryable error (throttling, a transaction in the way).
const statementRetries = 8

// enqueue adds an in-place update to the table's batch; the caller that
// fills the batch sends it.
func (r *remapRun) enqueue(ctx context.Context, it Item, c change) error {
	r.bmu.Lock()
	r.pending = append(r.pending, pendingUpdate{it, c})
	if len(r.pending) < BatchSize {
		r.bmu.Unlock()
		return nil
	}
	batch := r.pending
	r.pending = nil
	r.bmu.Unlock()
	return r.flush(ctx, batch)
}

// flushRest sends the last, partial batch.
func (r *remapRun) flushRest(ctx context.Context) error {
	r.bmu.Lock()
	batch := r.pending
	r.pending = nil
	r.bmu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	return r.flush(ctx, batch)
}

// writeOutcome is what became of one journaled write: made (err nil), a
// conflict (errConflict) or a failure; void when it was certainly not made,
// so its record is voided.
type writeOutcome struct {
	err  error
	void bool
}

// flush journals a batch (one fsync for all), sends it as conditional
// PartiQL updates in one call, and settles each statement by its own
// result: done, a conflict (the app changed the item: left alone, record
// voided) or a failure. Statements the engine refuses (the call, or each
// on its own) for any reason but a failed condition or throttling are
// written again one UpdateItem each, under the same journal record.
func (r *remapRun) flush(ctx context.Context, batch []pendingUpdate) error {
	if r.o.Journal == nil {
		return fmt.Errorf("%w: no journal to write to", errJournal)
	}
	recs := make([]JournalRecord, len(batch))
	stmts := make([]types.BatchStatementRequest, len(batch))
	for i, p := range batch {
		r.versionBump(p.it, p.c)
		rec, err := r.updateRecord(p.it, p.c)
		if err != nil {
			return err
		}
		recs[i] = rec
		stmts[i] = r.statement(p.it, p.c)
	}
	faultPoint("before-journal:batch")
	seqs, err := r.o.Journal.AppendBatch(recs)
	if err != nil {
		return fmt.Errorf("%w: %v", errJournal, err)
	}
	faultPoint("journaled:batch")
	if r.o.Slots != nil {
		select {
		case r.o.Slots <- struct{}{}:
		case <-ctx.Done():
			return r.voidAll(seqs, ctx.Err())
		}
		defer func() { <-r.o.Slots }()
	}
	out := make([]writeOutcome, len(batch))
	var again []int
	unsure := false
	if r.batching.refused() {
		again = make([]int, len(batch))
		for i := range again {
			again[i] = i
		}
	} else {
		again, unsure = r.sendBatch(ctx, stmts, out)
	}
	for _, i := range again {
		if ctx.Err() != nil {
			out[i] = writeOutcome{err: ctx.Err(), void: !unsure}
			continue
		}
		out[i] = r.fallBack(ctx, batch[i], unsure)
		faultPoint("mid-batch:fallback") // some of the batch written one by one, the rest not
	}
	faultPoint("written:batch")
	for i, o := range out {
		if o.void {
			if err := r.void(seqs[i], o.err); errors.Is(err, errJournal) {
				return err
			}
		}
		switch {
		case o.err == nil:
			if err := r.supersede(recs[i]); err != nil {
				return err
			}
			r.changed.Add(1)
		case errors.Is(o.err, errConflict):
			r.conflicts.Add(1)
			r.noteConflict(batch[i].it)
		case ctx.Err() != nil:
		default:
			r.failed.Add(1)
			r.note(fmt.Sprintf("%s: item %s: %v", r.spec.Table, KeyString(r.key(batch[i].it)), o.err))
		}
		faultPoint("mid-batch:settle") // some outcomes of the batch journaled, the rest not
	}
	return ctx.Err()
}

// sendBatch sends the statements in one call, re-sending those DynamoDB
// throttled, and fills out. It returns the statements to write again one
// UpdateItem each (the engine refused them), and whether they may have
// been made all the same (the call failed without a clear refusal).
func (r *remapRun) sendBatch(ctx context.Context, stmts []types.BatchStatementRequest, out []writeOutcome) (again []int, unsure bool) {
	todo := make([]int, len(stmts))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(backoff(attempt - 1)):
			case <-ctx.Done():
				for _, i := range todo {
					out[i] = writeOutcome{err: ctx.Err(), void: true}
				}
				return again, unsure
			}
		}
		in := &dynamodb.BatchExecuteStatementInput{Statements: make([]types.BatchStatementRequest, len(todo))}
		for j, i := range todo {
			in.Statements[j] = stmts[i]
		}
		res, err := r.api.BatchExecuteStatement(ctx, in, retryThrottlingOnly)
		if err != nil {
			switch {
			case ctx.Err() != nil:
				// The call may have been made: the records stay, and
				// rollback checks each item.
				for _, i := range todo {
					out[i] = writeOutcome{err: ctx.Err()}
				}
				return again, unsure
			case throttled(err) && attempt < statementRetries:
				continue
			case throttled(err):
				for _, i := range todo {
					out[i] = writeOutcome{err: err, void: true}
				}
				return again, unsure
			}
			r.batching.callRefused(err)
			return append(again, todo...), !notMade(err)
		}
		var retry []int
		refused := 0
		for j, i := range todo {
			var serr *types.BatchStatementError
			if j < len(res.Responses) {
				serr = res.Responses[j].Error
			} else {
				serr = &types.BatchStatementError{Code: types.BatchStatementErrorCodeEnumInternalServerError, Message: ptr("no response for the statement")}
			}
			switch {
			case serr == nil:
				out[i] = writeOutcome{}
			case serr.Code == types.BatchStatementErrorCodeEnumConditionalCheckFailed:
				out[i] = writeOutcome{err: errConflict, void: true}
			case statementThrottled(serr.Code) && attempt < statementRetries:
				retry = append(retry, i)
			case statementThrottled(serr.Code):
				out[i] = writeOutcome{err: fmt.Errorf("%s: %s", serr.Code, deref(serr.Message)), void: true}
			default:
				r.batching.statementRefused(serr)
				again = append(again, i)
				refused++
			}
		}
		if refused == len(todo) {
			r.batching.allRefused()
		} else {
			r.batching.accepted()
		}
		todo = retry
	}
	return again, unsure
}

// voidAll voids the records of a batch that was never sent.
func (r *remapRun) voidAll(seqs []int64, cause error) error {
	for _, s := range seqs {
		if err := r.void(s, cause); errors.Is(err, errJournal) {
			return err
		}
	}
	return cause
}

// statementThrottled tells the statement errors that say "not now":
// throttling, and a transaction holding the item.
func statementThrottled(code types.BatchStatementErrorCodeEnum) bool {
	switch code {
	case types.BatchStatementErrorCodeEnumThrottlingError, types.BatchStatementErrorCodeEnumProvisionedThroughputExceeded,
		types.BatchStatementErrorCodeEnumRequestLimitExceeded, types.BatchStatementErrorCodeEnumTransactionConflict:
		return true
	}
	return false
}

func backoff(attempt int) time.Duration {
	d := 20 * time.Millisecond << min(attempt, 6)
	return d
}

// statement is the PartiQL form of an in-place update: SET each new value
// WHERE the key matches AND each changed attribute still holds its old
// value (or is still missing), the same condition UpdateItem would carry.
func (r *remapRun) statement(it Item, c change) types.BatchStatementRequest {
	names := make([]string, 0, len(c.attrs))
	for a := range c.attrs {
		names = append(names, a)
	}
	sort.Strings(names)
	var b strings.Builder
	var params []types.AttributeValue
	b.WriteString("UPDATE ")
	b.WriteString(quoteIdent(r.spec.Table))
	for _, a := range names {
		b.WriteString(" SET ")
		b.WriteString(quoteIdent(a))
		b.WriteString("=?")
		params = append(params, c.attrs[a])
	}
	b.WriteString(" WHERE ")
	b.WriteString(quoteIdent(r.pk))
	b.WriteString("=?")
	params = append(params, it[r.pk])
	if r.sk != "" {
		b.WriteString(" AND ")
		b.WriteString(quoteIdent(r.sk))
		b.WriteString("=?")
		params = append(params, it[r.sk])
	}
	for _, a := range names {
		b.WriteString(" AND ")
		b.WriteString(quoteIdent(a))
		if old, ok := it[a]; ok {
			b.WriteString("=?")
			params = append(params, old)
		} else {
			b.WriteString(" IS MISSING")
		}
	}
	return types.BatchStatementRequest{Statement: ptr(b.String()), Parameters: params}
}

// quoteIdent quotes a table or attribute name for PartiQL ("status#owner"
// and the like need it).
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
