package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
