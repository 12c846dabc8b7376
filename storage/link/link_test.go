package link_test

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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/link"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// passwordMinter signs users in with their passwords: the test bed's
// stand-in for tokenmint (whose own tests run the trio), giving the same
// ID tokens of the pool.
type passwordMinter struct {
	env          *testenv.Env
	t            *testing.T
	pool, client string
	passwords    map[string]string
	answerAs     map[string]string // username → whose token to give instead
	calls        int
}

func (m *passwordMinter) Mint(_ context.Context, username string) (string, error) {
	m.calls++
	who := username
	if other, ok := m.answerAs[username]; ok {
		who = other
	}
	pw, ok := m.passwords[who]
	if !ok {
		return "", errors.New("no such user")
	}
	return m.env.IDToken(m.t, m.pool, m.client, who, pw), nil
}

// recorder records each GetId's logins as provider → the token's sub.
type recorder struct {
	link.API
	mu    sync.Mutex
	calls []map[string]string
	// failDelete, when set, fails DeleteIdentities once (a run stopped
	// after GetId made an identity and before it was deleted).
	failDelete bool
	// unlinking, when set, drops every login but this provider's from a
	// GetId of several: an identity pool that answers without linking.
	unlinking string
}

func (r *recorder) GetId(ctx context.Context, in *cognitoidentity.GetIdInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.GetIdOutput, error) {
	call := map[string]string{}
	for p, tok := range in.Logins {
		call[p] = tokenSub(tok)
	}
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
	if r.unlinking != "" && len(in.Logins) > 1 {
		only := *in
		only.Logins = map[string]string{r.unlinking: in.Logins[r.unlinking]}
		in = &only
	}
	return r.API.GetId(ctx, in, optFns...)
}

func (r *recorder) DeleteIdentities(ctx context.Context, in *cognitoidentity.DeleteIdentitiesInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.DeleteIdentitiesOutput, error) {
	if r.failDelete {
		r.failDelete = false
		return nil, errors.New("stopped")
	}
	return r.API.DeleteIdentities(ctx, in, optFns...)
}

func tokenSub(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "?"
	}
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct{ Sub string }
	_ = json.Unmarshal(body, &c)
	return c.Sub
}

type bed struct {
	env              *testenv.Env
	api              *recorder
	oldPool, newPool string
	oldClient        string
	newClient        string
	ip               string
	oldMint, newMint *passwordMinter
	users            map[string]identitymap.User
	// had are the identity ids the users had before the run.
	had map[string]string
}

func password(name string) string { return strings.ToUpper(name[:1]) + name[1:] + "-Pass-1!" }

// newBed: an old and a new user pool, both providers of one identity
// pool (the window of a Gen 2 move); alice, bob and dave signed in to it
// with the old pool (they have identities, with files), carol never did;
// dave also signed in with the new pool before the link. Each migrated to
// a new user of their own.
func newBed(t *testing.T, bothProviders bool) *bed {
	env := testenv.Require(t)
	b := &bed{env: env, api: &recorder{API: env.CognitoIdentity(t)}, users: map[string]identitymap.User{}, had: map[string]string{}}
	b.oldPool, b.newPool = env.NewPool(t, testenv.PoolOptions{}), env.NewPool(t, testenv.PoolOptions{})
	b.oldClient, b.newClient = env.NewSignInClient(t, b.oldPool), env.NewSignInClient(t, b.newPool)
	logins := []testenv.UserPoolLogin{{UserPoolID: b.newPool, ClientID: b.newClient}}
	if bothProviders {
		logins = append(logins, testenv.UserPoolLogin{UserPoolID: b.oldPool, ClientID: b.oldClient})
	}
	b.ip = env.NewIdentityPool(t, false, logins...)
	b.oldMint = &passwordMinter{env: env, t: t, pool: b.oldPool, client: b.oldClient, passwords: map[string]string{}}
	b.newMint = &passwordMinter{env: env, t: t, pool: b.newPool, client: b.newClient, passwords: map[string]string{}}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		pw := password(name)
		oldSub := env.NewSignInUser(t, b.oldPool, name, pw)
		newSub := env.NewSignInUser(t, b.newPool, name+"-new", pw)
		b.oldMint.passwords[name], b.newMint.passwords[name+"-new"] = pw, pw
		b.users[name] = identitymap.User{OldSub: oldSub, OldUsername: name, NewSub: newSub, NewUsername: name + "-new"}
		if name != "carol" && bothProviders {
			b.had[name] = b.oldID(t, name)
		}
	}
	if bothProviders {
		b.had["dave-new"] = b.newID(t, "dave")
	}
	return b
}

func (b *bed) provider(pool string) string {
	return testenv.UserPoolProvider(b.env.Config.Region, pool)
}

// oldID and newID are what the old and the new login alone answer.
func (b *bed) oldID(t *testing.T, name string) string {
	return b.env.IdentityID(t, b.ip, map[string]string{b.provider(b.oldPool): b.env.IDToken(t, b.oldPool, b.oldClient, name, password(name))})
}

func (b *bed) newID(t *testing.T, name string) string {
	return b.env.IdentityID(t, b.ip, map[string]string{b.provider(b.newPool): b.env.IDToken(t, b.newPool, b.newClient, name+"-new", password(name))})
}

func (b *bed) options(path string, names ...string) link.Options {
	o := link.Options{
		IdentityPool: b.ip,
		Old:          identitymap.Side{UserPool: b.oldPool, Region: b.env.Config.Region, Minter: b.oldMint},
		New:          identitymap.Side{UserPool: b.newPool, Region: b.env.Config.Region, Minter: b.newMint},
		Path:         path, Command: "storage link",
	}
	for _, n := range names {
		o.Users = append(o.Users, b.users[n])
	}
	return o
}

func (b *bed) identities(t *testing.T) map[string]bool {
	t.Helper()
	out, err := b.env.CognitoIdentity(t).ListIdentities(context.Background(), &cognitoidentity.ListIdentitiesInput{IdentityPoolId: &b.ip, MaxResults: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, d := range out.Identities {
		ids[aws.ToString(d.IdentityId)] = true
	}
	return ids
}

// TestRunLinksEachUsersIdentity: alice's and bob's new logins answer their
// old identity ids afterwards (their files stay where they are and are
// theirs); dave, who signed in to the new pool before the link, is
// reported "needs copy" with both ids and his new login still answers its
// own; carol, who had no identity, has none left made for her; the run
// exits incomplete naming dave; a second run asks nothing.
func TestRunLinksEachUsersIdentity(t *testing.T) {
	b := newBed(t, true)
	ctx := context.Background()
	s3c := b.env.S3(t)
	bucket := testenv.NewBucket(t, s3c)
	for _, name := range []string{"alice", "bob"} {
		testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: "private/" + b.had[name] + "/photo.jpg", Body: []byte(name)})
	}
	path := filepath.Join(t.TempDir(), "storage", "link.jsonl")
	before := b.identities(t)
	res, err := link.Run(ctx, b.api, b.options(path, "alice", "bob", "carol", "dave"))
	var inc *link.IncompleteError
	if !errors.As(err, &inc) || strings.Join(inc.Users, ",") != "dave" {
		t.Fatalf("Run: %v, want dave not linked", err)
	}
	if res.Count(link.Linked) != 2 || res.Count(link.NeedsCopy) != 1 || res.Count(link.NoIdentity) != 1 || res.Deleted != 1 || res.Asked != 4 {
		t.Fatalf("linked %d, needs copy %d, no identity %d, deleted %d, asked %d; want 2, 1, 1, 1, 4 (%+v)",
			res.Count(link.Linked), res.Count(link.NeedsCopy), res.Count(link.NoIdentity), res.Deleted, res.Asked, res)
	}
	for _, name := range []string{"alice", "bob"} {
		got := b.newID(t, name)
		if got != b.had[name] {
			t.Errorf("%s's new login answers %s, not her old identity %s", name, got, b.had[name])
		}
		if keys := testenv.ListKeys(t, s3c, bucket, "private/"+got+"/"); len(keys) != 1 {
			t.Errorf("%s sees %v under her identity", name, keys)
		}
	}
	for _, e := range res.Entries {
		switch e.OldUsername {
		case "dave":
			if e.Outcome != link.NeedsCopy || e.Old != b.had["dave"] || e.New != b.had["dave-new"] {
				t.Errorf("dave: %+v, want needs copy from %s to %s", e, b.had["dave-new"], b.had["dave"])
			}
		case "carol":
			if e.Outcome != link.NoIdentity || e.Old != "" {
				t.Errorf("carol: %+v", e)
			}
		default:
			if e.Proven.IsZero() {
				t.Errorf("%s: no proof recorded", e.OldUsername)
			}
		}
	}
	if got := b.newID(t, "dave"); got != b.had["dave-new"] {
		t.Errorf("dave's new login answers %s, want his own %s unchanged", got, b.had["dave-new"])
	}
	// The listing after the run holds exactly the identities before it:
	// carol's made one was deleted, no other was made.
	after := b.identities(t)
	if len(after) != len(before) {
		t.Errorf("the identity pool had %d identities and has %d", len(before), len(after))
	}
	for id := range after {
		if !before[id] {
			t.Errorf("identity %s was left made by the run", id)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal: %v, mode %v", err, fi.Mode())
	}
	if data, _ := os.ReadFile(path); strings.Contains(string(data), "eyJ") {
		t.Error("the journal holds a token")
	}

	// Resumed: nothing asked again.
	calls, getIDs := b.oldMint.calls+b.newMint.calls, len(b.api.calls)
	again, err := link.Run(ctx, b.api, b.options(path, "alice", "bob", "carol", "dave"))
	if !errors.As(err, &inc) || again.Asked != 0 || len(again.Entries) != 4 || b.oldMint.calls+b.newMint.calls != calls || len(b.api.calls) != getIDs {
		t.Fatalf("second run: asked %d, %d entries, %d more tokens, %d more GetId, err %v", again.Asked, len(again.Entries), b.oldMint.calls+b.newMint.calls-calls, len(b.api.calls)-getIDs, err)
	}
	dry, pending, err := link.Read(path, b.options(path, "alice", "bob", "carol", "dave"))
	if err != nil || len(pending) != 0 || dry.Count(link.Linked) != 2 {
		t.Fatalf("Read: %+v, pending %v, %v", dry, pending, err)
	}
}

// TestRunRefusesAPoolWithoutTheOldProvider: an identity pool listing only
// the new user pool is refused before any token or GetId, naming the
// backend change.
func TestRunRefusesAPoolWithoutTheOldProvider(t *testing.T) {
	b := newBed(t, false)
	_, err := link.Run(context.Background(), b.api, b.options(filepath.Join(t.TempDir(), "link.jsonl"), "alice"))
	var missing *link.MissingProviderError
	if !errors.As(err, &missing) || len(missing.Missing) != 1 || missing.Missing[0] != b.provider(b.oldPool) || !strings.Contains(err.Error(), "backend.ts") {
		t.Fatalf("Run: %v, want the old provider named missing", err)
	}
	if len(b.api.calls) != 0 || b.oldMint.calls+b.newMint.calls != 0 {
		t.Errorf("%d GetId and %d tokens before the refusal", len(b.api.calls), b.oldMint.calls+b.newMint.calls)
	}
}

// TestRunRefusesAnotherUsersToken: a minter answering alice's request for
// a new-pool token with bob's (as a trio tricked into it would) links
// nothing: no GetId ever carries alice's old login with bob's new one, and
// bob's new login does not answer alice's identity.
func TestRunRefusesAnotherUsersToken(t *testing.T) {
	b := newBed(t, true)
	b.newMint.answerAs = map[string]string{"alice-new": "bob-new"}
	res, err := link.Run(context.Background(), b.api, b.options(filepath.Join(t.TempDir(), "link.jsonl"), "alice"))
	var inc *link.IncompleteError
	if !errors.As(err, &inc) || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Error, "names sub") {
		t.Fatalf("Run: %v, failures %+v", err, res.Failures)
	}
	for _, c := range b.api.calls {
		if len(c) > 1 {
			t.Errorf("a GetId carried two logins: %v", c)
		}
	}
	if got := b.newID(t, "bob"); got == b.had["alice"] {
		t.Errorf("bob's new login answers alice's identity %s", got)
	}
}

// TestRunRecordsALinkOnlyWhenProven: an identity pool that answers the
// two-login GetId with the old id but links nothing leaves alice not
// linked (the new login alone answers another id), named as failed.
func TestRunRecordsALinkOnlyWhenProven(t *testing.T) {
	b := newBed(t, true)
	b.api.unlinking = b.provider(b.oldPool)
	res, err := link.Run(context.Background(), b.api, b.options(filepath.Join(t.TempDir(), "link.jsonl"), "alice"))
	var inc *link.IncompleteError
	if !errors.As(err, &inc) || res.Count(link.Linked) != 0 || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Error, "proof") {
		t.Fatalf("Run: %v, entries %+v, failures %+v", err, res.Entries, res.Failures)
	}
}

// TestRunResumedDeletesTheIdentityItMade: a run stopped after GetId made
// carol an identity (she had none) leaves it listed; the next run takes it
// for the run's (made after carol's ask line), deletes it, and links
// nothing for her.
func TestRunResumedDeletesTheIdentityItMade(t *testing.T) {
	b := newBed(t, true)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "link.jsonl")
	before := b.identities(t)
	b.api.failDelete = true
	res, err := link.Run(ctx, b.api, b.options(path, "carol"))
	if err == nil || len(res.Failures) != 1 || len(b.identities(t)) != len(before)+1 {
		t.Fatalf("first run: %v, failures %+v, %d identities (had %d)", err, res.Failures, len(b.identities(t)), len(before))
	}
	res, err = link.Run(ctx, b.api, b.options(path, "carol"))
	if err != nil || res.Count(link.NoIdentity) != 1 || res.Deleted != 1 {
		t.Fatalf("second run: %v, %+v", err, res)
	}
	if after := b.identities(t); len(after) != len(before) {
		t.Errorf("the identity pool had %d identities and has %d", len(before), len(after))
	}
}
