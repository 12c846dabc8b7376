package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Fallback says why a table's in-place updates were written one UpdateItem
// each instead of in batches. PartiQL has limits UpdateItem does not
// (statement size, names that need quoting), IAM policies may allow
// dynamodb:UpdateItem but not dynamodb:PartiQLUpdate, and engines other
// than DynamoDB may parse only part of PartiQL: a refused batch is written
// again item by item rather than failed.
type Fallback struct {
	// Reason is the first refusal, as the engine worded it.
	Reason string `json:"reason"`
	// Items counts the updates written one UpdateItem each.
	Items int64 `json:"items"`
	// BatchingStopped is set when the engine refused whole calls
	// RefusedInARow times with none accepted in between: the rest of the
	// table went one UpdateItem an item, without trying batches.
	BatchingStopped bool `json:"batchingStopped"`
}

// RefusedInARow is how many BatchExecuteStatement calls refused whole, one
// after another with none accepted, stop a table's batching. One refusal
// can be a passing fault, and batches are 25 times cheaper where they
// work; but an engine that refuses the call kind costs a wasted round trip
// (and the client's retries of a 500) per 25 items for the whole table.
// Three in a row, with no call accepted between, is the call kind refused.
const RefusedInARow = 3

// batching tracks how a table's engine answers batches.
type batching struct {
	inARow  atomic.Int32
	stopped atomic.Bool
	items   atomic.Int64
	mu      sync.Mutex
	reason  string
}

func (b *batching) refused() bool { return b.stopped.Load() }

func (b *batching) accepted() { b.inARow.Store(0) }

func (b *batching) note(reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reason == "" {
		b.reason = reason
	}
}

// callRefused records a call refused whole.
func (b *batching) callRefused(err error) {
	b.note("BatchExecuteStatement refused: " + errorText(err))
	b.allRefused()
}

// allRefused records a call of which every statement was refused: the
// same as a call refused whole.
func (b *batching) allRefused() {
	if b.inARow.Add(1) >= RefusedInARow {
		b.stopped.Store(true)
	}
}

// statementRefused records one statement the engine refused.
func (b *batching) statementRefused(serr *types.BatchStatementError) {
	b.note(fmt.Sprintf("BatchExecuteStatement refused a statement: %s: %s", serr.Code, deref(serr.Message)))
}

// result is the table's Fallback, or nil when every batch went through.
func (b *batching) result() *Fallback {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reason == "" && b.items.Load() == 0 {
		return nil
	}
	return &Fallback{Reason: b.reason, Items: b.items.Load(), BatchingStopped: b.stopped.Load()}
}

// fallBack writes one update a batch did not, with UpdateItem, under the
// record the batch journaled. unsure says the refused call may have made
// the write all the same: then a failed condition is checked against the
// item, which holds the new values if the call did make it.
func (r *remapRun) fallBack(ctx context.Context, p pendingUpdate, unsure bool) writeOutcome {
	r.batching.items.Add(1)
	err := conditionalError(r.sendUpdate(ctx, p.it, p.c))
	switch {
	case err == nil:
		return writeOutcome{}
	case errors.Is(err, errConflict):
		if unsure {
			cur, gerr := getItem(ctx, r.api, r.spec.Table, r.key(p.it))
			if gerr == nil && cur != nil && holds(cur, p.c.attrs, sortedKeys(p.c.attrs)) {
				return writeOutcome{} // the refused call had made it
			}
		}
		return writeOutcome{err: errConflict, void: true}
	}
	return writeOutcome{err: err, void: !unsure && notMade(err)}
}

func sortedKeys(m map[string]types.AttributeValue) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// errorText is an error as the service worded it (its code and message),
// without the SDK's request details.
func errorText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

// throttled tells the errors that mean "not now": the SDK's own list of
// throttling codes (ThrottlingException, ProvisionedThroughputExceeded-
// Exception, RequestLimitExceeded, ...), and a transaction holding an item.
func throttled(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	_, ok := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]
	return ok || ae.ErrorCode() == "TransactionConflictException"
}

// retryThrottlingOnly keeps the client's retries of a BatchExecuteStatement
// call for throttling: a call refused otherwise (an engine answering 500
// to a statement it cannot parse) is written item by item at once, not
// retried with backoff first (the CLI's retryer makes ten attempts with up
// to 20 s between them).
func retryThrottlingOnly(o *dynamodb.Options) {
	if o.Retryer != nil {
		o.Retryer = throttlingOnly{o.Retryer}
	}
}

type throttlingOnly struct{ aws.Retryer }

func (t throttlingOnly) IsErrorRetryable(err error) bool {
	return throttled(err) && t.Retryer.IsErrorRetryable(err)
}

func (t throttlingOnly) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if v2, ok := t.Retryer.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return t.Retryer.GetInitialToken(), nil
}
