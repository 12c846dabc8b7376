package dynamo

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Item is a DynamoDB item.
type Item = map[string]types.AttributeValue

// EncodeItem writes an item in DynamoDB's JSON form ({"S": "..."},
// {"L": [...]}, ...), which keeps every type exactly, so a journal can put
// an item back bit for bit.
func EncodeItem(it Item) (json.RawMessage, error) {
	m := make(map[string]any, len(it))
	for k, v := range it {
		e, err := encodeAV(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		m[k] = e
	}
	return json.Marshal(m)
}

// DecodeItem reads what EncodeItem wrote.
func DecodeItem(data json.RawMessage) (Item, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	it := make(Item, len(m))
	for k, raw := range m {
		v, err := decodeAV(raw)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		it[k] = v
	}
	return it, nil
}

func encodeAV(v types.AttributeValue) (any, error) {
	switch t := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": t.Value}, nil
	case *types.AttributeValueMemberN:
		return map[string]any{"N": t.Value}, nil
	case *types.AttributeValueMemberB:
		return map[string]any{"B": t.Value}, nil
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": t.Value}, nil
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": t.Value}, nil
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": t.Value}, nil
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": t.Value}, nil
	case *types.AttributeValueMemberBS:
		return map[string]any{"BS": t.Value}, nil
	case *types.AttributeValueMemberL:
		out := make([]any, len(t.Value))
		for i, e := range t.Value {
			x, err := encodeAV(e)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return map[string]any{"L": out}, nil
	case *types.AttributeValueMemberM:
		out := make(map[string]any, len(t.Value))
		for k, e := range t.Value {
			x, err := encodeAV(e)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return map[string]any{"M": out}, nil
	}
	return nil, fmt.Errorf("unknown attribute value type %T", v)
}

func decodeAV(raw json.RawMessage) (types.AttributeValue, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 {
		return nil, fmt.Errorf("not a DynamoDB attribute value: %s", raw)
	}
	for k, v := range m {
		switch k {
		case "S":
			var s string
			err := json.Unmarshal(v, &s)
			return &types.AttributeValueMemberS{Value: s}, err
		case "N":
			var s string
			err := json.Unmarshal(v, &s)
			return &types.AttributeValueMemberN{Value: s}, err
		case "B":
			var b []byte
			err := json.Unmarshal(v, &b)
			return &types.AttributeValueMemberB{Value: b}, err
		case "BOOL":
			var b bool
			err := json.Unmarshal(v, &b)
			return &types.AttributeValueMemberBOOL{Value: b}, err
		case "NULL":
			var b bool
			err := json.Unmarshal(v, &b)
			return &types.AttributeValueMemberNULL{Value: b}, err
		case "SS":
			var s []string
			err := json.Unmarshal(v, &s)
			return &types.AttributeValueMemberSS{Value: s}, err
		case "NS":
			var s []string
			err := json.Unmarshal(v, &s)
			return &types.AttributeValueMemberNS{Value: s}, err
		case "BS":
			var s [][]byte
			err := json.Unmarshal(v, &s)
			return &types.AttributeValueMemberBS{Value: s}, err
		case "L":
			var items []json.RawMessage
			if err := json.Unmarshal(v, &items); err != nil {
				return nil, err
			}
			out := make([]types.AttributeValue, len(items))
			for i, e := range items {
				x, err := decodeAV(e)
				if err != nil {
					return nil, err
				}
				out[i] = x
			}
			return &types.AttributeValueMemberL{Value: out}, nil
		case "M":
			var items map[string]json.RawMessage
			if err := json.Unmarshal(v, &items); err != nil {
				return nil, err
			}
			out := make(map[string]types.AttributeValue, len(items))
			for kk, e := range items {
				x, err := decodeAV(e)
				if err != nil {
					return nil, err
				}
				out[kk] = x
			}
			return &types.AttributeValueMemberM{Value: out}, nil
		}
		return nil, fmt.Errorf("unknown attribute value type %q", k)
	}
	return nil, fmt.Errorf("empty attribute value")
}

// KeyString renders an item's key attributes for messages, in name order.
func KeyString(key Item) string {
	names := make([]string, 0, len(key))
	for k := range key {
		names = append(names, k)
	}
	sort.Strings(names)
	s := ""
	for i, k := range names {
		if i > 0 {
			s += ", "
		}
		switch v := key[k].(type) {
		case *types.AttributeValueMemberS:
			s += k + "=" + v.Value
		case *types.AttributeValueMemberN:
			s += k + "=" + v.Value
		default:
			s += k + "=?"
		}
	}
	return s
}
