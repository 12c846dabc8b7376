package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/link"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// linkBedMinter signs a user in with their password: the test bed's
// stand-in for the token trio (tokenmint's own tests run the trio).
type linkBedMinter struct {
	t            *testing.T
	env          *testenv.Env
	pool, client string
}

func (m linkBedMinter) Mint(_ context.Context, username string) (string, error) {
	return m.env.IDToken(m.t, m.pool, m.client, username, "Link-Pass-1!"), nil
}

// getIDRecorder records the subs of each GetId's logins, provider → sub.
type getIDRecorder struct {
	link.API
	mu    sync.Mutex
	calls []map[string]string
}

func (r *getIDRecorder) GetId(ctx context.Context, in *cognitoidentity.GetIdInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.GetIdOutput, error) {
	call := map[string]string{}
	for p, tok := range in.Logins {
		var c struct{ Sub string }
		if parts := strings.Split(tok, "."); len(parts) == 3 {
			body, _ := base64.RawURLEncoding.DecodeString(parts[1])
			_ = json.Unmarshal(body, &c)
		}
		call[p] = c.Sub
	}
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
	return r.API.GetId(ctx, in, optFns...)
}

// TestStorageLinkLinksOnlyCheckedClaims: alice and bob had identities
// (with files) through the old pool; bob migrated (a claim the backup
// agrees with) and is linked: his new login answers his old id. mallory,
// a new-pool user whose custom:prev_sub_id names alice (a forged claim),
// is refused: no GetId ever carries her login, and alice's identity stays
// alice's alone. The command exits 1 for the refused claim and names it.
func TestStorageLinkLinksOnlyCheckedClaims(t *testing.T) {
	env := testenv.Require(t)
	const pw = "Link-Pass-1!"
	oldPool := env.NewPool(t, testenv.PoolOptions{})
	newPool := env.NewPool(t, testenv.PoolOptions{Custom: []string{"prev_sub_id", "prev_username"}})
	oldClient, newClient := env.NewSignInClient(t, oldPool), env.NewSignInClient(t, newPool)
	ip := env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: oldPool, ClientID: oldClient}, testenv.UserPoolLogin{UserPoolID: newPool, ClientID: newClient})
	oldProvider, newProvider := testenv.UserPoolProvider(env.Config.Region, oldPool), testenv.UserPoolProvider(env.Config.Region, newPool)
	idOf := func(provider, pool, client, name string) string {
		return env.IdentityID(t, ip, map[string]string{provider: env.IDToken(t, pool, client, name, pw)})
	}
	oldSubs, had := map[string]string{}, map[string]string{}
	s3c := env.S3(t)
	bucket := testenv.NewBucket(t, s3c)
	for _, name := range []string{"alice", "bob"} {
		oldSubs[name] = env.NewSignInUser(t, oldPool, name, pw)
		had[name] = idOf(oldProvider, oldPool, oldClient, name)
		testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: "private/" + had[name] + "/doc.txt", Body: []byte(name)})
	}
	dir := t.TempDir()
	backup := filepath.Join(dir, "old.jsonl")
	if _, stderr, err := runApp(t, dir, nil, "backup", "--pool", oldPool, "--out", backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	bobNew := env.NewSignInUser(t, newPool, "bob", pw, cognito.PrevSubAttr, oldSubs["bob"], cognito.PrevUsernameAttr, "bob")
	malloryNew := env.NewSignInUser(t, newPool, "mallory", pw, cognito.PrevSubAttr, oldSubs["alice"], cognito.PrevUsernameAttr, "alice")

	// The tokens come from app clients of the tool's own, which the
	// identity pool does not list (as the trio's): the run lists them for
	// itself and takes them out after.
	oldTool, newTool := env.NewSignInClient(t, oldPool), env.NewSignInClient(t, newPool)
	rec := &getIDRecorder{}
	linkTestHooks.minters = func(o, n string) (identitymap.Minter, identitymap.Minter, string, string) {
		return linkBedMinter{t, env, o, oldTool}, linkBedMinter{t, env, n, newTool}, oldTool, newTool
	}
	linkTestHooks.identity = func(api link.API) link.API { rec.API = api; return rec }
	t.Cleanup(func() { linkTestHooks.minters, linkTestHooks.identity = nil, nil })

	args := []string{"storage", "link", "--backup", backup, "--target-pool", newPool, "--identity-pool", ip, "--yes", "--json"}
	out, stderr, err := runApp(t, dir, nil, append(args, "--dry-run")...)
	var rep storageLinkReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil || strings.Join(rep.Pending, ",") != "bob" || len(rec.calls) != 0 {
		t.Fatalf("dry run: pending %v, %d GetId, err %v / %v\n%s%s", rep.Pending, len(rec.calls), err, jerr, out, stderr)
	}

	out, stderr, err = runApp(t, dir, nil, args...)
	var exit interface{ ExitCode() int }
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr, "mallory") {
		t.Fatalf("storage link: %v, want exit 1 naming mallory's refused claim\n%s", err, stderr)
	}
	for _, c := range rec.calls {
		if c[newProvider] == malloryNew || c[oldProvider] == oldSubs["alice"] {
			t.Errorf("a GetId carried mallory's or alice's login: %v", c)
		}
	}
	rep = storageLinkReport{}
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("--json: %v\n%s", jerr, out)
	}
	if rep.Link.Count(link.Linked) != 1 || len(rep.Link.Entries) != 1 || rep.Link.Entries[0].NewSub != bobNew || len(rep.RefusedClaims) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if got := idOf(newProvider, newPool, newClient, "bob"); got != had["bob"] {
		t.Errorf("bob's new login answers %s, not his identity %s", got, had["bob"])
	}
	if got := idOf(newProvider, newPool, newClient, "mallory"); got == had["alice"] {
		t.Errorf("mallory's login answers alice's identity %s", got)
	}
	desc, derr := env.CognitoIdentity(t).DescribeIdentity(context.Background(), &cognitoidentity.DescribeIdentityInput{IdentityId: &[]string{had["alice"]}[0]})
	if derr != nil || len(desc.Logins) != 1 || desc.Logins[0] != oldProvider {
		t.Errorf("alice's identity: %v, logins %v", derr, desc.Logins)
	}
	// The identity pool lists what it listed before the run.
	d, derr := env.CognitoIdentity(t).DescribeIdentityPool(context.Background(), &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &ip})
	if derr != nil || len(d.CognitoIdentityProviders) != 2 {
		t.Errorf("the identity pool lists %d providers after the run, want the 2 it had (%v)", len(d.CognitoIdentityProviders), derr)
	}
	for _, p := range d.CognitoIdentityProviders {
		if c := *p.ClientId; c == oldTool || c == newTool {
			t.Errorf("the tool's client %s is still listed for %s", c, *p.ProviderName)
		}
	}
	// Run again: bob is in the journal, so no token is minted and no
	// GetId asked.
	calls := len(rec.calls)
	linkTestHooks.minters = func(string, string) (identitymap.Minter, identitymap.Minter, string, string) {
		t.Error("a second run put the trio on the pools with every user in the journal")
		return nil, nil, "", ""
	}
	out, stderr, err = runApp(t, dir, nil, args...)
	rep = storageLinkReport{}
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil || rep.Link.Count(link.Linked) != 1 || len(rec.calls) != calls {
		t.Errorf("second run: %v / %v, %d more GetId, report %+v\n%s", err, jerr, len(rec.calls)-calls, rep, stderr)
	}
	if fi, err := os.Stat(filepath.Join(dir, ".poolmigrate", "storage", "link.jsonl")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal: %v", err)
	}
}

// TestStorageLinkRefusesWithoutBothProviders: an identity pool that lists
// only the new user pool is refused before anything, naming the change.
func TestStorageLinkRefusesWithoutBothProviders(t *testing.T) {
	env := testenv.Require(t)
	oldPool := env.NewPool(t, testenv.PoolOptions{})
	newPool := env.NewPool(t, testenv.PoolOptions{Custom: []string{"prev_sub_id", "prev_username"}})
	ip := env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: newPool, ClientID: env.NewSignInClient(t, newPool)})
	env.NewSignInUser(t, oldPool, "bob", "Link-Pass-1!")
	dir := t.TempDir()
	backup := filepath.Join(dir, "old.jsonl")
	if _, stderr, err := runApp(t, dir, nil, "backup", "--pool", oldPool, "--out", backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	minted := false
	linkTestHooks.minters = func(string, string) (identitymap.Minter, identitymap.Minter, string, string) {
		minted = true
		return nil, nil, "", ""
	}
	t.Cleanup(func() { linkTestHooks.minters = nil })
	_, _, err := runApp(t, dir, nil, "storage", "link", "--backup", backup, "--target-pool", newPool, "--identity-pool", ip, "--yes")
	if err == nil || !strings.Contains(err.Error(), testenv.UserPoolProvider(env.Config.Region, oldPool)) || !strings.Contains(err.Error(), "backend.ts") || minted {
		t.Fatalf("storage link: %v (minted %v), want a refusal naming the old provider", err, minted)
	}
}

// TestStorageLinkBackendBlock: --backend writes the Gen 2 link-window
// block naming the backup's pool (--dry-run only shows it), --close
// removes it, --undo restores the file as it was.
func TestStorageLinkBackendBlock(t *testing.T) {
	env := testenv.Require(t)
	oldPool := env.NewPool(t, testenv.PoolOptions{})
	root := copyGen2App(t)
	backup := filepath.Join(t.TempDir(), "old.jsonl")
	if _, stderr, err := runApp(t, root, nil, "backup", "--pool", oldPool, "--out", backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	backend := filepath.Join(root, "amplify", "backend.ts")
	original, _ := os.ReadFile(backend)
	args := []string{"storage", "link", "--backend", "--backup", backup, "--old-client", "oldclient1", "--region", "us-east-1"}
	out, stderr, err := runApp(t, root, nil, append(args, "--dry-run")...)
	if now, _ := os.ReadFile(backend); err != nil || string(now) != string(original) || !strings.Contains(out, oldPool) {
		t.Fatalf("--dry-run: %v, wrote %v\n%s%s", err, string(now) != string(original), out, stderr)
	}
	if _, stderr, err = runApp(t, root, nil, args...); err != nil {
		t.Fatalf("--backend: %v\n%s", err, stderr)
	}
	written, _ := os.ReadFile(backend)
	if !strings.Contains(string(written), "'cognito-idp.us-east-1.amazonaws.com/"+oldPool+"', clientId: 'oldclient1'") {
		t.Fatalf("backend.ts:\n%s", written)
	}
	if _, stderr, err = runApp(t, root, nil, "storage", "link", "--backend", "--close"); err != nil {
		t.Fatalf("--close: %v\n%s", err, stderr)
	}
	if now, _ := os.ReadFile(backend); string(now) != string(original) {
		t.Errorf("--close left\n%s", now)
	}
	if _, stderr, err = runApp(t, root, nil, "storage", "link", "--backend", "--undo"); err != nil {
		t.Fatalf("--undo: %v\n%s", err, stderr)
	}
	if now, _ := os.ReadFile(backend); string(now) != string(written) {
		t.Errorf("--undo of the close left\n%s", now)
	}
	if _, _, err = runApp(t, root, nil, "storage", "link", "--close"); err == nil {
		t.Error("--close without --backend accepted")
	}
}
