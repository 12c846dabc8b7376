package migration

import (
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
// username, the target pool (through custom:prev_sub_id) the new ones.
type SubMap struct {
	byOldSub      map[string]*Identity
	byOldUsername map[string]*Identity
	newSubs       map[string]bool
	newUsernames  map[string]bool
	Mapped        int
	Unmatched     []Identity // in the backup, not in the target
}

// BuildSubMap joins the backup's users with the target's migrated users.
func BuildSubMap(backup string, migrated map[string]cognito.TargetUser) (*SubMap, error) {
	m := &SubMap{byOldSub: map[string]*Identity{}, byOldUsername: map[string]*Identity{}, newSubs: map[string]bool{}, newUsernames: map[string]bool{}}
	for _, tu := range migrated {
		m.newSubs[tu.Sub] = true
		m.newUsernames[tu.Username] = true
	}
	_, _, err := cognito.ReadBackupFile(backup, cognito.BackupVisitor{User: func(u cognito.User) error {
		id := &Identity{OldSub: u.Sub, OldUsername: u.Username}
		if tu, ok := migrated[u.Sub]; ok {
			id.NewSub, id.NewUsername = tu.Sub, tu.Username
			m.Mapped++
		} else {
			m.Unmatched = append(m.Unmatched, *id)
		}
		m.byOldSub[u.Sub] = id
		m.byOldUsername[u.Username] = id
		return nil
	}})
	if err != nil {
		return nil, err
	}
	return m, nil
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
			if id := m.byOldSub[sub]; id != nil {
				if id.NewSub == "" {
					return v, dynamo.ValueUnmapped, id
				}
				return id.NewSub + "::" + id.NewUsername, dynamo.ValueChanged, id
			}
			if m.newSubs[sub] {
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
	if id := m.byOldSub[v]; id != nil {
		if id.NewSub == "" {
			return v, dynamo.ValueUnmapped, id
		}
		return id.NewSub, dynamo.ValueChanged, id
	}
	if m.newSubs[v] {
		return v, dynamo.ValueNew, nil
	}
	return v, dynamo.ValueUnmapped, nil
}

// username maps an old username; when the new pool kept usernames the old
// and new values are the same, which the caller sees as already new.
func (m *SubMap) username(v string) (string, dynamo.ValueStatus, *Identity) {
	if id := m.byOldUsername[v]; id != nil {
		if id.NewUsername == "" {
			if m.newUsernames[v] {
				return v, dynamo.ValueNew, nil
			}
			return v, dynamo.ValueUnmapped, id
		}
		return id.NewUsername, dynamo.ValueChanged, id
	}
	if m.newUsernames[v] {
		return v, dynamo.ValueNew, nil
	}
	return v, dynamo.ValueUnmapped, nil
}
