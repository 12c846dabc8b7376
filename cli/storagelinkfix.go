package cli

import (
	"fmt"
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
