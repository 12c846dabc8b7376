package gen2synth

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// FederatedAuth is the example's auth (amplify/auth/resource.ts) with
// Google and Facebook sign-in: client ids and secrets through secret()
// (held by the branch's or sandbox's secrets, never in the files).
const FederatedAuth = `import { defineAuth, secret } from '@aws-amplify/backend';

export const auth = defineAuth({
  loginWith: {
    email: true,
    externalProviders: {
      google: {
        clientId: secret('GOOGLE_CLIENT_ID'),
        clientSecret: secret('GOOGLE_CLIENT_SECRET'),
        scopes: ['email', 'profile', 'openid'],
        attributeMapping: { email: 'email', fullname: 'name' },
      },
      facebook: {
        clientId: secret('FACEBOOK_CLIENT_ID'),
        clientSecret: secret('FACEBOOK_CLIENT_SECRET'),
        scopes: ['public_profile', 'email'],
        attributeMapping: { email: 'email' },
      },
      callbackUrls: ['http://localhost:3000/'],
      logoutUrls: ['http://localhost:3000/'],
    },
  },
  userAttributes: {
    email: { required: true, mutable: true },
  },
  groups: ['ADMINS', 'EDITORS'],
});
`

// CopyExample copies the Gen 2 example (examples/gen2-app) to the folder
// name in a fresh folder of the test's, for the test to change and
// synthesize; auth, when not "", replaces its amplify/auth/resource.ts
// (FederatedAuth: Google and Facebook sign-in).
func CopyExample(t testing.TB, name, auth string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := testenv.CopyTree(filepath.Join(repoRoot(), "examples", "gen2-app"), dir); err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		if err := os.WriteFile(filepath.Join(dir, "amplify", "auth", "resource.ts"), []byte(auth), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
