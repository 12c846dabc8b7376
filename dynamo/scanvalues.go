package dynamo

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ScanOwnerValues calls fn for every owner value (strings, and list or set
// elements) of every item of the spec's table, scanning in parallel
// segments. fn may be called concurrently.
func ScanOwnerValues(ctx context.Context, api TableAPI, spec Spec, segments int, fn func(key Item, attr, claim, value string)) (int64, error) {
	desc, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &spec.Table})
	if err != nil {
		return 0, fmt.Errorf("describe table %s: %w", spec.Table, err)
	}
	pk, sk := keyNames(desc.Table.KeySchema)
	if segments <= 0 {
		segments = 4
	}
	var mu sync.Mutex
	var scanned int64
	var wg sync.WaitGroup
	errs := make([]error, segments)
	for seg := 0; seg < segments; seg++ {
		wg.Add(1)
		go func(seg int) {
			defer wg.Done()
			in := &dynamodb.ScanInput{TableName: &spec.Table, Segment: ptr(int32(seg)), TotalSegments: ptr(int32(segments)), ConsistentRead: ptr(true)}
			for {
				out, err := api.Scan(ctx, in)
				if err != nil {
					errs[seg] = fmt.Errorf("scan %s: %w", spec.Table, err)
					return
				}
				for _, it := range out.Items {
					key := Item{pk: it[pk]}
					if sk != "" {
						key[sk] = it[sk]
					}
					for _, o := range spec.Owners {
						for _, v := range stringsOf(it[o.Attr]) {
							fn(key, o.Attr, o.Claim, v)
						}
					}
				}
				mu.Lock()
				scanned += int64(len(out.Items))
				mu.Unlock()
				if len(out.LastEvaluatedKey) == 0 {
					return
				}
				in.ExclusiveStartKey = out.LastEvaluatedKey
			}
		}(seg)
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return scanned, e
		}
	}
	return scanned, nil
}

func stringsOf(av types.AttributeValue) []string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return []string{v.Value}
	case *types.AttributeValueMemberSS:
		return v.Value
	case *types.AttributeValueMemberL:
		var out []string
		for _, e := range v.Value {
			out = append(out, stringsOf(e)...)
		}
		return out
	}
	return nil
}
