package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/poolmigrate/poolmigrate/storage/link"
)

// What storage link leaves to the operator, beside users not linked:
// copied users with conflicts (a key their old identity already held with
// another object: the version of the new login's own identity was not
// copied over it).

// linkConflicted names the copied users whose line in the link journal
// records conflicts.
func linkConflicted(r link.Result) []string {
	var out []string
	for _, e := range r.Entries {
		if e.Outcome == link.Copied && len(e.Conflicts) > 0 {
			out = append(out, e.OldUsername)
		}
	}
	return out
}

// linkConflictsError makes storage link exit 1 while a copied user has a
// conflict, as storage copy does for its conflicts.
func linkConflictsError(users []string) error {
	if len(users) == 0 {
		return nil
	}
	return storageIncomplete{fmt.Sprintf("storage link copied %d user(s) with conflicts: %s (listed above: a file their old identity already held under the same name was kept and the version of their new login's own identity was not copied over it; its object stays in the bucket until retire: compare the two and copy it by hand if need be)",
		len(users), strings.Join(users, ", "))}
}

// linkNotUndone is what storage rollback cannot undo of storage link.
const linkNotUndone = "storage link's links stay: each user's new login stays linked to their old identity (a login cannot be moved back, and the identity of the new login's own that it copied from was deleted); the files copied from stay in the bucket under that deleted identity until retire, where the user no longer reaches them"

// linkCopyJournals are storage link's copy journals of the buckets (users
// who signed in to the new pool early: link.CopyOptions.JournalPath).
func (s *storageSetup) linkCopyJournals() []string {
	var out []string
	for _, b := range s.buckets {
		o := link.CopyOptions{Dir: filepath.Join(s.stateDir, "storage")}
		if j := o.JournalPath(b.Name); statOK(j) {
			out = append(out, j)
		}
	}
	return out
}

func statOK(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
