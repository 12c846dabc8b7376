package migration

import (
	"sort"
	"strings"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/dynamo"
)

// Identity is one user's old and new identity. New fields are empty for a
// user of the backup who is not in the target pool.
type Identity struct {
	OldSub, OldUsername string
	NewSub, NewUsername string
}

// SubMap maps old identities to new ones: the backup gives each old sub and
// username, the target pool (through custom:prev_sub_id) the new ones. It
// holds every user of the pool while remap and verify run, so it is
// compact: subs as 16-byte UUIDs, usernames in one arena, sorted slices
// instead of maps; given a folder, these live in files mapped into memory,
// so the heap does not grow with the pool (measured in BENCHMARKS.md).
// Close removes the files.
type SubMap struct {
	migrated *cognito.MigratedUsers
	olds     []oldIdentity // sorted by sub
	odd      []oldIdentity // old subs that are not canonical UUIDs
	oddSubs  []string
	oddBySub map[string]int32
	byUser   []cognito.HashSlot // old usernames (olds, then odd), by hash
	arena    *cognito.Arena
	dir      string
	oldStore *cognito.Store[oldIdentity]
	usrStore *cognito.Store[cognito.HashSlot]
	// Mapped counts the backup's users found in the target.
	Mapped    int
	Unmatched []Identity // in the backup, not in the target
}

type oldIdentity struct {
	sub    cognito.UUIDKey
	user   cognito.StrRef
	target int32 // index in migrated, or -1
}

// BuildSubMap joins the backup's users with the target's migrated users;
// dir, when set, is where its records go (see SubMap).
func BuildSubMap(backup string, migrated *cognito.MigratedUsers, dir string) (*SubMap, error) {
	m := &SubMap{migrated: migrated, oddBySub: map[string]int32{}, dir: dir}
	var err error
	if m.arena, err = cognito.NewArena(dir); err != nil {
		return nil, err
	}
	if m.oldStore, err = cognito.NewStore[oldIdentity](dir, "identities"); err != nil {
		m.Close()
		return nil, err
	}
	_, _, err = cognito.ReadBackupFile(backup, cognito.BackupVisitor{User: func(u cognito.User) error {
		return m.add(u.Sub, u.Username)
	}})
	if err == nil {
		err = m.build()
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Close frees the files a folder-backed map uses (not the migrated users').
func (m *SubMap) Close() {
	m.oldStore.Close()
	m.usrStore.Close()
	m.arena.Close()
	m.olds, m.byUser = nil, nil
}

func (m *SubMap) add(sub, username string) error {
	ref, err := m.arena.Add(username)
	if err != nil {
		return err
	}
	id := oldIdentity{user: ref, target: -1}
	if i, ok := m.migrated.Index(sub); ok {
		id.target = i
		m.Mapped++
	} else {
		m.Unmatched = append(m.Unmatched, Identity{OldSub: sub, OldUsername: username})
	}
	if k, ok := cognito.ParseUUID(sub); ok {
		id.sub = k
		return m.oldStore.Add(id)
	}
	m.oddBySub[sub] = int32(len(m.odd))
	m.odd = append(m.odd, id)
	m.oddSubs = append(m.oddSubs, sub)
	return nil
}

func (m *SubMap) build() error {
	olds, err := m.oldStore.Seal()
	if err != nil {
		return err
	}
	sort.Slice(olds, func(i, j int) bool { return olds[i].sub.Less(olds[j].sub) })
	m.olds = olds
	if err := m.arena.Seal(); err != nil {
		return err
	}
	if m.usrStore, err = cognito.NewStore[cognito.HashSlot](m.dir, "identity-users"); err != nil {
		return err
	}
	for i := range m.olds {
		if err := m.usrStore.Add(cognito.HashSlot{Hash: cognito.HashString(m.arena.Get(m.olds[i].user)), Idx: int32(i)}); err != nil {
			return err
		}
	}
	for i := range m.odd {
		if err := m.usrStore.Add(cognito.HashSlot{Hash: cognito.HashString(m.arena.Get(m.odd[i].user)), Idx: int32(len(m.olds) + i)}); err != nil {
			return err
		}
	}
	if m.byUser, err = m.usrStore.Seal(); err != nil {
		return err
	}
	sort.Slice(m.byUser, func(i, j int) bool { return m.byUser[i].Hash < m.byUser[j].Hash })
	return nil
}

// at returns old identity i (olds, then odd).
func (m *SubMap) at(i int32) *oldIdentity {
	if int(i) >= len(m.olds) {
		return &m.odd[int(i)-len(m.olds)]
	}
	return &m.olds[i]
}

func (m *SubMap) bySub(sub string) (int32, bool) {
	if k, ok := cognito.ParseUUID(sub); ok {
		i := sort.Search(len(m.olds), func(i int) bool { return !m.olds[i].sub.Less(k) })
		if i < len(m.olds) && m.olds[i].sub == k {
			return int32(i), true
		}
		return 0, false
	}
	if i, ok := m.oddBySub[sub]; ok {
		return int32(len(m.olds)) + i, true
	}
	return 0, false
}

func (m *SubMap) byUsername(name string) (int32, bool) {
	h := cognito.HashString(name)
	for i := cognito.SearchHash(m.byUser, h); i < len(m.byUser) && m.byUser[i].Hash == h; i++ {
		if m.arena.Equal(m.at(m.byUser[i].Idx).user, name) {
			return m.byUser[i].Idx, true
		}
	}
	return 0, false
}

// identity spells out old identity i.
func (m *SubMap) identity(i int32) *Identity {
	id := m.at(i)
	out := &Identity{OldUsername: m.arena.Get(id.user)}
	if int(i) < len(m.olds) {
		out.OldSub = id.sub.String()
	} else {
		out.OldSub = m.oddSubs[int(i)-len(m.olds)]
	}
	if id.target >= 0 {
		tu := m.migrated.At(id.target)
		out.NewSub, out.NewUsername = tu.Sub, tu.Username
	}
	return out
}

// Lookup returns the identity of an old sub.
func (m *SubMap) Lookup(oldSub string) (Identity, bool) {
	i, ok := m.bySub(oldSub)
	if !ok {
		return Identity{}, false
	}
	return *m.identity(i), true
}

// Rewrite maps one stored owner value, keeping the form it has: v2 accepts
// "sub::username", a bare sub or a bare username in a sub::username field.
func (m *SubMap) Rewrite(claim, v string) (string, dynamo.ValueStatus) {
	nv, st, _ := m.classify(claim, v)
	return nv, st
}

// classify also returns the identity the value names, if any.
func (m *SubMap) classify(claim, v string) (string, dynamo.ValueStatus, *Identity) {
	switch claim {
	case "sub":
		return m.sub(v)
	case "username":
		return m.username(v)
	case "sub::username":
		if i := strings.Index(v, "::"); i >= 0 {
			sub := v[:i]
			if i, ok := m.bySub(sub); ok {
				if t := m.at(i).target; t >= 0 {
					tu := m.migrated.At(t)
					return tu.Sub + "::" + tu.Username, dynamo.ValueChanged, m.identity(i)
				}
				return v, dynamo.ValueUnmapped, m.identity(i)
			}
			if m.migrated.HasSub(sub) {
				return v, dynamo.ValueNew, nil
			}
			return v, dynamo.ValueUnmapped, nil
		}
		if nv, st, id := m.sub(v); st != dynamo.ValueUnmapped || id != nil {
			return nv, st, id
		}
		return m.username(v)
	}
	return v, dynamo.ValueUnmapped, nil
}

func (m *SubMap) sub(v string) (string, dynamo.ValueStatus, *Identity) {
	if i, ok := m.bySub(v); ok {
		if t := m.at(i).target; t >= 0 {
			return m.migrated.At(t).Sub, dynamo.ValueChanged, m.identity(i)
		}
		return v, dynamo.ValueUnmapped, m.identity(i)
	}
	if m.migrated.HasSub(v) {
		return v, dynamo.ValueNew, nil
	}
	return v, dynamo.ValueUnmapped, nil
}

// username maps an old username; when the new pool kept usernames the old
// and new values are the same, which the caller sees as already new.
func (m *SubMap) username(v string) (string, dynamo.ValueStatus, *Identity) {
	if i, ok := m.byUsername(v); ok {
		if t := m.at(i).target; t >= 0 {
			return m.migrated.At(t).Username, dynamo.ValueChanged, m.identity(i)
		}
		if m.migrated.HasUsername(v) {
			return v, dynamo.ValueNew, nil
		}
		return v, dynamo.ValueUnmapped, m.identity(i)
	}
	if m.migrated.HasUsername(v) {
		return v, dynamo.ValueNew, nil
	}
	return v, dynamo.ValueUnmapped, nil
}
