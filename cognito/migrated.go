package cognito

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"

	"golang.org/x/time/rate"
)

// MigratedUsers are the target pool's users that came from the old pool,
// keyed by their old sub (custom:prev_sub_id). A migration of millions of
// users holds them all while it remaps, so they are kept compact: subs
// (canonical UUIDs, as Cognito makes them) as 16 bytes, strings back to
// back in one arena, sorted slices searched in O(log n) instead of maps —
// about 60 bytes a user instead of some 250. Ids that are not canonical
// UUIDs (never Cognito's own) take a slower map.
//
// Given a folder, the records and strings go to files there, mapped into
// memory (page cache) rather than held in the heap: the heap then stays
// the same size however large the pool. Close removes the files.
type MigratedUsers struct {
	entries  []migratedEntry // sorted by prev
	odd      []TargetUser    // entries whose prev or sub is not a canonical UUID
	oddPrev  []string
	oddByKey map[string]int32 // prev -> index in odd
	oddSubs  map[string]bool
	bySub    []int32    // indexes into entries, sorted by sub
	byUser   []HashSlot // every user (entries, then odd), sorted by username hash
	arena    *Arena
	statuses []string
	// Contested are the old identities two or more users of the new
	// pool claim; none of those users is in the set.
	Contested    []ContestedClaim
	oddContested map[string][]TargetUser

	entryStore *store[migratedEntry]
	subStore   *store[int32]
	userStore  *store[HashSlot]
}

// Close frees the files a folder-backed set uses.
func (m *MigratedUsers) Close() {
	if m == nil {
		return
	}
	m.entryStore.close()
	m.subStore.close()
	m.userStore.close()
	m.arena.Close()
	m.entries, m.bySub, m.byUser = nil, nil, nil
}

type migratedEntry struct {
	prev, sub UUIDKey
	user      StrRef // the username, unless userIsSub
	status    uint8
	flags     uint8
}

const (
	flagEnabled   = 1
	flagUserIsSub = 2 // in e-mail sign-in pools the username is the sub
)

// HashSlot is one entry of a hash index: a 32-bit hash of the key and the
// index of the entry that has it; equal hashes are told apart by reading
// the key back.
type HashSlot struct {
	Hash uint32
	Idx  int32
}

// HashString is the index hash of a string.
func HashString(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

// SearchHash returns the first position of hash in sorted slots.
func SearchHash(slots []HashSlot, hash uint32) int {
	return sort.Search(len(slots), func(i int) bool { return slots[i].Hash >= hash })
}

// ContestedClaim is an old identity that two or more users of the new
// pool claim (custom:prev_sub_id): nobody can tell which is the user, so
// none of them is kept.
type ContestedClaim struct {
	Prev  string
	Users []TargetUser
}

// ListMigrated lists the target pool once and keeps the users that claim
// an old identity: claim gives the old sub a user claims ("" for none) and
// whether the claim holds. A claim is custom:prev_sub_id (custom
// attributes cannot be filtered on), something a user may have written,
// or, for a federated user, a provider login Cognito linked to them; claim
// is where it is checked (see migration.ListClaims). dir, when set, is
// where their records go (see MigratedUsers).
func ListMigrated(ctx context.Context, api UserLister, pool string, limit *rate.Limiter, dir string, claim func(User) (prev string, ok bool)) (*MigratedUsers, error) {
	if claim == nil {
		return nil, fmt.Errorf("list migrated users of pool %s: no check of their claims given", pool)
	}
	b, err := NewMigratedBuilder(dir)
	if err != nil {
		return nil, err
	}
	err = EachUser(ctx, api, pool, limit, func(user User) error {
		prev, ok := claim(user)
		if prev == "" {
			return nil
		}
		if user.Sub == "" {
			// Every Cognito user has a sub; mapping an identity to an
			// empty one would write it into the tables.
			return fmt.Errorf("user %s of pool %s claims old user %s but has no sub: refusing to map anyone to an empty identity", user.Username, pool, prev)
		}
		if !ok {
			return nil
		}
		return b.Add(prev, TargetUser{Username: user.Username, Sub: user.Sub, Enabled: user.Enabled, Status: user.Status})
	})
	if err != nil {
		b.abort()
		return nil, err
	}
	return b.Build()
}

// MigratedBuilder collects migrated users; Build makes the index.
type MigratedBuilder struct {
	m   *MigratedUsers
	dir string
}

// NewMigratedBuilder starts an empty set, in the heap (dir "") or in files
// of dir.
func NewMigratedBuilder(dir string) (*MigratedBuilder, error) {
	m := &MigratedUsers{oddByKey: map[string]int32{}, oddSubs: map[string]bool{}, oddContested: map[string][]TargetUser{}}
	var err error
	if m.entryStore, err = newStore[migratedEntry](dir, "migrated"); err != nil {
		return nil, err
	}
	if m.arena, err = NewArena(dir); err != nil {
		m.Close()
		return nil, err
	}
	return &MigratedBuilder{m: m, dir: dir}, nil
}

func (b *MigratedBuilder) abort() { b.m.Close() }

// Add records the target user that came from old sub prev. The same
// user added twice (a page boundary moving under the listing) keeps the
// last; two users with one prev are contested (see Build).
func (b *MigratedBuilder) Add(prev string, tu TargetUser) error {
	m := b.m
	pk, ok1 := ParseUUID(prev)
	sk, ok2 := ParseUUID(tu.Sub)
	if !ok1 || !ok2 {
		if c, ok := m.oddContested[prev]; ok {
			m.oddContested[prev] = appendUser(c, tu)
			return nil
		}
		if i, ok := m.oddByKey[prev]; ok {
			if m.odd[i].Sub != tu.Sub {
				m.oddContested[prev] = []TargetUser{m.odd[i], tu}
			}
			m.odd[i] = tu
			return nil
		}
		m.oddByKey[prev] = int32(len(m.odd))
		m.odd = append(m.odd, tu)
		m.oddPrev = append(m.oddPrev, prev)
		m.oddSubs[tu.Sub] = true
		return nil
	}
	e := migratedEntry{prev: pk, sub: sk, status: m.status(tu.Status)}
	if tu.Enabled {
		e.flags |= flagEnabled
	}
	if tu.Username == tu.Sub {
		e.flags |= flagUserIsSub
	} else {
		var err error
		if e.user, err = m.arena.Add(tu.Username); err != nil {
			return err
		}
	}
	return m.entryStore.add(e)
}

func (m *MigratedUsers) status(s string) uint8 {
	for i, v := range m.statuses {
		if v == s {
			return uint8(i)
		}
	}
	m.statuses = append(m.statuses, s)
	return uint8(len(m.statuses) - 1)
}

// Build sorts and indexes what was added; the builder is spent.
func (b *MigratedBuilder) Build() (*MigratedUsers, error) {
	m := b.m
	fail := func(err error) (*MigratedUsers, error) {
		m.Close()
		return nil, err
	}
	entries, err := m.entryStore.seal()
	if err != nil {
		return fail(err)
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].prev.Less(entries[j].prev) })
	if err := m.arena.Seal(); err != nil {
		return fail(err)
	}
	// A user listed twice (a page boundary moving under us) keeps the
	// last; an old identity claimed by two users is kept for neither.
	m.entries = entries
	w := 0
	for i := 0; i < len(entries); {
		j := i + 1
		contested := false
		for j < len(entries) && entries[j].prev == entries[i].prev {
			contested = contested || entries[j].sub != entries[i].sub
			j++
		}
		if contested {
			c := ContestedClaim{Prev: entries[i].prev.String()}
			for k := i; k < j; k++ {
				c.Users = appendUser(c.Users, m.At(int32(k)))
			}
			m.Contested = append(m.Contested, c)
		} else {
			entries[w] = entries[j-1]
			w++
		}
		i = j
	}
	m.entries = entries[:w]
	m.dropContestedOdd()
	if m.subStore, err = newStore[int32](b.dir, "migrated-subs"); err != nil {
		return fail(err)
	}
	for i := range m.entries {
		if err := m.subStore.add(int32(i)); err != nil {
			return fail(err)
		}
	}
	if m.bySub, err = m.subStore.seal(); err != nil {
		return fail(err)
	}
	sort.Slice(m.bySub, func(i, j int) bool { return m.entries[m.bySub[i]].sub.Less(m.entries[m.bySub[j]].sub) })
	if m.userStore, err = newStore[HashSlot](b.dir, "migrated-users"); err != nil {
		return fail(err)
	}
	for i := 0; i < m.Len(); i++ {
		if err := m.userStore.add(HashSlot{HashString(m.At(int32(i)).Username), int32(i)}); err != nil {
			return fail(err)
		}
	}
	if m.byUser, err = m.userStore.seal(); err != nil {
		return fail(err)
	}
	sort.Slice(m.byUser, func(i, j int) bool { return m.byUser[i].Hash < m.byUser[j].Hash })
	return m, nil
}

// dropContestedOdd takes the contested entries out of the odd ones.
func (m *MigratedUsers) dropContestedOdd() {
	if len(m.oddContested) == 0 {
		return
	}
	for _, p := range SortedKeys(m.oddContested) {
		m.Contested = append(m.Contested, ContestedClaim{Prev: p, Users: m.oddContested[p]})
	}
	odd, oddPrev := m.odd, m.oddPrev
	m.odd, m.oddPrev, m.oddByKey, m.oddSubs = nil, nil, map[string]int32{}, map[string]bool{}
	for i, tu := range odd {
		if _, ok := m.oddContested[oddPrev[i]]; ok {
			continue
		}
		m.oddByKey[oddPrev[i]] = int32(len(m.odd))
		m.odd = append(m.odd, tu)
		m.oddPrev = append(m.oddPrev, oddPrev[i])
		m.oddSubs[tu.Sub] = true
	}
}

// appendUser adds tu unless a user with its sub is there (then replaces
// it: the last listing wins).
func appendUser(users []TargetUser, tu TargetUser) []TargetUser {
	for i := range users {
		if users[i].Sub == tu.Sub {
			users[i] = tu
			return users
		}
	}
	return append(users, tu)
}

// MigratedFromMap builds the set, in the heap, from a map of old sub to
// target user.
func MigratedFromMap(users map[string]TargetUser) *MigratedUsers {
	b, _ := NewMigratedBuilder("")
	for prev, tu := range users {
		_ = b.Add(prev, tu)
	}
	m, _ := b.Build() // the heap cannot fail
	return m
}

// Len is the number of migrated users.
func (m *MigratedUsers) Len() int { return len(m.entries) + len(m.odd) }

// Index finds the user that came from old sub prev.
func (m *MigratedUsers) Index(prev string) (int32, bool) {
	if k, ok := ParseUUID(prev); ok {
		i := sort.Search(len(m.entries), func(i int) bool { return !m.entries[i].prev.Less(k) })
		if i < len(m.entries) && m.entries[i].prev == k {
			return int32(i), true
		}
	}
	if i, ok := m.oddByKey[prev]; ok {
		return int32(len(m.entries)) + i, true
	}
	return 0, false
}

// Get returns the user that came from old sub prev.
func (m *MigratedUsers) Get(prev string) (TargetUser, bool) {
	i, ok := m.Index(prev)
	if !ok {
		return TargetUser{}, false
	}
	return m.At(i), true
}

// At returns user i (0 <= i < Len).
func (m *MigratedUsers) At(i int32) TargetUser {
	if int(i) >= len(m.entries) {
		return m.odd[int(i)-len(m.entries)]
	}
	e := &m.entries[i]
	tu := TargetUser{Sub: e.sub.String(), Enabled: e.flags&flagEnabled != 0, Status: m.statuses[e.status]}
	if e.flags&flagUserIsSub != 0 {
		tu.Username = tu.Sub
	} else {
		tu.Username = m.arena.Get(e.user)
	}
	return tu
}

// PrevAt returns the old sub of user i.
func (m *MigratedUsers) PrevAt(i int32) string {
	if int(i) >= len(m.entries) {
		return m.oddPrev[int(i)-len(m.entries)]
	}
	return m.entries[i].prev.String()
}

// Each calls fn for every migrated user with its old sub.
func (m *MigratedUsers) Each(fn func(prev string, tu TargetUser)) {
	for i := 0; i < m.Len(); i++ {
		fn(m.PrevAt(int32(i)), m.At(int32(i)))
	}
}

// HasSub tells whether sub is the sub of a migrated user.
func (m *MigratedUsers) HasSub(sub string) bool {
	if k, ok := ParseUUID(sub); ok {
		i := sort.Search(len(m.bySub), func(i int) bool { return !m.entries[m.bySub[i]].sub.Less(k) })
		if i < len(m.bySub) && m.entries[m.bySub[i]].sub == k {
			return true
		}
	}
	return m.oddSubs[sub]
}

// HasUsername tells whether name is the username of a migrated user.
func (m *MigratedUsers) HasUsername(name string) bool {
	h := HashString(name)
	for i := SearchHash(m.byUser, h); i < len(m.byUser) && m.byUser[i].Hash == h; i++ {
		if m.usernameIs(m.byUser[i].Idx, name) {
			return true
		}
	}
	return false
}

func (m *MigratedUsers) usernameIs(i int32, name string) bool {
	if int(i) >= len(m.entries) {
		return m.odd[int(i)-len(m.entries)].Username == name
	}
	e := &m.entries[i]
	if e.flags&flagUserIsSub != 0 {
		k, ok := ParseUUID(name)
		return ok && k == e.sub
	}
	return m.arena.Equal(e.user, name)
}
