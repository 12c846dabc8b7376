package idfield

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

const (
	daveOld  = "us-east-1:0000000d-0000-4000-8000-00000000000d"
	daveNew  = "us-east-1:1111111d-1111-4111-8111-11111111111d"
	ginaOld  = "us-east-1:0000000a-0000-4000-8000-00000000000a"
	ginaNew  = "us-east-1:1111111a-1111-4111-8111-11111111111a"
	aliceOld = "us-east-1:0000000c-0000-4000-8000-00000000000c" // not in the pairs
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func l(v ...string) types.AttributeValue {
	out := &types.AttributeValueMemberL{}
	for _, e := range v {
		out.Value = append(out.Value, s(e))
	}
	return out
}

// same compares attribute values as the journal writes them.
func same(a, b types.AttributeValue) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	x, _ := dynamo.EncodeItem(dynamo.Item{"v": a})
	y, _ := dynamo.EncodeItem(dynamo.Item{"v": b})
	return string(x) == string(y)
}

func key(id string) dynamo.Item { return dynamo.Item{"id": s(id)} }

// appBeforeWrite lets "the app" change an item after the rewrite read it
// and before the rewrite's first write.
type appBeforeWrite struct {
	dynamo.TableAPI
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

func profileTable(t *testing.T, env *testenv.Env) string {
	t.Helper()
	name := "Profile-" + testenv.RandomSuffix()
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

func dump(t *testing.T, env *testenv.Env, table string) map[string]dynamo.Item {
	t.Helper()
	out := map[string]dynamo.Item{}
	p := dynamodb.NewScanPaginator(env.Dynamo, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			out[it["id"].(*types.AttributeValueMemberS).Value] = it
		}
	}
	return out
}

// TestRewriteFieldsByTheMapOnly: a plain field and a list field are
// rewritten by the pairs alone: dave's old id becomes his new one
// wherever it is (in his item, in carol's, in a list beside others), an id
// of a user not in the pairs (alice), a guest's value and garbage are left
// and counted, an item the app changed between the read and the write is
// left and named (and the next run takes it), verify lists what still
// names an old id, and rollback restores every value exactly (an item the
// app changed after the rewrite is left and named).
func TestRewriteFieldsByTheMapOnly(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	table := profileTable(t, env)
	items := []dynamo.Item{
		{"id": s("dave"), "identityId": s(daveOld), "friendIds": l(aliceOld, daveOld, "guest"), "_version": &types.AttributeValueMemberN{Value: "3"}},
		{"id": s("carol"), "identityId": s(daveOld)}, // another user's old id: the map decides, not the item
		{"id": s("alice"), "identityId": s(aliceOld), "friendIds": l(daveOld)},
		{"id": s("erin"), "identityId": s("not an id"), "friendIds": l()},
		{"id": s("frank"), "identityId": s(daveNew)},
		{"id": s("gina"), "identityId": s(ginaOld), "displayName": s("Gina"), "_version": &types.AttributeValueMemberN{Value: "1"}},
		{"id": s("hank"), "friendIds": &types.AttributeValueMemberSS{Value: []string{ginaOld, "x"}}},
	}
	for _, it := range items {
		if _, err := env.Dynamo.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	fields := []Field{{Type: "Profile", Name: "identityId", Table: table}, {Type: "Profile", Name: "friendIds", Table: table, List: true}}
	pairs := map[string]string{daveOld: daveNew, ginaOld: ginaNew}
	journal := filepath.Join(t.TempDir(), "fields", "copy.journal.jsonl")

	// A map that chains ids is refused before anything is written.
	if _, err := Rewrite(ctx, env.Dynamo, Options{Fields: fields, Pairs: map[string]string{daveOld: daveNew, daveNew: ginaNew}, Journal: journal}); err == nil || !strings.Contains(err.Error(), "both mapped and mapped to") {
		t.Fatalf("a chained map: %v", err)
	}
	if _, err := os.Stat(journal); err == nil {
		t.Fatal("the refused map left a journal")
	}

	dry, err := Rewrite(ctx, env.Dynamo, Options{Fields: fields, Pairs: pairs, DryRun: true})
	if err != nil || len(dry.Tables) != 1 || dry.Tables[0].Changed != 5 || dry.Journal != "" {
		t.Fatalf("dry run: %v %+v", err, dry)
	}
	original := dump(t, env, table)

	// The app edits gina's profile (DataStore bumps _version) after the
	// rewrite read it.
	var changedByApp dynamo.Item
	api := &appBeforeWrite{TableAPI: env.Dynamo, change: func() {
		_, err := env.Dynamo.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &table, Key: key("gina"),
			UpdateExpression: aws.String("SET displayName = :n, #v = :v"), ExpressionAttributeNames: map[string]string{"#v": "_version"},
			ExpressionAttributeValues: dynamo.Item{":n": s("Gina B."), ":v": &types.AttributeValueMemberN{Value: "2"}}})
		if err != nil {
			t.Error(err)
		}
		changedByApp = dump(t, env, table)["gina"]
	}}
	res, err := Rewrite(ctx, api, Options{Fields: fields, Pairs: pairs, Journal: journal, Command: "storage copy", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	tr := res.Tables[0]
	if tr.Changed != 4 || tr.Conflicts != 1 || tr.Unmapped != 1 || tr.AlreadyNew != 1 || tr.Failed != 0 {
		t.Errorf("first run: %+v", tr)
	}
	if !strings.Contains(strings.Join(tr.Problems, "\n"), "item id=gina changed while the remap ran; left alone (run storage copy again") {
		t.Errorf("gina's item is not named: %v", tr.Problems)
	}
	if fi, err := os.Stat(journal); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal %v", err)
	}
	got := dump(t, env, table)
	if !reflect.DeepEqual(got["gina"], changedByApp) {
		t.Errorf("gina's item was written over the app's change: %v", got["gina"])
	}
	want := map[string][2]types.AttributeValue{
		"dave":  {s(daveNew), l(aliceOld, daveNew, "guest")},
		"carol": {s(daveNew), nil},
		"alice": {s(aliceOld), l(daveNew)},
		"erin":  {s("not an id"), l()},
		"frank": {s(daveNew), nil},
		"hank":  {nil, &types.AttributeValueMemberSS{Value: []string{ginaNew, "x"}}},
	}
	for id, w := range want {
		if !same(got[id]["identityId"], w[0]) || !same(got[id]["friendIds"], w[1]) {
			t.Errorf("%s: identityId %v friendIds %v, want %v %v", id, got[id]["identityId"], got[id]["friendIds"], w[0], w[1])
		}
	}
	if v := got["dave"]["_version"].(*types.AttributeValueMemberN).Value; v != "4" {
		t.Errorf("dave's _version %s, want 4 (clients sync the change)", v)
	}

	checks, err := Verify(ctx, env.Dynamo, fields, pairs)
	if err != nil || len(checks) != 2 || len(checks[0].Stale) != 1 || checks[0].Stale[0].Key != "id=gina" || !checks[1].OK() {
		t.Errorf("verify after the conflict: %v %+v", err, checks)
	}

	// The next run takes gina's item and changes nothing else.
	res, err = Rewrite(ctx, env.Dynamo, Options{Fields: fields, Pairs: pairs, Journal: journal, Command: "storage copy"})
	if err != nil || res.Tables[0].Changed != 1 || res.Tables[0].Conflicts != 0 {
		t.Fatalf("second run: %v %+v", err, res.Tables)
	}
	if checks, err := Verify(ctx, env.Dynamo, fields, pairs); err != nil || !checks[0].OK() || !checks[1].OK() {
		t.Errorf("verify: %v %+v", err, checks)
	}
	st, err := Status(journal)
	if err != nil || st.Runs != 2 || !st.Finished || st.Writes != 6 || st.Voided != 1 || st.Changed != 1 {
		t.Errorf("status: %v %+v", err, st)
	}

	// The app changes carol's profile after the rewrite: rollback leaves
	// it and names it, and puts every other value back exactly.
	if _, err := env.Dynamo.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &table, Key: key("carol"),
		UpdateExpression: aws.String("SET identityId = :i"), ExpressionAttributeValues: dynamo.Item{":i": s("us-east-1:app-set")}}); err != nil {
		t.Fatal(err)
	}
	rb, err := Rollback(ctx, env.Dynamo, journal, "storage rollback")
	if err != nil || rb.Reverted != 4 || rb.NotApplied != 1 || len(rb.Conflicts) != 1 || !strings.Contains(rb.Conflicts[0], "item id=carol changed since") {
		t.Fatalf("rollback: %v %+v", err, rb)
	}
	after := dump(t, env, table)
	want2 := map[string]dynamo.Item{}
	for id, it := range original {
		want2[id] = it
	}
	want2["gina"] = changedByApp
	want2["carol"] = dynamo.Item{"id": s("carol"), "identityId": s("us-east-1:app-set")}
	if len(after) != len(want2) {
		t.Errorf("after rollback %d items, want %d", len(after), len(want2))
	}
	for id, it := range want2 {
		a, _ := dynamo.EncodeItem(after[id])
		w, _ := dynamo.EncodeItem(it)
		if string(a) != string(w) {
			t.Errorf("after rollback %s holds %s, want %s", id, a, w)
		}
	}
}
