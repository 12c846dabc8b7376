package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

var (
	errConflict = errors.New("changed meanwhile")
	errJournal  = errors.New("journal")
	// errNotSent marks a write that was journaled but never sent.
	errNotSent = errors.New("not sent")
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
	faultPoint("before-journal:update")
	seq, err := r.append(rec)
	if err != nil {
		return err
	}
	faultPoint("journaled:update")
	err = conditionalError(r.sendUpdate(ctx, it, c))
	faultPoint("written:update")
	if err := r.settle(seq, err); err != nil {
		return err
	}
	return r.supersede(rec)
}

// sendUpdate writes an in-place update with one conditional UpdateItem
// (its journal record is the caller's).
func (r *remapRun) sendUpdate(ctx context.Context, it Item, c change) error {
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
	_, err := r.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &r.spec.Table, Key: r.key(it),
		UpdateExpression:          ptr("SET " + strings.Join(sets, ", ")),
		ConditionExpression:       ptr(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	return err
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
	faultPoint("before-journal:move")
	seq, err := r.append(rec)
	if err != nil {
		return err
	}
	faultPoint("journaled:move")
	r.markMoved(newKey, true)
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	cond := condition(it, c.attrs, names, values)
	_, err = r.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &r.spec.Table, Item: newItem, ConditionExpression: ptr("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": r.pk}}},
		{Delete: &types.Delete{TableName: &r.spec.Table, Key: r.key(it), ConditionExpression: &cond, ExpressionAttributeNames: names, ExpressionAttributeValues: values}},
	}})
	faultPoint("written:move")
	if err != nil {
		r.markMoved(newKey, false)
	}
	if err := r.settle(seq, conditionalError(err)); err != nil {
		return err
	}
	return r.supersede(rec)
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
// knows there is nothing to undo. A write whose fate is unknown (no
// answer, a server error, an interrupted call) keeps its record: rollback
// reads such an item and leaves it if the write never happened.
func (r *remapRun) settle(seq int64, err error) error {
	if err == nil || !notMade(err) {
		return err
	}
	return r.void(seq, err)
}

// void appends the record that cancels record seq, and returns cause.
func (r *remapRun) void(seq int64, cause error) error {
	if _, jerr := r.o.Journal.Append(JournalRecord{Table: r.spec.Table, Kind: "void", Void: seq}); jerr != nil {
		return fmt.Errorf("%w: %v", errJournal, jerr)
	}
	return cause
}

// notMade tells whether an error proves the write was not made: a failed
// condition, or a refusal DynamoDB answered with a 4xx status (it refuses
// a request whole). A 5xx, a lost connection or a cancelled call may come
// after the write was made.
func notMade(err error) bool {
	if errors.Is(err, errConflict) || errors.Is(err, errNotSent) {
		return true
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		code := re.HTTPStatusCode()
		return code >= 400 && code < 500
	}
	return false
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
