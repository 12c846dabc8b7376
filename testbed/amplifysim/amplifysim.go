// Package amplifysim does to an Amplify project's files what `amplify push`
// does after it creates the new pool, the one step of a migration that
// needs AWS. Every offline step runs the real CLI (package amplifycli).
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
