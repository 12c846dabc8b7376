// Package amplifysim does on the test bed and to an Amplify project's files
// what `amplify push` does, the one step of a migration that needs AWS:
// the auth stack's app clients and identity pool, the storage bucket, the
// identity pool deleted with a removed auth stack unless retained, and the
// outputs recorded in amplify-meta.json. Every offline step runs the real
// CLI (package amplifycli).
package amplifysim

import (
	"os"
	"path/filepath"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Push records the new auth resource's pool id in amplify-meta.json, as
// `amplify push` does after creating the pool.
func Push(root, auth, poolID string) error {
	p := filepath.Join(root, "amplify/backend/amplify-meta.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	s, err := sjson.Set(string(data), "auth."+gjson.Escape(auth)+".output.UserPoolId", poolID)
	if err != nil {
		return err
	}
	return os.WriteFile(p, []byte(s), 0o644)
}
