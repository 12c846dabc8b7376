package dynamo

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// mapRewriter maps old subs to new ones for "sub" fields.
type mapRewriter map[string]string

func (m mapRewriter) Rewrite(claim, v string) (string, ValueStatus) {
	if n, ok := m[v]; ok {
		return n, ValueChanged
	}
	for _, n := range m {
		if n == v {
			return v, ValueNew
		}
	}
	return v, ValueUnmapped
}

// appBeforeWrite lets "the app" change an item after the scan read it and
// before the remap's write reaches it.
type appBeforeWrite struct {
	TableAPI
	once   sync.Once
	change func()
}

func (a *appBeforeWrite) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	a.once.Do(a.change)
	return a.TableAPI.UpdateItem(ctx, in, optFns...)
}

func (a *appBeforeWrite) BatchExecuteStatement(ctx context.Context, in *dynamodb.BatchExecuteStatementInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchExecuteStatementOutput, error) {
	a.once.Do(a.change)
	return a.TableAPI.BatchExecuteStatement(ctx, in, optFns...)
}

func makeTable(t testing.TB, env *testenv.Env) string {
	t.Helper()
	name := "Conflict-" + testenv.RandomSuffix()
	_, err := env.Dynamo.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName: &name, BillingMode: types.BillingModePayPerRequest,
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = env.Dynamo.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name})
	})
	return name
}

// Both write paths: batches of PartiQL updates, and one UpdateItem a call.
func TestRemapLeavesItemsTheAppChanged(t *testing.T) {
	for _, batch := range []int{BatchSize, 1} {
		t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) { testRemapLeavesItemsTheAppChanged(t, batch) })
	}
}

func testRemapLeavesItemsTheAppChanged(t *testing.T, batch int) {
	env := testenv.Require(t)
	ctx := context.Background()
	table := makeTable(t, env)
	rw := mapRewriter{}
	for i := 0; i < 20; i++ {
		old, nw := fmt.Sprintf("old-%02d", i), fmt.Sprintf("new-%02d", i)
		rw[old] = nw
		if _, err := env.Dynamo.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: Item{"id": &types.AttributeValueMemberS{Value: fmt.Sprintf("i%02d", i)}, "userID": &types.AttributeValueMemberS{Value: old}}}); err != nil {
			t.Fatal(err)
		}
	}
	api := &appBeforeWrite{TableAPI: env.Dynamo, change: func() {
		// The app hands item i07 to another user meanwhile.
		_, err := env.Dynamo.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &table, Key: Item{"id": &types.AttributeValueMemberS{Value: "i07"}},
			UpdateExpression: aws.String("SET userID = :u"), ExpressionAttributeValues: Item{":u": &types.AttributeValueMemberS{Value: "someone-else"}}})
		if err != nil {
			t.Error(err)
		}
	}}
	j, err := OpenJournal(filepath.Join(t.TempDir(), "j.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	res, err := RemapTable(ctx, api, Spec{Table: table, Owners: []OwnerAttr{{Attr: "userID", Claim: "sub"}}}, rw, RemapOptions{Journal: j, Workers: 1, Segments: 1, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	// The first write found its item changed: whichever item it was, it
	// was left alone and reported, and every other item was remapped.
	if res.Conflicts != 1 || res.Changed != 19 || len(res.Problems) == 0 || !strings.Contains(res.Problems[0], "changed while the remap ran") {
		t.Fatalf("result: %+v", res)
	}
	out, err := env.Dynamo.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: Item{"id": &types.AttributeValueMemberS{Value: "i07"}}})
	if err != nil {
		t.Fatal(err)
	}
	// The app's change stands: "new-07" would be the lost update this
	// test exists to catch.
	if got := out.Item["userID"].(*types.AttributeValueMemberS).Value; got != "someone-else" {
		t.Errorf("i07 holds %q: the remap overwrote the app's change", got)
	}

	// Rollback leaves the app's change alone and undoes the rest.
	rb, err := Rollback(ctx, env.Dynamo, j.Path(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Reverted != 19 || rb.NotApplied != 1 || len(rb.Conflicts) != 0 {
		t.Errorf("rollback: %+v", rb)
	}
	// Item by item, the table holds what it held before the remap, but for
	// the app's own change.
	want := map[string]string{"i07": "someone-else"}
	for i := 0; i < 20; i++ {
		if id := fmt.Sprintf("i%02d", i); want[id] == "" {
			want[id] = fmt.Sprintf("old-%02d", i)
		}
	}
	got := map[string]string{}
	p := dynamodb.NewScanPaginator(env.Dynamo, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			id := it["id"].(*types.AttributeValueMemberS).Value
			owner, _ := it["userID"].(*types.AttributeValueMemberS)
			if len(it) != 2 || owner == nil {
				t.Errorf("after rollback, item %s holds %v, want only id and userID", id, it)
				continue
			}
			got[id] = owner.Value
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after rollback the table holds\n%v\nwant\n%v", got, want)
	}
}

func TestItemJSONRoundTrip(t *testing.T) {
	it := Item{
		"s": &types.AttributeValueMemberS{Value: "a,b"}, "n": &types.AttributeValueMemberN{Value: "12.5"},
		"b": &types.AttributeValueMemberB{Value: []byte{0, 1, 2}}, "t": &types.AttributeValueMemberBOOL{Value: true},
		"z": &types.AttributeValueMemberNULL{Value: true}, "ss": &types.AttributeValueMemberSS{Value: []string{"x", "y"}},
		"ns": &types.AttributeValueMemberNS{Value: []string{"1", "2"}}, "bs": &types.AttributeValueMemberBS{Value: [][]byte{{9}}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "e"}, &types.AttributeValueMemberM{Value: Item{"k": &types.AttributeValueMemberN{Value: "1"}}}}},
	}
	data, err := EncodeItem(it)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeItem(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := EncodeItem(back)
	if string(again) != string(data) || len(back) != len(it) {
		t.Errorf("round trip:\n%s\n%s", data, again)
	}
}
