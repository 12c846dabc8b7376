package migration

import (
	"sort"
	"strings"
	"time"

	"github.com/poolmigrate/poolmigrate/cognito"
)

// backupIndex answers, for an old sub, when the backup saw that user last
// modified: about 24 bytes a user (in a spill file when given a folder),
// so a pool of millions is compared without holding the backup.
type backupIndex struct {
	entries []backupEntry // sorted by sub
	odd     map[string]int64
	store   *cognito.Store[backupEntry]
	users   int64
}

type backupEntry struct {
	sub      cognito.UUIDKey
	modified int64 // UnixNano
}

func readBackupIndex(path, dir string) (*backupIndex, cognito.BackupHeader, error) {
	st, err := cognito.NewStore[backupEntry](dir, "retire-backup")
	if err != nil {
		return nil, cognito.BackupHeader{}, err
	}
	idx := &backupIndex{odd: map[string]int64{}, store: st}
	hdr, _, err := cognito.ReadBackupFile(path, cognito.BackupVisitor{User: func(u cognito.User) error {
		idx.users++
		var ns int64 // 0: the backup has no date
		if !u.Modified.IsZero() {
			ns = u.Modified.UnixNano()
		}
		if k, ok := cognito.ParseUUID(u.Sub); ok {
			return st.Add(backupEntry{k, ns})
		}
		idx.odd[u.Sub] = ns
		return nil
	}})
	if err == nil {
		idx.entries, err = st.Seal()
	}
	if err != nil {
		idx.close()
		return nil, hdr, err
	}
	sort.Slice(idx.entries, func(i, j int) bool { return idx.entries[i].sub.Less(idx.entries[j].sub) })
	return idx, hdr, nil
}

// modified returns when the backup saw the user last modified (the zero
// time when it has no date).
func (b *backupIndex) modified(sub string) (time.Time, bool) {
	ns, ok := b.odd[sub]
	if k, isUUID := cognito.ParseUUID(sub); isUUID {
		i := sort.Search(len(b.entries), func(i int) bool { return !b.entries[i].sub.Less(k) })
		ok = i < len(b.entries) && b.entries[i].sub == k
		if ok {
			ns = b.entries[i].modified
		}
	}
	if !ok || ns == 0 {
		return time.Time{}, ok
	}
	return time.Unix(0, ns).UTC(), true
}

func (b *backupIndex) close() { b.store.Close() }

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
