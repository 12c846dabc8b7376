package dynamo

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// RollbackResult counts what a rollback did.
type RollbackResult struct {
	Journal    string   `json:"journal"`
	Records    int      `json:"records"`
	Reverted   int      `json:"reverted"`
	NotApplied int      `json:"notApplied"`
	Conflicts  []string `json:"conflicts"`
}

// Rollback undoes a journal's writes, newest first. Each undo is
// conditional on the item still holding what the remap wrote, so a change
// the app made since is not overwritten (it is reported); a write that was
// journaled but never made (the process died in between) is recognised and
// skipped. The whole journal is read and checked before the first undo: a
// journal that cannot be read whole, or holds a record that could not be
// undone, undoes nothing. When everything was undone the journal is
// renamed, so a second rollback has nothing to do.
func Rollback(ctx context.Context, api TableAPI, path string, progress func(done, total int)) (RollbackResult, error) {
	res := RollbackResult{Journal: path, Conflicts: []string{}}
	var recs []JournalRecord
	voided := map[int64]bool{}
	if err := ReadJournal(path, func(r JournalRecord) error {
		switch {
		case r.Kind == "void":
			voided[r.Void] = true
		case r.IsWrite():
			recs = append(recs, r)
		}
		return nil
	}); err != nil {
		return res, err
	}
	res.Records = len(recs)
	for i := len(recs) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if voided[recs[i].Seq] {
			res.NotApplied++
			if progress != nil {
				progress(len(recs)-i, len(recs))
			}
			continue
		}
		outcome, err := undo(ctx, api, recs[i])
		if err != nil {
			return res, fmt.Errorf("undo journal record %d (%s): %w", recs[i].Seq, recs[i].Table, err)
		}
		switch outcome {
		case "reverted":
			res.Reverted++
		case "not-applied":
			res.NotApplied++
		default:
			res.Conflicts = append(res.Conflicts, outcome)
		}
		if progress != nil {
			progress(len(recs)-i, len(recs))
		}
	}
	if len(res.Conflicts) == 0 {
		if err := os.Rename(path, path+".rolled-back"); err != nil {
			return res, fmt.Errorf("mark journal rolled back: %w", err)
		}
	}
	return res, nil
}

func undo(ctx context.Context, api TableAPI, rec JournalRecord) (string, error) {
	key, err := DecodeItem(rec.Key)
	if err != nil {
		return "", err
	}
	before, err := DecodeItem(rec.Before)
	if err != nil {
		return "", err
	}
	after, err := DecodeItem(rec.After)
	if err != nil {
		return "", err
	}
	if rec.Kind == "move" {
		newKey, err := DecodeItem(rec.NewKey)
		if err != nil {
			return "", err
		}
		return undoMove(ctx, api, rec, key, newKey, before, after)
	}
	return undoUpdate(ctx, api, rec, key, before, after)
}

func undoUpdate(ctx context.Context, api TableAPI, rec JournalRecord, key, before, after Item) (string, error) {
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	var conds, sets, removes []string
	for i, a := range rec.Changed {
		n := fmt.Sprintf("#a%d", i)
		names[n] = a
		values[fmt.Sprintf(":n%d", i)] = after[a]
		conds = append(conds, fmt.Sprintf("%s = :n%d", n, i))
		if old, ok := before[a]; ok {
			values[fmt.Sprintf(":o%d", i)] = old
			sets = append(sets, fmt.Sprintf("%s = :o%d", n, i))
		} else {
			removes = append(removes, n)
		}
	}
	expr := ""
	if len(sets) > 0 {
		expr = "SET " + strings.Join(sets, ", ")
	}
	if len(removes) > 0 {
		expr += " REMOVE " + strings.Join(removes, ", ")
	}
	_, err := api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &rec.Table, Key: key, UpdateExpression: ptr(strings.TrimSpace(expr)),
		ConditionExpression: ptr(strings.Join(conds, " AND ")), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	if err = conditionalError(err); err != errConflict {
		if err != nil {
			return "", err
		}
		return "reverted", nil
	}
	cur, err := getItem(ctx, api, rec.Table, key)
	if err != nil {
		return "", err
	}
	if cur != nil && holds(cur, before, rec.Changed) {
		return "not-applied", nil
	}
	return fmt.Sprintf("%s: item %s changed since the remap wrote it; left as it is", rec.Table, KeyString(key)), nil
}

func undoMove(ctx context.Context, api TableAPI, rec JournalRecord, key, newKey, before, after Item) (string, error) {
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	var conds []string
	for i, a := range rec.Changed {
		n, v := fmt.Sprintf("#a%d", i), fmt.Sprintf(":n%d", i)
		names[n], values[v] = a, after[a]
		conds = append(conds, n+" = "+v)
	}
	pk := firstKeyName(key)
	_, err := api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &rec.Table, Item: before, ConditionExpression: ptr("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": pk}}},
		{Delete: &types.Delete{TableName: &rec.Table, Key: newKey, ConditionExpression: ptr(strings.Join(conds, " AND ")), ExpressionAttributeNames: names, ExpressionAttributeValues: values}},
	}})
	if err = conditionalError(err); err != errConflict {
		if err != nil {
			return "", err
		}
		return "reverted", nil
	}
	old, err := getItem(ctx, api, rec.Table, key)
	if err != nil {
		return "", err
	}
	moved, err := getItem(ctx, api, rec.Table, newKey)
	if err != nil {
		return "", err
	}
	if moved == nil && old != nil && reflect.DeepEqual(old, before) {
		return "not-applied", nil
	}
	return fmt.Sprintf("%s: item %s (moved to %s) changed since the remap; left as it is", rec.Table, KeyString(key), KeyString(newKey)), nil
}

func getItem(ctx context.Context, api TableAPI, table string, key Item) (Item, error) {
	out, err := api.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key, ConsistentRead: ptr(true)})
	if err != nil {
		return nil, fmt.Errorf("read %s item %s: %w", table, KeyString(key), err)
	}
	return out.Item, nil
}

// holds tells whether cur has before's values for the attributes (absent
// where before lacks them).
func holds(cur, before Item, attrs []string) bool {
	for _, a := range attrs {
		b, inBefore := before[a]
		c, inCur := cur[a]
		if inBefore != inCur || (inBefore && !reflect.DeepEqual(b, c)) {
			return false
		}
	}
	return true
}

func firstKeyName(key Item) string {
	names := make([]string, 0, len(key))
	for k := range key {
		names = append(names, k)
	}
	sort.Strings(names)
	return names[0]
}
