package dynamo

import (
	"fmt"
	"sort"
)

// ValueMap is a Rewriter of plain values: each old value becomes its new
// one, whatever the claim. It serves fields that hold something other
// than a user pool identity (an identity pool's identity ids, say), where
// the caller knows each pair. A value that is a new one already is
// ValueNew; any other value is ValueUnmapped and left alone.
type ValueMap struct {
	next map[string]string
	news map[string]bool
}

// NewValueMap makes a ValueMap of old → new pairs. A pair whose values are
// equal is dropped. A value that is both an old one and a new one (a → b,
// b → c) is refused: a second run would carry a on to c, so a run would
// not be safe to repeat.
func NewValueMap(pairs map[string]string) (*ValueMap, error) {
	m := &ValueMap{next: map[string]string{}, news: map[string]bool{}}
	for o, n := range pairs {
		if o == "" || n == "" {
			return nil, fmt.Errorf("value map: an empty value (%q → %q)", o, n)
		}
		if o != n {
			m.next[o], m.news[n] = n, true
		}
	}
	var chained []string
	for o := range m.next {
		if m.news[o] {
			chained = append(chained, o)
		}
	}
	if len(chained) > 0 {
		sort.Strings(chained)
		return nil, fmt.Errorf("value map: %d value(s) are both mapped and mapped to (%s): a second run would carry them on; nothing was written", len(chained), chained[0])
	}
	return m, nil
}

// Len is how many pairs the map holds.
func (m *ValueMap) Len() int { return len(m.next) }

// Old tells whether v is an old value, and its new one.
func (m *ValueMap) Old(v string) (string, bool) {
	n, ok := m.next[v]
	return n, ok
}

// Rewrite maps one value (claim is ignored).
func (m *ValueMap) Rewrite(_ string, v string) (string, ValueStatus) {
	if n, ok := m.next[v]; ok {
		return n, ValueChanged
	}
	if m.news[v] {
		return v, ValueNew
	}
	return v, ValueUnmapped
}
