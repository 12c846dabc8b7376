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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestStorageRetire: after storage copy, storage retire deletes dave's old
// files and nothing else, and only once his copies verify afresh: a dry
// run deletes nothing; a file he adds under his old id after the copy
// fails his verify and he keeps everything; a wrong (or no) number typed
// deletes nothing; alice's and bob's files (refused claims, never copied)
// and every copy stay.
func TestStorageRetire(t *testing.T) {
	b := newStorageBed(t)
	ctx := context.Background()
	if out, stderr, err := b.run(t, b.users("storage", "copy", "--yes")...); err == nil || !strings.Contains(err.Error(), "claim(s) to an old identity refused") {
		t.Fatalf("copy: %v (want exit 1 for the refused claims only)\n%s%s", err, out, stderr)
	}
	copied := b.allKeys(t)
	dave := b.oldIDs["dave"]
	retire := func(args ...string) (storageRetireReport, string, error) {
		t.Helper()
		out, stderr, err := b.run(t, b.users(append([]string{"storage", "retire", "--json"}, args...)...)...)
		var rep storageRetireReport
		if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
			t.Fatalf("retire %v: %v %v\n%s%s", args, err, jerr, out, stderr)
		}
		return rep, stderr, err
	}
	unchanged := func(what string) {
		t.Helper()
		if got := b.allKeys(t); strings.Join(got, ",") != strings.Join(copied, ",") {
			t.Fatalf("%s changed the bucket: %v", what, got)
		}
	}

	dry, _, err := retire("--dry-run")
	unchanged("the dry run")
	if len(dry.Buckets) != 1 || dry.Buckets[0].Objects != 3 || dry.Buckets[0].Users != 1 || dry.Buckets[0].Bytes == 0 || !dry.DryRun || dry.Deleted {
		t.Errorf("dry run %+v (%v), want dave's 3 objects", dry, err)
	}
	for _, k := range dry.Buckets[0].Result.Deleted {
		if !strings.Contains(k, dave) {
			t.Errorf("the dry run names %s, not dave's", k)
		}
	}

	// Nothing typed, or another number: nothing goes.
	if _, _, err := retire(); err == nil || !strings.Contains(err.Error(), "nothing was deleted") {
		t.Errorf("retire with nothing typed: %v", err)
	}
	if _, _, err := retire("--confirm-objects", "2"); err == nil || !strings.Contains(err.Error(), "nothing was deleted") {
		t.Errorf("retire with 2 typed: %v", err)
	}
	unchanged("a retire without the number")

	// A file dave adds under his old id after the copy: his verify fails,
	// all his old files stay.
	late := "private/" + dave + "/after-the-copy.txt"
	testenv.PutObjects(t, b.s3, b.bucket, testenv.S3Object{Key: late, Body: []byte("new")})
	rep, _, err := retire("--confirm-objects", "3")
	if err == nil || len(rep.Buckets) != 1 || rep.Buckets[0].Objects != 0 || len(rep.Buckets[0].Result.Kept) != 1 || rep.Buckets[0].Result.Kept[0].User != "dave" {
		t.Errorf("retire with a file after the copy: %v %+v, want dave kept and exit 1", err, rep)
	}
	if _, err := b.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: aws.String(late)}); err != nil {
		t.Fatal(err)
	}
	unchanged("a retire of a user whose verify fails")

	rep, stderr, err := retire("--confirm-objects", "3")
	if err == nil || !strings.Contains(err.Error(), "claim(s) to an old identity refused") || !rep.Deleted || rep.Buckets[0].Objects != 3 {
		t.Fatalf("retire: %v %+v (want exit 1 for the refused claims only)\n%s", err, rep, stderr)
	}
	after := b.allKeys(t)
	gone := map[string]bool{}
	for _, k := range copied {
		gone[k] = true
	}
	for _, k := range after {
		delete(gone, k)
	}
	if len(gone) != 3 || len(after) != len(copied)-3 {
		t.Errorf("deleted %v, want dave's 3 old objects", gone)
	}
	for k := range gone {
		if !strings.Contains(k, dave) {
			t.Errorf("deleted %s, not one of dave's old objects", k)
		}
	}
}

// TestRetireOldIdentityPool: retire-old-pool --old-identity-pool deletes
// the old identity pool with the old user pool, and only the old pool's,
// only while users' files are safe: an identity pool that lists the new
// user pool, or does not list the old one, is refused; while a
// per-identity file exists and the migrated users are not in the identity
// map (storage verify fails), nothing is deleted; a dry run deletes
// nothing; with no per-identity file, both pools go, named first.
func TestRetireOldIdentityPool(t *testing.T) {
	b := newRetireBed(t)
	ctx := context.Background()
	idAPI := b.env.CognitoIdentity(t)
	s3c := testenv.S3Client(t)
	bucket := testenv.NewBucket(t, s3c)
	oldIP := b.env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.old, ClientID: b.env.NewSignInClient(t, b.old)})
	newIP := b.env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.target, ClientID: b.env.NewSignInClient(t, b.target)})
	otherIP := b.env.NewIdentityPool(t, false)
	exists := func(id string) bool {
		_, err := idAPI.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &id})
		return err == nil
	}
	intact := func(what string) {
		t.Helper()
		if !b.oldPoolExists(t) || !exists(oldIP) || !exists(newIP) {
			t.Fatalf("%s deleted something: old pool %v, old identity pool %v, new %v", what, b.oldPoolExists(t), exists(oldIP), exists(newIP))
		}
	}
	for name, c := range map[string]struct{ ip, want string }{
		"the new pool's": {newIP, "lists the new user pool"},
		"another":        {otherIP, "does not list the old user pool"},
	} {
		out, stderr, err := runApp(t, b.dir, nil, b.args("--old-identity-pool", c.ip, "--bucket", bucket, "--confirm-pool-id", b.old)...)
		if err == nil || ExitCode(err) != 1 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s identity pool: %v, want a refusal containing %q\n%s%s", name, err, c.want, out, stderr)
		}
	}
	intact("a refused identity pool")

	// A user's file under an old identity id, and no identity map: storage
	// verify fails, so retire deletes nothing.
	testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: "private/us-east-1:00000000-0000-4000-8000-000000000001/a.txt", Body: []byte("theirs")})
	out, stderr, err := runApp(t, b.dir, nil, b.args("--old-identity-pool", oldIP, "--bucket", bucket, "--json", "--confirm-pool-id", b.old)...)
	d := decodeDecision(t, out)
	if err == nil || ExitCode(err) != 1 || !strings.Contains(err.Error(), "files are not verified") || d.Storage == nil || d.Storage.Verified || !d.Storage.PerIdentityFiles ||
		len(d.Storage.Unmapped) != len(b.subs) || d.Deleted || d.Storage.IdentityPoolDeleted {
		t.Errorf("retire while files are not verified: %v %+v\n%s", err, d.Storage, stderr)
	}
	intact("a retire while storage is not verified")
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("private/us-east-1:00000000-0000-4000-8000-000000000001/a.txt")}); err != nil {
		t.Fatal(err)
	}

	// No per-identity file: the dry run names the identity pool and
	// deletes nothing.
	out, stderr, err = runApp(t, b.dir, nil, b.args("--old-identity-pool", oldIP, "--bucket", bucket, "--dry-run")...)
	if err != nil || !strings.Contains(out, "Old identity pool "+oldIP) || !strings.Contains(out, "would be deleted") || !strings.Contains(out, "Dry run: nothing was deleted") {
		t.Errorf("dry run: %v\n%s%s", err, out, stderr)
	}
	intact("the dry run")

	out, stderr, err = runApp(t, b.dir, nil, b.args("--old-identity-pool", oldIP, "--bucket", bucket, "--json", "--confirm-pool-id", b.old)...)
	d = decodeDecision(t, out)
	if err != nil || !d.Deleted || d.Storage == nil || !d.Storage.Verified || !d.Storage.IdentityPoolDeleted || !strings.Contains(stderr, "the old identity pool "+oldIP) {
		t.Fatalf("retire: %v %+v\n%s", err, d.Storage, stderr)
	}
	if b.oldPoolExists(t) || exists(oldIP) || !exists(newIP) {
		t.Errorf("after retire: old pool %v, old identity pool %v, new identity pool %v", b.oldPoolExists(t), exists(oldIP), exists(newIP))
	}
}

// TestRetireDeletesOldFiles: retire-old-pool --delete-old-files deletes,
// with the old pools, the old files the copy journaled, once every
// user's copies verify: while one user's copy is damaged it deletes
// nothing at all (neither pool, no file); a dry run deletes nothing; a
// file put under an old id after the copy (with its twin under the new
// id, so verify passes) stays; the copies stay.
func TestRetireDeletesOldFiles(t *testing.T) {
	b := newRetireBed(t)
	ctx := context.Background()
	idAPI := b.env.CognitoIdentity(t)
	s3c := testenv.S3Client(t)
	bucket := testenv.NewBucket(t, s3c)
	oldIP := b.env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.old, ClientID: b.env.NewSignInClient(t, b.old)})
	newIP := b.env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.target, ClientID: b.env.NewSignInClient(t, b.target)})
	id := func(n int) string { return fmt.Sprintf("us-east-1:%08x-0000-4000-8000-%012x", n, n) }

	// The identity map storage copy would have written: r0 and r1 had
	// identities (ids 1→2, 3→4), the others none.
	newSubs := map[string]string{}
	for _, u := range must2[*cip.ListUsersOutput](t)(b.env.Local.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &b.target})).Users {
		for _, a := range u.Attributes {
			if aws.ToString(a.Name) == "sub" {
				newSubs[aws.ToString(u.Username)] = aws.ToString(a.Value)
			}
		}
	}
	if len(newSubs) != len(b.subs) {
		t.Fatalf("the new pool lists %d users, want %d", len(newSubs), len(b.subs))
	}
	lines := []identitymap.Entry{{Kind: identitymap.KindStart, OldUserPool: b.old, NewUserPool: b.target, OldIdentityPool: oldIP, NewIdentityPool: newIP}}
	n := 100
	for name, sub := range b.subs {
		e := identitymap.Entry{Kind: identitymap.KindUser, OldSub: sub, OldUsername: name, NewSub: newSubs[name], NewUsername: name, Old: id(n), New: id(n + 1), Created: true}
		n += 2
		switch name {
		case "r0":
			e.Old, e.New, e.Created = id(1), id(2), false
		case "r1":
			e.Old, e.New, e.Created = id(3), id(4), false
		}
		lines = append(lines, e)
	}
	var buf bytes.Buffer
	for _, e := range lines {
		data, _ := json.Marshal(e)
		buf.Write(append(data, '\n'))
	}
	storageDir := filepath.Join(b.dir, ".poolmigrate", "storage")
	if err := os.MkdirAll(storageDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(storageDir, "identity-map.jsonl"), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	old := []string{"private/" + id(1) + "/a.txt", "protected/" + id(1) + "/b.txt", "private/" + id(3) + "/c.txt"}
	for _, k := range old {
		testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: k, Body: []byte("content of " + k)})
	}
	ts, _ := s3move.ParseTemplates([]string{"private/{entity_id}/", "protected/{entity_id}/"})
	moves := []s3move.Move{{User: "r0", Old: id(1), New: id(2)}, {User: "r1", Old: id(3), New: id(4)}}
	if _, err := s3move.Copy(ctx, s3c, s3move.Options{Bucket: bucket, Templates: ts, Moves: moves, Journal: filepath.Join(storageDir, bucket+".journal.jsonl")}); err != nil {
		t.Fatal(err)
	}
	exists := func(id string) bool {
		_, err := idAPI.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &id})
		return err == nil
	}
	keys := func() string {
		return strings.Join(append(testenv.ListKeys(t, s3c, bucket, "private/"), testenv.ListKeys(t, s3c, bucket, "protected/")...), ",")
	}
	copied := keys()
	intact := func(what string) {
		t.Helper()
		if !b.oldPoolExists(t) || !exists(oldIP) || keys() != copied {
			t.Fatalf("%s deleted something: old pool %v, old identity pool %v, files %s", what, b.oldPoolExists(t), exists(oldIP), keys())
		}
	}
	args := func(extra ...string) []string {
		return b.args(append([]string{"--old-identity-pool", oldIP, "--delete-old-files", "--bucket", bucket, "--json"}, extra...)...)
	}

	// r1's copy is damaged: r1's verify fails, so nothing goes.
	damaged := "private/" + id(4) + "/c.txt"
	testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: damaged, Body: []byte("damaged")})
	copied = keys()
	out, stderr, err := runApp(t, b.dir, nil, args("--confirm-pool-id", b.old)...)
	d := decodeDecision(t, out)
	if err == nil || !strings.Contains(err.Error(), "files are not verified") || d.Storage == nil || len(d.Storage.NotVerified) != 1 || d.Storage.NotVerified[0] != "r1" {
		t.Errorf("retire with r1's copy damaged: %v %+v\n%s", err, d.Storage, stderr)
	}
	intact("a retire while r1's copy is damaged")
	testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: damaged, Body: []byte("content of " + old[2])})
	// A file put under r0's old id after the copy, with its twin under
	// the new id: verify passes, but no journal copied it.
	late := "private/" + id(1) + "/late.txt"
	testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: late, Body: []byte("late")}, testenv.S3Object{Key: "private/" + id(2) + "/late.txt", Body: []byte("late")})
	copied = keys()

	out, stderr, err = runApp(t, b.dir, nil, args("--dry-run")...)
	d = decodeDecision(t, out)
	if err != nil || d.Storage == nil || !d.Storage.Verified || len(d.Storage.Buckets) != 1 || d.Storage.Buckets[0].Objects != 3 || d.Storage.Buckets[0].Users != 2 || !d.DryRun || d.Deleted {
		t.Errorf("dry run: %v %+v\n%s", err, d.Storage, stderr)
	}
	intact("the dry run")

	out, stderr, err = runApp(t, b.dir, nil, args("--confirm-pool-id", b.old)...)
	d = decodeDecision(t, out)
	if err != nil || !d.Deleted || d.Storage == nil || !d.Storage.IdentityPoolDeleted || !d.Storage.FilesDeleted || d.Storage.Buckets[0].Objects != 3 ||
		!strings.Contains(stderr, "3 old files") {
		t.Fatalf("retire: %v %+v\n%s", err, d.Storage, stderr)
	}
	if b.oldPoolExists(t) || exists(oldIP) || !exists(newIP) {
		t.Errorf("after retire: old pool %v, old identity pool %v, new identity pool %v", b.oldPoolExists(t), exists(oldIP), exists(newIP))
	}
	after := keys()
	for _, k := range old {
		if strings.Contains(after, k) {
			t.Errorf("%s stays", k)
		}
	}
	for _, k := range []string{late, "private/" + id(2) + "/a.txt", "protected/" + id(2) + "/b.txt", damaged} {
		if !strings.Contains(after, k) {
			t.Errorf("%s was deleted", k)
		}
	}
}
