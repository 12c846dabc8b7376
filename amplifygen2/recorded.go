package amplifygen2

import (
	"encoding/json"
	"fmt"
)

// value is one recorded value: a builder node, an object (keys in the
// order written), a list, or a scalar.
type value struct {
	Node    *node
	Entries []entry
	List    []value
	Scalar  any
}

type entry struct {
	Key   string
	Value value
}

// node is one builder call chain: a.model({...}).authorization(cb) is
// {Ctor: "a.model", Args: [{...}], Calls: [{Name: "authorization", Args: [[rules]]}]}.
type node struct {
	Ctor  string
	Args  []value
	Calls []call
}

type call struct {
	Name string
	Args []value
}

func (v *value) UnmarshalJSON(data []byte) error {
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*v = fromRaw(raw)
	return nil
}

func fromRaw(raw any) value {
	switch x := raw.(type) {
	case []any:
		out := value{List: []value{}}
		for _, e := range x {
			out.List = append(out.List, fromRaw(e))
		}
		return out
	case map[string]any:
		if ctor, ok := x["ctor"].(string); ok {
			n := &node{Ctor: ctor}
			for _, a := range asList(x["args"]) {
				n.Args = append(n.Args, fromRaw(a))
			}
			for _, c := range asList(x["calls"]) {
				cm, _ := c.(map[string]any)
				name, _ := cm["name"].(string)
				cl := call{Name: name}
				for _, a := range asList(cm["args"]) {
					cl.Args = append(cl.Args, fromRaw(a))
				}
				n.Calls = append(n.Calls, cl)
			}
			return value{Node: n}
		}
		out := value{Entries: []entry{}}
		for _, e := range asList(x["entries"]) {
			pair := asList(e)
			if len(pair) != 2 {
				continue
			}
			k, _ := pair[0].(string)
			out.Entries = append(out.Entries, entry{Key: k, Value: fromRaw(pair[1])})
		}
		return out
	}
	return value{Scalar: raw}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// get returns an object's value for key.
func (v value) get(key string) (value, bool) {
	for _, e := range v.Entries {
		if e.Key == key {
			return e.Value, true
		}
	}
	return value{}, false
}

// str returns a scalar string, or "".
func (v value) str() string {
	s, _ := v.Scalar.(string)
	return s
}

// strings returns a list of strings (a lone string counts as one).
func (v value) strings() []string {
	if s, ok := v.Scalar.(string); ok {
		return []string{s}
	}
	var out []string
	for _, e := range v.List {
		if s, ok := e.Scalar.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// items returns a list's elements; a single value stands for a list of one
// (an authorization callback may return one rule instead of a list).
func (v value) items() []value {
	if v.List != nil {
		return v.List
	}
	if v.Node != nil || v.Entries != nil {
		return []value{v}
	}
	return nil
}

// called returns the arguments of the last call named name on the node.
func (n *node) called(name string) ([]value, bool) {
	var args []value
	found := false
	for _, c := range n.Calls {
		if c.Name == name {
			args, found = c.Args, true
		}
	}
	return args, found
}

func (n *node) has(name string) bool {
	_, ok := n.called(name)
	return ok
}

func (n *node) arg(i int) value {
	if i < len(n.Args) {
		return n.Args[i]
	}
	return value{}
}

func (n *node) String() string { return fmt.Sprintf("%s(...)", n.Ctor) }
