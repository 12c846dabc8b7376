package migration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/dynamo"
)

// subMap has alice and bob in the new pool (bob kept his username), and
// carol, who was not brought over. id maps the test's names to the subs
// used: as they are (not UUIDs: the fallback path) or as canonical UUIDs
// (the compact path Cognito's subs take).
func subMap(t *testing.T, id func(string) string, dir string) *SubMap {
	b, err := cognito.NewMigratedBuilder(dir)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.Add(id("old-a"), cognito.TargetUser{Sub: id("new-a"), Username: "uuid-a", Enabled: true}))
	must(b.Add(id("old-b"), cognito.TargetUser{Sub: id("new-b"), Username: "bob", Enabled: true}))
	migrated, err := b.Build()
	must(err)
	t.Cleanup(migrated.Close)
	m := &SubMap{migrated: migrated, oddBySub: map[string]int32{}, dir: dir}
	m.arena, err = cognito.NewArena(dir)
	must(err)
	m.oldStore, err = cognito.NewStore[oldIdentity](dir, "identities")
	must(err)
	must(m.add(id("old-a"), "alice"))
	must(m.add(id("old-b"), "bob"))
	must(m.add(id("old-c"), "carol"))
	must(m.build())
	t.Cleanup(m.Close)
	return m
}

func asIs(s string) string { return s }

// asUUID turns a test name into a canonical UUID, the same one every time.
func asUUID(s string) string {
	var n uint64
	for _, c := range s {
		n = n*131 + uint64(c)
	}
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", n&0xffffffff, n&0xffffffffffff)
}

func TestRewrite(t *testing.T) {
	for name, id := range map[string]func(string) string{"non-UUID ids": asIs, "UUID subs": asUUID} {
		t.Run(name+" in the heap", func(t *testing.T) { testRewrite(t, id, "") })
		t.Run(name+" in files", func(t *testing.T) { testRewrite(t, id, t.TempDir()) })
	}
}

func testRewrite(t *testing.T, id func(string) string, dir string) {
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
	// Names that are subs become the id; usernames stay.
	conv := func(v string) string {
		if strings.HasPrefix(v, "old-") || strings.HasPrefix(v, "new-") {
			if i := strings.Index(v, "::"); i >= 0 {
				return id(v[:i]) + v[i:]
			}
			return id(v)
		}
		return v
	}
	m := subMap(t, id, dir)
	for _, c := range cases {
		in, want := conv(c.in), conv(c.out)
		out, st := m.Rewrite(c.claim, in)
		if out != want || st != c.st {
			t.Errorf("Rewrite(%q, %q) = %q, %v; want %q, %v", c.claim, in, out, st, want, c.st)
		}
	}
	if m.Mapped != 2 || len(m.Unmatched) != 1 || m.Unmatched[0].OldUsername != "carol" || m.Unmatched[0].OldSub != id("old-c") {
		t.Errorf("mapped %d, unmatched %+v", m.Mapped, m.Unmatched)
	}
	if got, ok := m.Lookup(id("old-a")); !ok || got != (Identity{OldSub: id("old-a"), OldUsername: "alice", NewSub: id("new-a"), NewUsername: "uuid-a"}) {
		t.Errorf("Lookup(old-a) = %+v %v", got, ok)
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
