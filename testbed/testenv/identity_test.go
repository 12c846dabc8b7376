package testenv_test

import (
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// The helpers other tests build on: a user pool login an identity pool
// accepts, tokens minted by cognito-local, the same identity for the same
// user, another for another user.
func TestIdentityHelpers(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	client := env.NewSignInClient(t, pool)
	if sub := env.NewSignInUser(t, pool, "alice", "Alice-Pass-1!"); sub == "" {
		t.Fatal("no sub")
	}
	env.NewSignInUser(t, pool, "bob", "Bob-Pass-1!")
	ip := env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: pool, ClientID: client})
	provider := testenv.UserPoolProvider(env.Config.Region, pool)
	alice := env.IdentityID(t, ip, map[string]string{provider: env.IDToken(t, pool, client, "alice", "Alice-Pass-1!")})
	if again := env.IdentityID(t, ip, map[string]string{provider: env.IDToken(t, pool, client, "alice", "Alice-Pass-1!")}); again != alice {
		t.Errorf("alice's identity %s, then %s", alice, again)
	}
	if bob := env.IdentityID(t, ip, map[string]string{provider: env.IDToken(t, pool, client, "bob", "Bob-Pass-1!")}); bob == alice {
		t.Error("bob has alice's identity")
	}
}
