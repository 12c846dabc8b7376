package identitymap_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"github.com/poolmigrate/poolmigrate/storage/identitymap"
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
	fail         map[string]bool
	calls        int
}

func (m *passwordMinter) Mint(_ context.Context, username string) (string, error) {
	m.calls++
	if m.fail[username] {
		return "", errors.New("refused")
	}
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

type bed struct {
	env              *testenv.Env
	api              *cognitoidentity.Client
	oldPool, newPool string
	oldIP, newIP     string
	oldMint, newMint *passwordMinter
	users            map[string]identitymap.User
	// had are the old identity ids the users had before the run.
	had map[string]string
}

// newBed: an old and a new user pool, each with its identity pool; alice
// and bob signed in to the old pool's (they have identities), carol never
// did; each migrated to a new user of their own.
func newBed(t *testing.T) *bed {
	env := testenv.Require(t)
	b := &bed{env: env, api: env.CognitoIdentity(t), users: map[string]identitymap.User{}, had: map[string]string{}}
	b.oldPool, b.newPool = env.NewPool(t, testenv.PoolOptions{}), env.NewPool(t, testenv.PoolOptions{})
	oldClient, newClient := env.NewSignInClient(t, b.oldPool), env.NewSignInClient(t, b.newPool)
	b.oldIP = env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.oldPool, ClientID: oldClient})
	b.newIP = env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.newPool, ClientID: newClient})
	b.oldMint = &passwordMinter{env: env, t: t, pool: b.oldPool, client: oldClient, passwords: map[string]string{}}
	b.newMint = &passwordMinter{env: env, t: t, pool: b.newPool, client: newClient, passwords: map[string]string{}}
	for _, name := range []string{"alice", "bob", "carol"} {
		pw := strings.ToUpper(name[:1]) + name[1:] + "-Pass-1!"
		oldSub := env.NewSignInUser(t, b.oldPool, name, pw)
		newSub := env.NewSignInUser(t, b.newPool, name+"-new", pw)
		b.oldMint.passwords[name], b.newMint.passwords[name+"-new"] = pw, pw
		b.users[name] = identitymap.User{OldSub: oldSub, OldUsername: name, NewSub: newSub, NewUsername: name + "-new"}
		if name != "carol" {
			b.had[name] = env.IdentityID(t, b.oldIP, map[string]string{testenv.UserPoolProvider(env.Config.Region, b.oldPool): b.env.IDToken(t, b.oldPool, oldClient, name, pw)})
		}
	}
	return b
}

func (b *bed) options(path string, names ...string) identitymap.Options {
	o := identitymap.Options{
		Old:  identitymap.Side{UserPool: b.oldPool, Region: b.env.Config.Region, IdentityPool: b.oldIP, Minter: b.oldMint},
		New:  identitymap.Side{UserPool: b.newPool, Region: b.env.Config.Region, IdentityPool: b.newIP, Minter: b.newMint},
		Path: path, Command: "storage copy",
	}
	for _, n := range names {
		o.Users = append(o.Users, b.users[n])
	}
	return o
}

func (b *bed) identities(t *testing.T, pool string) map[string]bool {
	t.Helper()
	out, err := b.api.ListIdentities(context.Background(), &cognitoidentity.ListIdentitiesInput{IdentityPoolId: &pool, MaxResults: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, d := range out.Identities {
		ids[aws.ToString(d.IdentityId)] = true
	}
	return ids
}

// TestBuildMapsEachUsersIdentities: each user's old id is the one they had,
// their new id the one their new login gets; carol, who had none, gets no
// move, and the identity GetId made her in the old pool is deleted; the
// map is 0600 and a second run reuses it without a call.
func TestBuildMapsEachUsersIdentities(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "storage", "identity-map.jsonl")
	before := b.identities(t, b.oldIP)
	res, err := identitymap.Build(ctx, b.api, b.options(path, "alice", "bob", "carol"))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if len(res.Entries) != 3 || res.Asked != 3 || res.Created != 1 || res.Deleted != 1 {
		t.Fatalf("entries %d, asked %d, created %d, deleted %d; want 3, 3, 1, 1", len(res.Entries), res.Asked, res.Created, res.Deleted)
	}
	newIDs := b.identities(t, b.newIP)
	for _, e := range res.Entries {
		switch e.OldUsername {
		case "alice", "bob":
			if e.Old != b.had[e.OldUsername] || e.Created {
				t.Errorf("%s: old %s (created %v), had %s", e.OldUsername, e.Old, e.Created, b.had[e.OldUsername])
			}
		case "carol":
			if !e.Created {
				t.Errorf("carol's old identity %s is not counted as the run's", e.Old)
			}
		}
		if !newIDs[e.New] || e.New == e.Old {
			t.Errorf("%s: new id %s is not of the new identity pool", e.OldUsername, e.New)
		}
	}
	if after := b.identities(t, b.oldIP); len(after) != len(before) {
		t.Errorf("the old identity pool had %d identities and has %d: the run's were not deleted", len(before), len(after))
	}
	moves := res.Moves()
	if len(moves) != 2 {
		t.Fatalf("moves %+v, want alice's and bob's", moves)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("map: %v, mode %v", err, fi.Mode())
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "eyJ") {
		t.Error("the map holds a token")
	}

	// Resumed: nothing asked again.
	calls := b.oldMint.calls + b.newMint.calls
	again, err := identitymap.Build(ctx, b.api, b.options(path, "alice", "bob", "carol"))
	if err != nil || again.Asked != 0 || len(again.Entries) != 3 || b.oldMint.calls+b.newMint.calls != calls {
		t.Fatalf("second run: asked %d, %d entries, %d more tokens, err %v", again.Asked, len(again.Entries), b.oldMint.calls+b.newMint.calls-calls, err)
	}
	_, users, err := identitymap.Read(path)
	if err != nil || len(users) != 3 {
		t.Fatalf("Read: %d users, %v", len(users), err)
	}
}

// TestBuildRefusesAnotherUsersToken: a minter answering for someone else
// (alice's request answered with bob's token, as a trio tricked into it
// would) maps nothing for alice: her files can not go to bob's identity or
// bob's to hers.
func TestBuildRefusesAnotherUsersToken(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "identity-map.jsonl")
	b.oldMint.answerAs = map[string]string{"alice": "bob"}
	res, err := identitymap.Build(ctx, b.api, b.options(path, "alice", "bob"))
	var inc *identitymap.IncompleteError
	if !errors.As(err, &inc) || inc.Failed != 1 {
		t.Fatalf("Build: %v, want one user failed", err)
	}
	if len(res.Failures) != 1 || res.Failures[0].User != "alice" || !strings.Contains(res.Failures[0].Error, "names sub") {
		t.Fatalf("failures %+v", res.Failures)
	}
	for _, m := range res.Moves() {
		if m.User == "alice" || m.Old != b.had["bob"] {
			t.Errorf("move %+v", m)
		}
	}
	// A line of the map is taken only for the same old and new user as
	// the claims give now: bob's, with another new user, is asked again.
	b.oldMint.answerAs = nil
	o := b.options(path, "bob")
	o.Users[0].NewUsername, o.Users[0].NewSub = b.users["carol"].NewUsername, b.users["carol"].NewSub
	res, err = identitymap.Build(ctx, b.api, o)
	if err != nil || res.Stale != 1 || res.Asked != 1 || len(res.Entries) != 1 || res.Entries[0].NewUsername != "carol-new" {
		t.Fatalf("bob's claim changed: stale %d, asked %d, entries %+v, err %v", res.Stale, res.Asked, res.Entries, err)
	}
}

// TestBuildResumesAfterAStop: a run that stopped after GetId made carol an
// identity in the old pool, before her line was written, leaves her "ask"
// line; the next run lists that identity as if it had always been there,
// yet takes it for the run's (made after the ask) and deletes it.
func TestBuildResumesAfterAStop(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "identity-map.jsonl")
	before := b.identities(t, b.oldIP)
	b.newMint.fail = map[string]bool{"carol-new": true}
	res, err := identitymap.Build(ctx, b.api, b.options(path, "alice", "carol"))
	if !errors.As(err, new(*identitymap.IncompleteError)) || len(res.Entries) != 1 || res.Deleted != 0 {
		t.Fatalf("first run: %v, %d entries, %d deleted", err, len(res.Entries), res.Deleted)
	}
	if n := len(b.identities(t, b.oldIP)); n != len(before)+1 {
		t.Fatalf("the first run left %d old identities, had %d: carol's was not made", n, len(before))
	}
	b.newMint.fail = nil
	res, err = identitymap.Build(ctx, b.api, b.options(path, "alice", "carol"))
	if err != nil || res.Asked != 1 || res.Created != 1 || res.Deleted != 1 {
		t.Fatalf("resumed: %v, asked %d, created %d, deleted %d", err, res.Asked, res.Created, res.Deleted)
	}
	if n := len(b.identities(t, b.oldIP)); n != len(before) {
		t.Errorf("the old identity pool has %d identities, had %d", n, len(before))
	}
}

// TestBuildInTwoPhases: BuildOld takes the old ids before the old pools
// go; Build, given them as Known, asks only the new side (the old
// identity pool is deleted in between, as `amplify push` deletes it), and
// carol, who had no identity, is mapped without a new id asked.
func TestBuildInTwoPhases(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	dir := t.TempDir()
	oldPath, mapPath := filepath.Join(dir, "old-identities.jsonl"), filepath.Join(dir, "identity-map.jsonl")
	var oldUsers []identitymap.OldUser
	for _, n := range []string{"alice", "bob", "carol"} {
		oldUsers = append(oldUsers, identitymap.OldUser{Sub: b.users[n].OldSub, Username: n})
	}
	o := b.options(mapPath)
	before := b.identities(t, b.oldIP)
	old, err := identitymap.BuildOld(ctx, b.api, identitymap.OldOptions{Side: o.Old, Users: oldUsers, Path: oldPath, Command: "migrate"})
	if err != nil || len(old.Entries) != 3 || old.Created != 1 || old.Deleted != 1 {
		t.Fatalf("BuildOld: %v %+v", err, old)
	}
	if got := b.identities(t, b.oldIP); len(got) != len(before) {
		t.Errorf("the old phase left an identity it made: %v, before %v", got, before)
	}
	// A second run (a resumed migrate) asks nobody again.
	b.oldMint.calls = 0
	again, err := identitymap.BuildOld(ctx, b.api, identitymap.OldOptions{Side: o.Old, Users: oldUsers, Path: oldPath, Command: "migrate"})
	if err != nil || again.Asked != 0 || b.oldMint.calls != 0 || len(again.Entries) != 3 {
		t.Errorf("BuildOld again: %v asked %d minted %d", err, again.Asked, b.oldMint.calls)
	}
	if fi, err := os.Stat(oldPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("old-side file: %v %v", fi, err)
	}
	start, known, err := identitymap.ReadOld(oldPath)
	if err != nil || start.OldIdentityPool != b.oldIP || len(known) != 3 {
		t.Fatalf("ReadOld: %v %+v %v", err, start, known)
	}
	for _, n := range []string{"alice", "bob"} {
		if known[b.users[n].OldSub].Old != b.had[n] {
			t.Errorf("%s's old id %s, want %s", n, known[b.users[n].OldSub].Old, b.had[n])
		}
	}
	// The old side is gone: any old call would fail.
	o.Old.IdentityPool, o.Old.Minter = "us-east-1:00000000-0000-0000-0000-000000000000", &passwordMinter{fail: map[string]bool{"alice": true, "bob": true, "carol": true}}
	o.Known = known
	o.Users = []identitymap.User{b.users["alice"], b.users["bob"], b.users["carol"]}
	b.newMint.calls = 0
	res, err := identitymap.Build(ctx, b.api, o)
	if err != nil || len(res.Entries) != 3 || b.newMint.calls != 2 {
		t.Fatalf("Build with the old ids known: %v %+v (new tokens minted %d, want 2)", err, res, b.newMint.calls)
	}
	moves := res.Moves()
	if len(moves) != 2 || moves[0].Old != b.had[moves[0].User] || moves[1].Old != b.had[moves[1].User] {
		t.Errorf("moves %+v, want alice's and bob's from their old ids", moves)
	}
	if _, lines, err := identitymap.Read(mapPath); err != nil || len(lines) != 3 {
		t.Errorf("the map reads back: %v %d lines", err, len(lines))
	}
}

// killedAfterDelete deletes the identities as asked, then answers an
// error: the file is left as a run killed between DeleteIdentities and
// its "deleted" line leaves it.
type killedAfterDelete struct{ *cognitoidentity.Client }

func (k killedAfterDelete) DeleteIdentities(ctx context.Context, in *cognitoidentity.DeleteIdentitiesInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.DeleteIdentitiesOutput, error) {
	if _, err := k.Client.DeleteIdentities(ctx, in, optFns...); err != nil {
		return nil, err
	}
	return nil, errors.New("killed")
}

// TestBuildResumesAfterAKillBetweenDeleteAndItsLine: the identity the run
// made for carol was deleted but the run stopped before recording it; the
// next run (Cognito no longer knows the id) finishes: the deletion is
// recorded, alice's move kept, no identity made again.
func TestBuildResumesAfterAKillBetweenDeleteAndItsLine(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "identity-map.jsonl")
	before := b.identities(t, b.oldIP)
	if _, err := identitymap.Build(ctx, killedAfterDelete{b.api}, b.options(path, "alice", "carol")); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("first run: %v, want it stopped at the deletion", err)
	}
	calls := b.oldMint.calls + b.newMint.calls
	res, err := identitymap.Build(ctx, b.api, b.options(path, "alice", "carol"))
	if err != nil || res.Asked != 0 || res.Deleted != 1 || len(res.Moves()) != 1 || res.Moves()[0].Old != b.had["alice"] {
		t.Fatalf("resumed: %v, asked %d, deleted %d, moves %+v", err, res.Asked, res.Deleted, res.Moves())
	}
	if b.oldMint.calls+b.newMint.calls != calls {
		t.Errorf("the resumed run minted %d tokens", b.oldMint.calls+b.newMint.calls-calls)
	}
	if n := len(b.identities(t, b.oldIP)); n != len(before) {
		t.Errorf("the old identity pool has %d identities, had %d", n, len(before))
	}
	// And a third run has nothing left to do.
	if res, err := identitymap.Build(ctx, b.api, b.options(path, "alice", "carol")); err != nil || res.Deleted != 0 {
		t.Fatalf("third run: %v, deleted %d", err, res.Deleted)
	}
}
