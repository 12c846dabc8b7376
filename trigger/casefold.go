package trigger

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// When the old pool tells usernames apart by case and the new pool does
// not, two old users named alike but for case (Alice, alice) are one name
// in the new pool: whoever signs in first takes it, and the other is
// locked out. `trigger deploy` finds such names in the backup and gives
// them to the trigger (CASE_COLLISIONS), which refuses them; they come
// over with the import, where the export's --on-duplicate decides.

// CaseKey names a username to the trigger without the name itself (the
// function's settings are readable to more people than the backup): the
// first 16 hex digits of the SHA-256 of its lower-case form.
func CaseKey(username string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(username)))
	return hex.EncodeToString(sum[:8])
}

// parseCaseKeys reads CASE_COLLISIONS: CaseKeys, comma-separated.
func parseCaseKeys(v string) (map[string]bool, error) {
	keys := map[string]bool{}
	for _, k := range strings.Split(v, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if _, err := hex.DecodeString(k); err != nil || len(k) != 16 || strings.ToLower(k) != k {
			return nil, fmt.Errorf("CASE_COLLISIONS: %q is not a name's key (16 lower-case hex digits)", k)
		}
		keys[k] = true
	}
	return keys, nil
}

// collides says whether a name (as typed, or the old user's) is one that
// another old user's name equals when case is ignored.
func (c Config) collides(names ...string) bool {
	for _, n := range names {
		if n != "" && c.CaseCollisions[CaseKey(n)] {
			return true
		}
	}
	return false
}
