package migration

import (
	"testing"

	"github.com/poolmigrate/poolmigrate/dynamo"
)

// subMap has alice and bob in the new pool (bob kept his username), and
// carol, who was not brought over.
func subMap() *SubMap {
	m := &SubMap{byOldSub: map[string]*Identity{}, byOldUsername: map[string]*Identity{}, newSubs: map[string]bool{}, newUsernames: map[string]bool{}}
	for _, id := range []*Identity{
		{OldSub: "old-a", OldUsername: "alice", NewSub: "new-a", NewUsername: "uuid-a"},
		{OldSub: "old-b", OldUsername: "bob", NewSub: "new-b", NewUsername: "bob"},
		{OldSub: "old-c", OldUsername: "carol"},
	} {
		m.byOldSub[id.OldSub], m.byOldUsername[id.OldUsername] = id, id
		if id.NewSub != "" {
			m.newSubs[id.NewSub], m.newUsernames[id.NewUsername] = true, true
		}
	}
	return m
}

func TestRewrite(t *testing.T) {
	cases := []struct {
		claim, in, out string
		st             dynamo.ValueStatus
	}{
		{"sub", "old-a", "new-a", dynamo.ValueChanged},
		{"sub", "new-a", "new-a", dynamo.ValueNew},
		{"sub", "old-c", "old-c", dynamo.ValueUnmapped},
		{"sub", "stranger", "stranger", dynamo.ValueUnmapped},
		{"username", "alice", "uuid-a", dynamo.ValueChanged},
		{"username", "uuid-a", "uuid-a", dynamo.ValueNew},
		// bob kept his username: mapped to itself, which the remap counts
		// as already new.
		{"username", "bob", "bob", dynamo.ValueChanged},
		{"username", "carol", "carol", dynamo.ValueUnmapped},
		{"sub::username", "old-a::alice", "new-a::uuid-a", dynamo.ValueChanged},
		{"sub::username", "new-a::uuid-a", "new-a::uuid-a", dynamo.ValueNew},
		{"sub::username", "old-c::carol", "old-c::carol", dynamo.ValueUnmapped},
		{"sub::username", "nobody::nobody", "nobody::nobody", dynamo.ValueUnmapped},
		// v2 also accepts a bare sub or username in such a field; each is
		// rewritten in the form it has.
		{"sub::username", "old-a", "new-a", dynamo.ValueChanged},
		{"sub::username", "alice", "uuid-a", dynamo.ValueChanged},
		{"sub::username", "new-a", "new-a", dynamo.ValueNew},
		{"custom:tenant", "old-a", "old-a", dynamo.ValueUnmapped},
	}
	m := subMap()
	for _, c := range cases {
		out, st := m.Rewrite(c.claim, c.in)
		if out != c.out || st != c.st {
			t.Errorf("Rewrite(%q, %q) = %q, %v; want %q, %v", c.claim, c.in, out, st, c.out, c.st)
		}
	}
}

func TestParseExtraField(t *testing.T) {
	if f, err := ParseExtraField("User.id:sub"); err != nil || f != (ExtraField{Type: "User", Field: "id", Claim: "sub"}) {
		t.Errorf("User.id:sub: %+v %v", f, err)
	}
	for _, bad := range []string{"User.id", "id:sub", "User.id:email", ".id:sub"} {
		if _, err := ParseExtraField(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
