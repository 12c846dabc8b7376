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
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	return m.env.IDToken(m.t, m.pool, m.client, username, linkPassword), nil
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

// linkPassword is every linkBed user's password, in both pools.
const linkPassword = "Link-Pass-1!"

// linkBed is the link route's test bed: an old and a new user pool, each
// with an app client, one identity pool listing both, a bucket, and users
// of the old pool who each signed in through the identity pool and saved
// private/<their identity id>/doc.txt (their name as its body); the old
// pool's backup is taken. newUser adds a user of the new pool and
// useTool stands the test bed's password sign-in in for the token trio.
type linkBed struct {
	env                  *testenv.Env
	dir, backup          string
	oldPool, newPool     string
	oldClient, newClient string
	oldProv, newProv     string
	ip, bucket           string
	s3                   *s3.Client
	// oldSubs and had are each old user's sub and identity id, by name.
	oldSubs, had map[string]string
}

func newLinkBed(t *testing.T, dir string, names ...string) *linkBed {
	t.Helper()
	env := testenv.Require(t)
	b := &linkBed{env: env, dir: dir, oldSubs: map[string]string{}, had: map[string]string{}}
	b.oldPool = env.NewPool(t, testenv.PoolOptions{})
	b.newPool = env.NewPool(t, testenv.PoolOptions{Custom: []string{"prev_sub_id", "prev_username"}})
	b.oldClient, b.newClient = env.NewSignInClient(t, b.oldPool), env.NewSignInClient(t, b.newPool)
	b.ip = env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.oldPool, ClientID: b.oldClient}, testenv.UserPoolLogin{UserPoolID: b.newPool, ClientID: b.newClient})
	b.oldProv, b.newProv = testenv.UserPoolProvider(env.Config.Region, b.oldPool), testenv.UserPoolProvider(env.Config.Region, b.newPool)
	b.s3 = env.S3(t)
	b.bucket = testenv.NewBucket(t, b.s3)
	for _, name := range names {
		b.oldSubs[name] = env.NewSignInUser(t, b.oldPool, name, linkPassword)
		b.had[name] = b.oldID(t, name)
		testenv.PutObjects(t, b.s3, b.bucket, testenv.S3Object{Key: "private/" + b.had[name] + "/doc.txt", Body: []byte(name)})
	}
	b.backup = filepath.Join(dir, "old.jsonl")
	if _, stderr, err := runApp(t, dir, nil, "backup", "--pool", b.oldPool, "--out", b.backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	return b
}

// oldID and newID are the identity id the user's old (new) login answers.
func (b *linkBed) oldID(t *testing.T, name string) string {
	t.Helper()
	return b.env.IdentityID(t, b.ip, map[string]string{b.oldProv: b.env.IDToken(t, b.oldPool, b.oldClient, name, linkPassword)})
}

func (b *linkBed) newID(t *testing.T, name string) string {
	t.Helper()
	return b.env.IdentityID(t, b.ip, map[string]string{b.newProv: b.env.IDToken(t, b.newPool, b.newClient, name, linkPassword)})
}

// newUser makes name in the new pool, claiming to be the old user
// claimAs (custom:prev_sub_id and prev_username), and returns their sub.
func (b *linkBed) newUser(t *testing.T, name, claimAs string) string {
	t.Helper()
	return b.env.NewSignInUser(t, b.newPool, name, linkPassword, cognito.PrevSubAttr, b.oldSubs[claimAs], cognito.PrevUsernameAttr, claimAs)
}

// useTool makes storage link mint its tokens by password sign-in, through
// app clients of the tool's own that the identity pool does not list (as
// the trio's), and, with identity, wrap its identity client.
func (b *linkBed) useTool(t *testing.T, identity func(link.API) link.API) {
	oldTool, newTool := b.env.NewSignInClient(t, b.oldPool), b.env.NewSignInClient(t, b.newPool)
	linkTestHooks.minters = func(o, n string) (identitymap.Minter, identitymap.Minter, string, string) {
		return linkBedMinter{t, b.env, o, oldTool}, linkBedMinter{t, b.env, n, newTool}, oldTool, newTool
	}
	linkTestHooks.identity = identity
	t.Cleanup(func() { linkTestHooks.minters, linkTestHooks.identity = nil, nil })
}

// TestStorageLinkLinksOnlyCheckedClaims: alice and bob had identities
// (with files) through the old pool; bob migrated (a claim the backup
// agrees with) and is linked: his new login answers his old id. mallory,
// a new-pool user whose custom:prev_sub_id names alice (a forged claim),
// is refused: no GetId ever carries her login, and alice's identity stays
// alice's alone. The command exits 1 for the refused claim and names it.
func TestStorageLinkLinksOnlyCheckedClaims(t *testing.T) {
	dir := t.TempDir()
	b := newLinkBed(t, dir, "alice", "bob")
	env, backup, newPool, ip := b.env, b.backup, b.newPool, b.ip
	oldProvider, newProvider, oldSubs, had := b.oldProv, b.newProv, b.oldSubs, b.had
	bobNew := b.newUser(t, "bob", "bob")
	malloryNew := b.newUser(t, "mallory", "alice")

	rec := &getIDRecorder{}
	b.useTool(t, func(api link.API) link.API { rec.API = api; return rec })

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
	if got := b.newID(t, "bob"); got != had["bob"] {
		t.Errorf("bob's new login answers %s, not his identity %s", got, had["bob"])
	}
	if got := b.newID(t, "mallory"); got == had["alice"] {
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
		if c := *p.ClientId; c != b.oldClient && c != b.newClient {
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
