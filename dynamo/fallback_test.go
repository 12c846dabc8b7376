package dynamo

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/testbed/ddbproxy"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

const fallbackItems = 120

// An engine that refuses BatchExecuteStatement, whole or statement by
// statement, gets every update all the same, one UpdateItem each: the
// table ends exactly remapped, the journal holds each write made once,
// and rollback restores the table exactly. The client retries as the
// CLI's does (ten attempts, up to 20 s apart), so a remap that retried
// refused batches would stall here.
func TestRemapFallsBackWhenBatchesAreRefused(t *testing.T) {
	env := testenv.Require(t)
	refusedVersion := func(stmt string) *ddbproxy.Refusal {
		if strings.Contains(stmt, `"_version"`) {
			return &ddbproxy.Refusal{Code: "ValidationError", Message: "Unsupported attribute name: _version"}
		}
		return nil
	}
	var seen atomic.Int32
	throttledFirst := func(string) *ddbproxy.Refusal {
		if seen.Add(1) <= 30 {
			return &ddbproxy.Refusal{Code: "ThrottlingError", Message: "Throughput exceeds the current capacity for one or more global secondary indexes"}
		}
		return nil
	}
	cases := []struct {
		name   string
		opt    ddbproxy.Option
		reason string
		// stopped: batches were given up for the table; else the count
		// of items that fell back.
		stopped  bool
		fellBack int64
	}{
		{"every call refused with HTTP 500", ddbproxy.RefuseBatchCalls(ddbproxy.Refusal{Status: 500, Code: "InternalServerError", Message: "PartiQL parser: unexpected token"}),
			"BatchExecuteStatement refused: InternalServerError: PartiQL parser: unexpected token", true, fallbackItems},
		{"every call refused as invalid", ddbproxy.RefuseBatchCalls(ddbproxy.Refusal{Status: 400, Code: "ValidationException", Message: "Statement not supported"}),
			"BatchExecuteStatement refused: ValidationException: Statement not supported", true, fallbackItems},
		{"some statements refused", ddbproxy.RefuseStatements(refusedVersion),
			"BatchExecuteStatement refused a statement: ValidationError: Unsupported attribute name: _version", false, fallbackItems / 3},
		// Throttling is no reason to fall back: the statements go again in
		// a batch.
		{"statements throttled", ddbproxy.RefuseStatements(throttledFirst), "", false, 0},
		{"answers lost after the writes", ddbproxy.LoseBatchAnswers(ddbproxy.Refusal{Status: 500, Code: "InternalServerError", Message: "connection reset"}),
			"BatchExecuteStatement refused: InternalServerError: connection reset", true, fallbackItems},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			table := makeTable(t, env)
			rw := fillFallbackTable(t, env, table)
			before := dumpTable(t, env.Dynamo, table)
			proxy, api := proxied(t, tc.opt)
			j, err := OpenJournal(filepath.Join(t.TempDir(), "j.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			res, err := RemapTable(ctx, api, Spec{Table: table, Owners: []OwnerAttr{{Attr: "userID", Claim: "sub"}}}, rw, RemapOptions{Journal: j, Segments: 2, Workers: 4})
			if err != nil {
				t.Fatal(err)
			}
			if res.Changed != fallbackItems || res.Failed != 0 || res.Conflicts != 0 {
				t.Fatalf("result: %+v", res)
			}
			fb := res.Fallback
			switch {
			case tc.reason == "" && fb != nil:
				t.Fatalf("fallback: %+v", fb)
			case tc.reason != "" && (fb == nil || fb.Reason != tc.reason || fb.BatchingStopped != tc.stopped || fb.Items != tc.fellBack):
				t.Fatalf("fallback: %+v", fb)
			}
			if _, stmts := proxy.Refused(); tc.reason == "" && stmts != 30 {
				t.Errorf("%d statements throttled, want 30", stmts)
			}
			calls := proxy.Calls("BatchExecuteStatement")
			// Batches already on their way when the third refusal came
			// back are answered too (4 writers: at most 3 more).
			if tc.stopped && (calls < RefusedInARow || calls > RefusedInARow+3) {
				t.Errorf("%d BatchExecuteStatement calls: batching goes on for %d refused calls, then stops", calls, RefusedInARow)
			}
			if !tc.stopped && calls < fallbackItems/BatchSize {
				t.Errorf("%d BatchExecuteStatement calls: batches must go on where they work", calls)
			}
			expectFallbackRemapped(t, env, table, before)
			expectJournalExact(t, env, j.Path(), res.Changed)
			rb, err := Rollback(ctx, env.Dynamo, j.Path(), nil)
			if err != nil || len(rb.Conflicts) != 0 || rb.Reverted != fallbackItems {
				t.Fatalf("rollback: %+v, %v", rb, err)
			}
			if after := dumpTable(t, env.Dynamo, table); !reflect.DeepEqual(after, before) {
				t.Error("rollback did not restore the table exactly")
			}
		})
	}
}

// proxied is a client that reaches DynamoDB Local through a ddbproxy, and
// retries as the CLI's client does.
func proxied(t *testing.T, opts ...ddbproxy.Option) (*ddbproxy.Proxy, *dynamodb.Client) {
	t.Helper()
	p, err := ddbproxy.New(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts, o.MaxBackoff, o.RateLimiter = 10, 20*time.Second, ratelimit.None
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	return p, dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.DisableValidateResponseChecksum = true // DynamoDB Local omits x-amz-crc32 on errors
	})
}

// fillFallbackTable writes items owned by old users, one in three a
// DataStore item (with _version), and returns the identity map.
func fillFallbackTable(t *testing.T, env *testenv.Env, table string) mapRewriter {
	t.Helper()
	rw := mapRewriter{}
	for i := 0; i < fallbackItems; i++ {
		old := fmt.Sprintf("old-%03d", i)
		rw[old] = fmt.Sprintf("new-%03d", i)
		it := Item{"id": &types.AttributeValueMemberS{Value: fmt.Sprintf("i%03d", i)}, "userID": &types.AttributeValueMemberS{Value: old}, "title": &types.AttributeValueMemberS{Value: "note"}}
		if i%3 == 0 {
			it["_version"] = &types.AttributeValueMemberN{Value: "1"}
		}
		if _, err := env.Dynamo.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &table, Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	return rw
}

// dumpTable reads a table whole: item key → the item's JSON.
func dumpTable(t *testing.T, api TableAPI, table string) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := dynamodb.NewScanPaginator(api, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			data, err := EncodeItem(it)
			if err != nil {
				t.Fatal(err)
			}
			out[KeyString(Item{"id": it["id"]})] = string(data)
		}
	}
	return out
}

// expectFallbackRemapped checks each item against its state before: the
// owner is the new one, DataStore's _version went up by one (once), and
// nothing else changed but _lastChangedAt.
func expectFallbackRemapped(t *testing.T, env *testenv.Env, table string, before map[string]string) {
	t.Helper()
	after := dumpTable(t, env.Dynamo, table)
	if len(after) != len(before) {
		t.Fatalf("%d items, %d before", len(after), len(before))
	}
	for key, was := range before {
		old, _ := DecodeItem([]byte(was))
		now, _ := DecodeItem([]byte(after[key]))
		want := Item{}
		for k, v := range old {
			want[k] = v
		}
		want["userID"] = &types.AttributeValueMemberS{Value: strings.Replace(old["userID"].(*types.AttributeValueMemberS).Value, "old-", "new-", 1)}
		if _, ok := old["_version"]; ok {
			want["_version"] = &types.AttributeValueMemberN{Value: "2"}
			want["_lastChangedAt"] = now["_lastChangedAt"]
			if now["_lastChangedAt"] == nil {
				t.Errorf("%s: no _lastChangedAt", key)
			}
		}
		if !reflect.DeepEqual(show(now["userID"]), show(want["userID"])) || len(now) != len(want) || show(now["_version"]) != show(want["_version"]) || show(now["title"]) != show(want["title"]) {
			t.Errorf("%s:\n got %s\nwant %v", key, after[key], want)
		}
	}
}

// expectJournalExact checks the journal against the table: one standing
// (not voided) record per item written, each holding what the item now
// holds, as many as the items changed.
func expectJournalExact(t *testing.T, env *testenv.Env, path string, changed int64) {
	t.Helper()
	voided := map[int64]bool{}
	var writes []JournalRecord
	if err := ReadJournal(path, func(r JournalRecord) error {
		if r.Kind == "void" {
			voided[r.Void] = true
		} else if r.IsWrite() {
			writes = append(writes, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	perItem := map[string]int{}
	for _, w := range writes {
		if voided[w.Seq] {
			continue
		}
		key, _ := DecodeItem(w.Key)
		after, _ := DecodeItem(w.After)
		perItem[KeyString(key)]++
		cur, err := getItem(context.Background(), env.Dynamo, w.Table, key)
		if err != nil {
			t.Fatal(err)
		}
		if !holds(cur, after, w.Changed) {
			t.Errorf("journal record %d (%s) stands, but the item does not hold what it wrote", w.Seq, KeyString(key))
		}
	}
	for k, n := range perItem {
		if n != 1 {
			t.Errorf("%s: %d standing journal records", k, n)
		}
	}
	if int64(len(perItem)) != changed {
		t.Errorf("%d items in the journal, %d changed", len(perItem), changed)
	}
}
