// Package amplifysim does to an Amplify project's files what the Amplify
// CLI commands of a user pool migration do, so tests and the demo can run
// the whole flow without AWS: `amplify remove auth` followed by `amplify add
// auth`, and the `amplify push` that creates the new pool.
package amplifysim

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

var configFiles = []string{"amplify/backend/backend-config.json", "amplify/backend/amplify-meta.json"}

// ReplaceAuth removes auth resource old and adds newName, as `amplify
// remove auth` and `amplify add auth` do: the entries in backend-config.json
// and amplify-meta.json (the new one without outputs until a push), the
// resource folder, and team-provider-info's categories.auth entry. Like the
// CLI, it refuses while another resource depends on old.
func ReplaceAuth(root, old, newName string) error {
	for _, f := range configFiles {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		var blocking []string
		gjson.ParseBytes(data).ForEach(func(cat, res gjson.Result) bool {
			res.ForEach(func(name, r gjson.Result) bool {
				for _, d := range r.Get("dependsOn").Array() {
					if d.Get("category").String() == "auth" && d.Get("resourceName").String() == old {
						blocking = append(blocking, cat.String()+"/"+name.String())
					}
				}
				return true
			})
			return true
		})
		if len(blocking) > 0 {
			return fmt.Errorf("amplify remove auth would refuse: resource cannot be removed because it has a dependency on another resource: %v", blocking)
		}
	}
	for _, f := range configFiles {
		p := filepath.Join(root, f)
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s, err := sjson.Delete(string(data), "auth."+gjson.Escape(old))
		if err != nil {
			return err
		}
		entry := `{"service": "Cognito", "providerPlugin": "awscloudformation", "dependsOn": [], "customAuth": false}`
		if s, err = sjson.SetRaw(s, "auth."+gjson.Escape(newName), entry); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			return err
		}
	}
	tpi := filepath.Join(root, "amplify/team-provider-info.json")
	if data, err := os.ReadFile(tpi); err == nil {
		s := string(data)
		gjson.Parse(s).ForEach(func(env, _ gjson.Result) bool {
			s, _ = sjson.Delete(s, gjson.Escape(env.String())+".categories.auth."+gjson.Escape(old))
			return true
		})
		if err := os.WriteFile(tpi, []byte(s), 0o644); err != nil {
			return err
		}
	}
	dir := filepath.Join(root, "amplify/backend/auth")
	if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(dir, newName), 0o755)
}

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
