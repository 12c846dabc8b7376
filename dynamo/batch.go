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

// flush journals a batch (one fsync for all), sends it as conditional
// PartiQL updates in one call, and settles each statement by its own
// result: done, a conflict (the app changed the item: left alone, record
// voided) or a failure.
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
	seqs, err := r.o.Journal.AppendBatch(recs)
	if err != nil {
		return fmt.Errorf("%w: %v", errJournal, err)
	}
	if r.o.Slots != nil {
		select {
		case r.o.Slots <- struct{}{}:
		case <-ctx.Done():
			return r.voidAll(seqs, ctx.Err())
		}
		defer func() { <-r.o.Slots }()
	}
	results := make([]error, len(batch))
	todo := make([]int, len(batch))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; len(todo) > 0; attempt++ {
		in := &dynamodb.BatchExecuteStatementInput{Statements: make([]types.BatchStatementRequest, len(todo))}
		for j, i := range todo {
			in.Statements[j] = stmts[i]
		}
		out, err := r.api.BatchExecuteStatement(ctx, in)
		if err != nil {
			if ctx.Err() != nil {
				return r.voidAll(seqs, ctx.Err())
			}
			for _, i := range todo {
				results[i] = err
			}
			break
		}
		var again []int
		for j, i := range todo {
			var serr *types.BatchStatementError
			if j < len(out.Responses) {
				serr = out.Responses[j].Error
			} else {
				serr = &types.BatchStatementError{Code: types.BatchStatementErrorCodeEnumInternalServerError, Message: ptr("no response for the statement")}
			}
			switch {
			case serr == nil:
				results[i] = nil
			case serr.Code == types.BatchStatementErrorCodeEnumConditionalCheckFailed:
				results[i] = errConflict
			case retryable(serr.Code) && attempt < statementRetries:
				again = append(again, i)
			default:
				results[i] = fmt.Errorf("%s: %s", serr.Code, deref(serr.Message))
			}
		}
		todo = again
		if len(todo) > 0 {
			select {
			case <-time.After(backoff(attempt)):
			case <-ctx.Done():
				return r.voidAll(seqs, ctx.Err())
			}
		}
	}
	for i, err := range results {
		if serr := r.settle(seqs[i], err); errors.Is(serr, errJournal) {
			return serr
		}
		switch {
		case err == nil:
			r.changed.Add(1)
		case errors.Is(err, errConflict):
			r.conflicts.Add(1)
			r.note(fmt.Sprintf("%s: item %s changed while the remap ran; left alone (run remap again to pick it up)", r.spec.Table, KeyString(r.key(batch[i].it))))
		default:
			r.failed.Add(1)
			r.note(fmt.Sprintf("%s: item %s: %v", r.spec.Table, KeyString(r.key(batch[i].it)), err))
		}
	}
	return nil
}

// voidAll voids the records of a batch that was never sent.
func (r *remapRun) voidAll(seqs []int64, cause error) error {
	for _, s := range seqs {
		if err := r.settle(s, cause); errors.Is(err, errJournal) {
			return err
		}
	}
	return cause
}

func retryable(code types.BatchStatementErrorCodeEnum) bool {
	switch code {
	case types.BatchStatementErrorCodeEnumThrottlingError, types.BatchStatementErrorCodeEnumProvisionedThroughputExceeded,
		types.BatchStatementErrorCodeEnumRequestLimitExceeded, types.BatchStatementErrorCodeEnumInternalServerError,
		types.BatchStatementErrorCodeEnumTransactionConflict:
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
