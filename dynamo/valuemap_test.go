package dynamo

import (
	"strings"
	"testing"
)

func TestValueMap(t *testing.T) {
	m, err := NewValueMap(map[string]string{"a": "A", "b": "B", "same": "same"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 2 {
		t.Errorf("Len %d, want 2 (a pair of equal values is dropped)", m.Len())
	}
	for _, c := range []struct {
		in, out string
		st      ValueStatus
	}{
		{"a", "A", ValueChanged},
		{"A", "A", ValueNew},
		{"same", "same", ValueUnmapped},
		{"guest", "guest", ValueUnmapped},
		{"", "", ValueUnmapped},
	} {
		// The claim is not read: a value maps the same whatever it says.
		for _, claim := range []string{"sub", "identityId", ""} {
			if out, st := m.Rewrite(claim, c.in); out != c.out || st != c.st {
				t.Errorf("Rewrite(%q, %q) = %q, %v; want %q, %v", claim, c.in, out, st, c.out, c.st)
			}
		}
	}
	for name, pairs := range map[string]map[string]string{
		"chained":     {"a": "b", "b": "c"},
		"swapped":     {"a": "b", "b": "a"},
		"empty value": {"a": ""},
		"empty key":   {"": "a"},
	} {
		if _, err := NewValueMap(pairs); err == nil {
			t.Errorf("%s: %v accepted", name, pairs)
		} else if name == "chained" && !strings.Contains(err.Error(), "both mapped and mapped to (b)") {
			t.Errorf("chained: %v", err)
		}
	}
}
