package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// verifyJSON runs storage verify --json and reads its report.
func verifyJSON(t *testing.T, dir string, args ...string) (storageVerifyReport, string, error) {
	t.Helper()
	out, stderr, err := runApp(t, dir, nil, append([]string{"storage", "verify", "--json"}, args...)...)
	var rep storageVerifyReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("storage verify --json: %v / %v\n%s%s", err, jerr, out, stderr)
	}
	return rep, stderr, err
}

func deleteObject(t *testing.T, c *s3.Client, bucket, key string) {
	t.Helper()
	if _, err := c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
}

// TestStorageVerifyLinkRoute: storage verify --identity-pool verifies the
// link route from storage link's journal. alice is linked (nothing
// moved) and dave, who signed in to the new pool before the link, copied:
// verify is clean, comparing dave's copy. carol then reaches the new pool
// (a migrated user not linked yet) while her old identity holds a file no
// linked user's identity explains: verify exits 1 naming her and the
// folder. With that file gone she has nothing to keep: clean again, with
// her named as not linked. A copied object of dave's removed: exit 1
// naming dave.
func TestStorageVerifyLinkRoute(t *testing.T) {
	dir := t.TempDir()
	b := newLinkBed(t, dir, "alice", "carol", "dave")
	b.newUser(t, "alice", "alice")
	b.newUser(t, "dave", "dave")
	own := b.newID(t, "dave")
	testenv.PutObjects(t, b.s3, b.bucket, testenv.S3Object{Key: "private/" + own + "/since.txt", Body: []byte("dave since")})
	b.useTool(t, nil)
	paths := []string{"--bucket", b.bucket, "--path", "private/{entity_id}/"}
	if out, stderr, err := runApp(t, dir, nil, append([]string{"storage", "link", "--backup", b.backup, "--target-pool", b.newPool, "--identity-pool", b.ip, "--yes"}, paths...)...); err != nil {
		t.Fatalf("storage link: %v\n%s%s", err, out, stderr)
	}
	args := append([]string{"--backup", b.backup, "--target-pool", b.newPool, "--identity-pool", b.ip}, paths...)

	rep, stderr, err := verifyJSON(t, dir, args...)
	if err != nil || !rep.OK || rep.Route != "link" || rep.Linked != 1 || len(rep.Buckets) != 1 || rep.Buckets[0].Users != 1 || rep.Buckets[0].Objects != 1 || len(rep.Unmapped) != 0 {
		t.Fatalf("verify after the link: %v, report %+v\n%s", err, rep, stderr)
	}

	b.newUser(t, "carol", "carol")
	rep, stderr, err = verifyJSON(t, dir, args...)
	carolFolder := b.bucket + "/private/" + b.had["carol"] + "/"
	if exitCode(err) != 1 || rep.OK || strings.Join(rep.Unmapped, ",") != "carol" || rep.Unknown != 1 || strings.Join(rep.UnknownFolders, ",") != carolFolder {
		t.Fatalf("verify with carol not linked and her file: %v, report %+v, want exit 1 naming carol and %s\n%s", err, rep, carolFolder, stderr)
	}
	text, _, _ := runApp(t, dir, nil, append([]string{"storage", "verify"}, args...)...)
	if !strings.Contains(text, "carol: not in the link journal") || !strings.Contains(text, carolFolder) {
		t.Errorf("text report:\n%s", text)
	}

	deleteObject(t, b.s3, b.bucket, "private/"+b.had["carol"]+"/doc.txt")
	rep, stderr, err = verifyJSON(t, dir, args...)
	if err != nil || !rep.OK || strings.Join(rep.Unmapped, ",") != "carol" || rep.Unknown != 0 {
		t.Fatalf("verify with carol not linked and no file of hers: %v, report %+v\n%s", err, rep, stderr)
	}

	deleteObject(t, b.s3, b.bucket, "private/"+b.had["dave"]+"/since.txt")
	rep, stderr, err = verifyJSON(t, dir, args...)
	if exitCode(err) != 1 || rep.OK || len(rep.Buckets[0].Failing) != 1 || rep.Buckets[0].Failing[0].User != "dave" || !strings.Contains(err.Error(), "storage link") {
		t.Fatalf("verify with dave's copy gone: %v, report %+v, want exit 1 naming dave\n%s", err, rep, stderr)
	}

	if _, _, err := runApp(t, dir, nil, append([]string{"storage", "verify", "--old-identity-pool", b.ip}, args...)...); exitCode(err) != 2 && (err == nil || !strings.Contains(err.Error(), "--identity-pool")) {
		t.Errorf("--identity-pool with --old-identity-pool: %v, want a usage error", err)
	}
}

// TestStorageVerifyCopyRouteUnmappedUsers: on the copy route, alice's
// files were copied to her new identity id and dave, migrated too, is not
// in the identity map (as a user who could not sign in to the old pool
// before the push). While his old identity holds a file, verify exits 1
// naming him and that folder (the files could be his); once no file lies
// under an identity the map does not know, he has nothing to copy and
// verify is clean, naming him.
func TestStorageVerifyCopyRouteUnmappedUsers(t *testing.T) {
	dir := t.TempDir()
	b := newLinkBed(t, dir, "alice", "dave")
	newIP := b.env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.newPool, ClientID: b.newClient})
	aliceNew := b.newUser(t, "alice", "alice")
	b.newUser(t, "dave", "dave")
	region := b.env.Config.Region
	res, err := identitymap.Build(context.Background(), b.env.CognitoIdentity(t), identitymap.Options{
		Users: []identitymap.User{{OldSub: b.oldSubs["alice"], OldUsername: "alice", NewSub: aliceNew, NewUsername: "alice"}},
		Path:  filepath.Join(dir, ".poolmigrate", "storage", "identity-map.jsonl"), Command: "test",
		Old: identitymap.Side{UserPool: b.oldPool, Region: region, IdentityPool: b.ip, Minter: linkBedMinter{t, b.env, b.oldPool, b.oldClient}},
		New: identitymap.Side{UserPool: b.newPool, Region: region, IdentityPool: newIP, Minter: linkBedMinter{t, b.env, b.newPool, b.newClient}}})
	if err != nil || len(res.Moves()) != 1 {
		t.Fatalf("identity map: %v, %+v", err, res)
	}
	aliceNewID := res.Moves()[0].New
	testenv.PutObjects(t, b.s3, b.bucket, testenv.S3Object{Key: "private/" + aliceNewID + "/doc.txt", Body: []byte("alice")})
	args := []string{"--backup", b.backup, "--target-pool", b.newPool, "--old-identity-pool", b.ip, "--new-identity-pool", newIP, "--bucket", b.bucket, "--path", "private/{entity_id}/"}

	rep, stderr, err := verifyJSON(t, dir, args...)
	daveFolder := b.bucket + "/private/" + b.had["dave"] + "/"
	if exitCode(err) != 1 || rep.OK || rep.Route != "copy" || strings.Join(rep.Unmapped, ",") != "dave" || strings.Join(rep.UnknownFolders, ",") != daveFolder || len(rep.Buckets[0].Failing) != 0 {
		t.Fatalf("verify with dave's file under his old id: %v, report %+v, want exit 1 naming dave and %s\n%s", err, rep, daveFolder, stderr)
	}

	deleteObject(t, b.s3, b.bucket, "private/"+b.had["dave"]+"/doc.txt")
	rep, stderr, err = verifyJSON(t, dir, args...)
	if err != nil || !rep.OK || strings.Join(rep.Unmapped, ",") != "dave" || rep.Unknown != 0 || rep.Buckets[0].Users != 1 {
		t.Fatalf("verify with no file of dave's: %v, report %+v\n%s", err, rep, stderr)
	}
	text, _, err := runApp(t, dir, nil, append([]string{"storage", "verify"}, args...)...)
	if err != nil || !strings.Contains(text, "1 migrated user(s) not in the identity map (dave): no file lies under an identity") || !strings.Contains(text, "OK: ") {
		t.Errorf("text report: %v\n%s", err, text)
	}
}
