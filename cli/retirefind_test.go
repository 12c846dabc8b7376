package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestRetireFindsOldIdentityPool: without --old-identity-pool,
// retire-old-pool deletes the old identity pool the project's state
// records for --old-pool (migrate's storage-ids step wrote it on the start
// line of old-identities.jsonl), named with the file it came from, and
// only after the same live checks as the flag's. Written as an attacker
// would change the state: a recorded id of another app's identity pool,
// of the new identity pool, a malformed id, two files naming two pools
// are each refused with nothing deleted; a state of another old user pool
// is not used (the identity pool is not touched, and the output says so);
// --keep-old-identity-pool does not look; the flag wins over the state.
// With nothing recorded, the output says in one line that no old identity
// pool is deleted and how to name one.
func TestRetireFindsOldIdentityPool(t *testing.T) {
	b := newRetireBed(t)
	ctx := context.Background()
	idAPI := b.env.CognitoIdentity(t)
	s3c := testenv.S3Client(t)
	bucket := testenv.NewBucket(t, s3c)
	oldIP := b.env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.old, ClientID: b.env.NewSignInClient(t, b.old)})
	newIP := b.env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.target, ClientID: b.env.NewSignInClient(t, b.target)})
	otherPool := b.env.NewPool(t, testenv.PoolOptions{})
	otherIP := b.env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: otherPool, ClientID: b.env.NewSignInClient(t, otherPool)})
	exists := func(id string) bool {
		_, err := idAPI.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &id})
		return err == nil
	}
	intact := func(what string) {
		t.Helper()
		if !b.oldPoolExists(t) || !exists(oldIP) || !exists(newIP) || !exists(otherIP) {
			t.Fatalf("%s deleted something: old pool %v, identity pools old %v new %v other %v", what, b.oldPoolExists(t), exists(oldIP), exists(newIP), exists(otherIP))
		}
	}
	storageDir := filepath.Join(b.dir, ".poolmigrate", "storage")
	oldIDs := filepath.Join(storageDir, "old-identities.jsonl")
	idMap := filepath.Join(storageDir, "identity-map.jsonl")
	record := func(path string, start identitymap.Entry) {
		t.Helper()
		start.Kind = identitymap.KindStart
		data, _ := json.Marshal(start)
		if err := os.MkdirAll(storageDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	clear := func() {
		t.Helper()
		for _, p := range []string{oldIDs, idMap} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}
	retire := func(extra ...string) (RetireDecision, string, error) {
		t.Helper()
		out, stderr, err := runApp(t, b.dir, nil, b.args(append([]string{"--bucket", bucket, "--confirm-pool-id", b.old, "--json"}, extra...)...)...)
		if out == "" {
			return RetireDecision{}, stderr, err
		}
		return decodeDecision(t, out), stderr, err
	}

	// Nothing recorded: the identity pool is not touched, and a line says
	// how to name it.
	out, stderr, err := runApp(t, b.dir, nil, b.args("--bucket", bucket, "--dry-run")...)
	if err != nil || !strings.Contains(out, "No old identity pool of user pool "+b.old+" is recorded") || !strings.Contains(out, "--old-identity-pool ID") || strings.Contains(out, "Old identity pool") {
		t.Fatalf("nothing recorded: %v\n%s%s", err, out, stderr)
	}

	// The attacks: each refused, exit 1, nothing deleted.
	for name, c := range map[string]struct {
		files map[string]identitymap.Entry
		want  string
	}{
		"another app's identity pool": {map[string]identitymap.Entry{oldIDs: {OldUserPool: b.old, OldIdentityPool: otherIP}}, "does not list the old user pool"},
		"the new identity pool":       {map[string]identitymap.Entry{oldIDs: {OldUserPool: b.old, OldIdentityPool: newIP}}, "lists the new user pool"},
		"the new one in the map":      {map[string]identitymap.Entry{idMap: {OldUserPool: b.old, OldIdentityPool: newIP, NewUserPool: b.target, NewIdentityPool: oldIP}}, "lists the new user pool"},
		"a malformed id":              {map[string]identitymap.Entry{oldIDs: {OldUserPool: b.old, OldIdentityPool: "us-east-1:../../x"}}, "not an identity pool id"},
		"two files, two pools": {map[string]identitymap.Entry{oldIDs: {OldUserPool: b.old, OldIdentityPool: oldIP},
			idMap: {OldUserPool: b.old, OldIdentityPool: otherIP, NewUserPool: b.target, NewIdentityPool: newIP}}, "names " + otherIP},
	} {
		clear()
		for p, e := range c.files {
			record(p, e)
		}
		d, stderr, err := retire()
		if err == nil || ExitCode(err) != 1 || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing was deleted") || d.Deleted || !strings.Contains(d.Refusal, c.want) {
			t.Errorf("%s: %v, want a refusal containing %q\n%s", name, err, c.want, stderr)
		}
		intact(name)
	}

	// A state of another old user pool is not used: the old identity
	// pool is not touched, and the output says why.
	clear()
	record(oldIDs, identitymap.Entry{OldUserPool: otherPool, OldIdentityPool: oldIP})
	d, stderr, err := retire("--dry-run")
	if err != nil || d.Storage != nil || !strings.Contains(d.OldIdentityPoolNote, "records old user pool "+otherPool+", not "+b.old) {
		t.Errorf("a state of another old pool: %v %+v %q\n%s", err, d.Storage, d.OldIdentityPoolNote, stderr)
	}

	// The state of this migration: found, named with its file; the flag
	// wins over it; --keep-old-identity-pool does not look.
	clear()
	record(oldIDs, identitymap.Entry{OldUserPool: b.old, OldIdentityPool: oldIP})
	out, stderr, err = runApp(t, b.dir, nil, b.args("--bucket", bucket, "--dry-run")...)
	if err != nil || !strings.Contains(out, "Old identity pool "+oldIP) || !strings.Contains(out, "(found in "+oldIDs+") would be deleted") {
		t.Errorf("dry run with the state: %v\n%s%s", err, out, stderr)
	}
	if d, stderr, err := retire("--old-identity-pool", newIP); err == nil || !strings.Contains(err.Error(), "lists the new user pool") || d.Storage == nil || d.Storage.OldIdentityPoolFrom != "--old-identity-pool" {
		t.Errorf("the flag over the state: %v %+v\n%s", err, d.Storage, stderr)
	}
	if d, stderr, err := retire("--dry-run", "--keep-old-identity-pool"); err != nil || d.Storage != nil || !strings.Contains(d.OldIdentityPoolNote, "not looked for") {
		t.Errorf("--keep-old-identity-pool: %v %+v %q\n%s", err, d.Storage, d.OldIdentityPoolNote, stderr)
	}
	intact("the dry runs")

	// A user's file under an old identity id, and no identity map (the
	// users cannot sign in to the new pool yet): the old pools stay while
	// a migrated user's old identity id is not recorded; once every one
	// is, a later sync moves their files without the old pools.
	testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: "private/us-east-1:00000000-0000-4000-8000-000000000001/a.txt", Body: []byte("theirs")})
	writeOld := func(skip string) {
		t.Helper()
		lines := []identitymap.Entry{{Kind: identitymap.KindStart, OldUserPool: b.old, OldIdentityPool: oldIP}}
		n := 1
		for name, sub := range b.subs {
			if name != skip {
				lines = append(lines, identitymap.Entry{Kind: identitymap.KindOld, OldSub: sub, OldUsername: name, Old: fmt.Sprintf("us-east-1:%08x-0000-4000-8000-%012x", n, n)})
				n++
			}
		}
		var buf bytes.Buffer
		for _, e := range lines {
			data, _ := json.Marshal(e)
			buf.Write(append(data, '\n'))
		}
		if err := os.WriteFile(oldIDs, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeOld("r1")
	d, stderr, err = retire()
	if err == nil || ExitCode(err) != 1 || !strings.Contains(err.Error(), "1 migrated user(s) are not in the identity map") || !strings.Contains(err.Error(), "--keep-old-identity-pool") ||
		d.Storage == nil || len(d.Storage.Recorded) != len(b.subs)-1 || d.Deleted {
		t.Fatalf("retire while r1's old identity id is not recorded: %v %+v\n%s", err, d.Storage, stderr)
	}
	intact("a retire while an old identity id is not recorded")
	writeOld("")
	d, stderr, err = retire()
	if err != nil || !d.Deleted || d.Storage.Verified || len(d.Storage.Recorded) != len(b.subs) || d.Storage == nil || !d.Storage.IdentityPoolDeleted || d.Storage.OldIdentityPoolFrom != oldIDs || !strings.Contains(stderr, "the old identity pool "+oldIP) {
		t.Fatalf("retire with the state: %v %+v\n%s", err, d.Storage, stderr)
	}
	if b.oldPoolExists(t) || exists(oldIP) || !exists(newIP) || !exists(otherIP) {
		t.Errorf("after retire: old pool %v, identity pools old %v new %v other %v", b.oldPoolExists(t), exists(oldIP), exists(newIP), exists(otherIP))
	}
}
