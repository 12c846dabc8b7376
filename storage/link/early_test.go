package link_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/storage/link"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// earlyAPI counts UnlinkIdentity calls and stops a run right after a call
// went through (as a kill would, the call made and nothing after it).
type earlyAPI struct {
	*recorder
	unlinks                          int
	killAfterUnlink, killAfterDelete bool
}

var errKilled = errors.New("killed")

func (a *earlyAPI) UnlinkIdentity(ctx context.Context, in *cognitoidentity.UnlinkIdentityInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.UnlinkIdentityOutput, error) {
	a.unlinks++
	out, err := a.recorder.UnlinkIdentity(ctx, in, optFns...)
	if err == nil && a.killAfterUnlink {
		a.killAfterUnlink = false
		return nil, errKilled
	}
	return out, err
}

func (a *earlyAPI) DeleteIdentities(ctx context.Context, in *cognitoidentity.DeleteIdentitiesInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.DeleteIdentitiesOutput, error) {
	out, err := a.recorder.DeleteIdentities(ctx, in, optFns...)
	if err == nil && a.killAfterDelete {
		a.killAfterDelete = false
		return nil, errKilled
	}
	return out, err
}

// failingS3 fails CopyObject while failCopies > 0.
type failingS3 struct {
	s3move.API
	failCopies int
}

func (f *failingS3) CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	if f.failCopies > 0 {
		f.failCopies--
		return nil, errKilled
	}
	return f.API.CopyObject(ctx, in, optFns...)
}

// earlyBed is newBed with files: alice's and dave's old identities hold a
// photo; dave's new login's own identity (he signed in to the new pool
// before the link) holds what he saved since: a new photo, an avatar, and
// a photo.jpg of another content than his old one (a conflict).
type earlyBed struct {
	*bed
	api    *earlyAPI
	s3     *failingS3
	s3c    *s3.Client
	bucket string
	dir    string
}

func newEarlyBed(t *testing.T) *earlyBed {
	b := &earlyBed{bed: newBed(t, true), dir: t.TempDir()}
	b.api = &earlyAPI{recorder: b.bed.api}
	b.s3c = b.env.S3(t)
	b.s3 = &failingS3{API: b.s3c}
	b.bucket = testenv.NewBucket(t, b.s3c)
	testenv.PutObjects(t, b.s3c, b.bucket,
		testenv.S3Object{Key: "private/" + b.had["alice"] + "/photo.jpg", Body: []byte("alice")},
		testenv.S3Object{Key: "private/" + b.had["dave"] + "/photo.jpg", Body: []byte("dave's old photo")},
		testenv.S3Object{Key: "private/" + b.had["dave-new"] + "/new.jpg", Body: []byte("dave's new photo")},
		testenv.S3Object{Key: "private/" + b.had["dave-new"] + "/photo.jpg", Body: []byte("another photo")},
		testenv.S3Object{Key: "protected/" + b.had["dave-new"] + "/avatar.png", Body: []byte("dave's avatar")})
	return b
}

func (b *earlyBed) options(names ...string) link.Options {
	o := b.bed.options(filepath.Join(b.dir, "link.jsonl"), names...)
	ts, err := s3move.ParseTemplates([]string{"private/{entity_id}/", "protected/{entity_id}/"})
	if err != nil {
		panic(err)
	}
	o.Copy = &link.CopyOptions{S3: b.s3, Buckets: []link.Bucket{{Name: b.bucket, Templates: ts}}, Dir: b.dir, Command: "storage link"}
	return o
}

// files are an identity's objects, path (after the identity) → body.
func (b *earlyBed) files(t *testing.T, id string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{"private/", "protected/"} {
		for _, k := range testenv.ListKeys(t, b.s3c, b.bucket, dir+id+"/") {
			o, err := b.s3c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(k)})
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(o.Body)
			o.Body.Close()
			out[dir+strings.TrimPrefix(k, dir+id+"/")] = string(data)
		}
	}
	return out
}

func (b *earlyBed) exists(t *testing.T, id string) bool {
	t.Helper()
	_, err := b.env.CognitoIdentity(t).DescribeIdentity(context.Background(), &cognitoidentity.DescribeIdentityInput{IdentityId: &id})
	return err == nil
}

// checkDaveCopied: dave's new login answers his old identity, which holds
// his old photo (kept over the conflicting one) and everything his own
// identities held; those identities are gone, their objects stay.
func (b *earlyBed) checkDaveCopied(t *testing.T, res link.Result, own ...string) {
	t.Helper()
	var dave link.Entry
	for _, e := range res.Entries {
		if e.OldUsername == "dave" {
			dave = e
		}
	}
	if dave.Outcome != link.Copied || dave.Old != b.had["dave"] || dave.New != b.had["dave"] || !slices.Equal(dave.From, own) {
		t.Fatalf("dave: %+v, want copied from %v to %s", dave, own, b.had["dave"])
	}
	if !slices.Equal(dave.Conflicts, []string{"private/" + b.had["dave"] + "/photo.jpg"}) {
		t.Errorf("dave's conflicts %v, want his old photo.jpg", dave.Conflicts)
	}
	want := map[string]string{"private/photo.jpg": "dave's old photo", "private/new.jpg": "dave's new photo", "protected/avatar.png": "dave's avatar"}
	if len(own) > 1 {
		want["private/later.txt"] = "saved between the unlink and the link"
	}
	if got := b.files(t, b.had["dave"]); !mapsEqual(got, want) {
		t.Errorf("dave's old identity holds %v, want %v", got, want)
	}
	if got := b.newID(t, "dave"); got != b.had["dave"] {
		t.Errorf("dave's new login answers %s, not his identity %s", got, b.had["dave"])
	}
	for _, id := range own {
		if b.exists(t, id) {
			t.Errorf("dave's own identity %s was not deleted", id)
		}
		if len(b.files(t, id)) == 0 {
			t.Errorf("the objects under %s were deleted; they stay until retire", id)
		}
	}
	var remaps []s3move.Move
	for _, id := range own {
		remaps = append(remaps, s3move.Move{User: "dave", Old: id, New: b.had["dave"]})
	}
	if got := res.Remaps(); !slices.Equal(got, remaps) {
		t.Errorf("Remaps %v, want %v", got, remaps)
	}
	if got, err := link.Remaps(res.Path); err != nil || !slices.Equal(got, remaps) {
		t.Errorf("link.Remaps %v (%v), want %v", got, err, remaps)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestRunCopiesWhatAnEarlyUserSaved: a run without buckets records dave
// (who signed in to the new pool before the link) as needing a copy; a run
// with them asks him alone again, unlinks his new login from its own
// identity, links it to his old one, copies what the own identity holds
// there (his old photo kept over the one of the same name, named a
// conflict) and deletes that identity; a third run asks nothing.
func TestRunCopiesWhatAnEarlyUserSaved(t *testing.T) {
	b := newEarlyBed(t)
	ctx := context.Background()
	o := b.options("alice", "carol", "dave")
	noCopy := o
	noCopy.Copy = nil
	res, err := link.Run(ctx, b.api, noCopy)
	var inc *link.IncompleteError
	if !errors.As(err, &inc) || res.Count(link.NeedsCopy) != 1 || b.api.unlinks != 0 {
		t.Fatalf("run without buckets: %v, %+v, %d unlinks", err, res, b.api.unlinks)
	}
	res, err = link.Run(ctx, b.api, o)
	if err != nil || res.Asked != 1 || res.Count(link.Copied) != 1 || res.Count(link.Linked) != 1 || res.Count(link.NoIdentity) != 1 {
		t.Fatalf("run with a bucket: %v, %+v", err, res)
	}
	if res.Unlinked != 1 || res.CopiedObjects != 2 || res.OwnDeleted != 1 || len(res.Conflicts) != 1 || len(res.NotLinked()) != 0 {
		t.Errorf("unlinked %d, copied %d objects, deleted %d, conflicts %v; want 1, 2, 1, 1", res.Unlinked, res.CopiedObjects, res.OwnDeleted, res.Conflicts)
	}
	b.checkDaveCopied(t, res, b.had["dave-new"])
	if got := b.files(t, b.had["alice"]); len(got) != 1 {
		t.Errorf("alice's identity holds %v", got)
	}
	data, _ := os.ReadFile(res.Path)
	if strings.Contains(string(data), "eyJ") {
		t.Error("the journal holds a token")
	}
	calls, unlinks := len(b.api.calls), b.api.unlinks
	again, err := link.Run(ctx, b.api, o)
	if err != nil || again.Asked != 0 || len(b.api.calls) != calls || b.api.unlinks != unlinks || again.Count(link.Copied) != 1 {
		t.Fatalf("third run: %v, asked %d, %d GetId, %d unlinks", err, again.Asked, len(b.api.calls)-calls, b.api.unlinks-unlinks)
	}
}

// TestRunResumesAnEarlyUserAfterAKill stops the run right after each risky
// step; the next run finds the state and finishes: no file is lost, dave
// always has a way in, his own identities end deleted.
func TestRunResumesAnEarlyUserAfterAKill(t *testing.T) {
	for _, tc := range []string{"after the unlink, before the link", "in the copy", "after the delete, before its line"} {
		t.Run(tc, func(t *testing.T) {
			b := newEarlyBed(t)
			ctx := context.Background()
			own := []string{b.had["dave-new"]}
			switch tc {
			case "after the unlink, before the link":
				b.api.killAfterUnlink = true
			case "in the copy":
				b.s3.failCopies = 1
			default:
				b.api.killAfterDelete = true
			}
			res, err := link.Run(ctx, b.api, b.options("dave"))
			if err == nil || len(res.Failures) != 1 || res.Failures[0].User != "dave" {
				t.Fatalf("killed run: %v, %+v", err, res)
			}
			if got := b.files(t, b.had["dave-new"]); len(got) != 3 {
				t.Fatalf("dave's own identity's files after the kill: %v", got)
			}
			if tc == "after the unlink, before the link" {
				// dave's app signs in meanwhile: his new login, on no
				// identity, is given a fresh one, where he saves a file.
				later := b.newID(t, "dave")
				if later == b.had["dave-new"] || later == b.had["dave"] {
					t.Fatalf("dave's new login answers %s after the unlink", later)
				}
				testenv.PutObjects(t, b.s3c, b.bucket, testenv.S3Object{Key: "private/" + later + "/later.txt", Body: []byte("saved between the unlink and the link")})
				own = append(own, later)
			} else if got := b.newID(t, "dave"); got != b.had["dave"] {
				t.Fatalf("after the kill dave's new login answers %s, not his identity %s", got, b.had["dave"])
			}
			res, err = link.Run(ctx, b.api, b.options("dave"))
			if err != nil || res.Count(link.Copied) != 1 {
				t.Fatalf("resumed run: %v, %+v", err, res)
			}
			b.checkDaveCopied(t, res, own...)
		})
	}
}

// TestRunRefusesAnotherUsersTokenForAnEarlyUser: a minter answering dave's
// request for a new-pool token with alice's is refused before anything is
// unlinked, linked or copied.
func TestRunRefusesAnotherUsersTokenForAnEarlyUser(t *testing.T) {
	b := newEarlyBed(t)
	b.newMint.answerAs = map[string]string{"dave-new": "alice-new"}
	res, err := link.Run(context.Background(), b.api, b.options("dave"))
	if err == nil || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Error, "names sub") {
		t.Fatalf("Run: %v, %+v", err, res)
	}
	if b.api.unlinks != 0 || res.CopiedObjects != 0 {
		t.Errorf("%d unlinks, %d objects copied", b.api.unlinks, res.CopiedObjects)
	}
	for _, c := range b.api.calls {
		if len(c) > 1 {
			t.Errorf("a GetId carried two logins: %v", c)
		}
	}
	if got := b.newID(t, "dave"); got != b.had["dave-new"] {
		t.Errorf("dave's new login answers %s, want his own %s untouched", got, b.had["dave-new"])
	}
	if got := b.files(t, b.had["dave"]); len(got) != 1 {
		t.Errorf("dave's old identity holds %v", got)
	}
}

// TestRunCopiesNoIdentityAForgedLineNames: a journal line naming dave's
// identity as alice's own (the journal is not proof) copies nothing into
// alice's identity and leaves dave's as it was.
func TestRunCopiesNoIdentityAForgedLineNames(t *testing.T) {
	b := newEarlyBed(t)
	o := b.options("alice")
	alice := b.users["alice"]
	var lines []byte
	for _, e := range []link.Entry{
		{Kind: "start", OldUserPool: b.oldPool, NewUserPool: b.newPool, IdentityPool: b.ip},
		{Kind: "step", Step: "unlink", OldSub: alice.OldSub, NewSub: alice.NewSub, Old: b.had["alice"], New: b.had["dave-new"]},
	} {
		data, _ := json.Marshal(e)
		lines = append(append(lines, data...), '\n')
	}
	if err := os.WriteFile(o.Path, lines, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := link.Run(context.Background(), b.api, o)
	if err == nil || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Error, "holds the logins") || res.CopiedObjects != 0 {
		t.Fatalf("Run: %v, %+v", err, res)
	}
	if got := b.files(t, b.had["alice"]); len(got) != 1 {
		t.Errorf("alice's identity holds %v, want her photo alone", got)
	}
	if !b.exists(t, b.had["dave-new"]) || b.newID(t, "dave") != b.had["dave-new"] {
		t.Error("dave's own identity was deleted or unlinked")
	}
	if b.api.unlinks != 0 {
		t.Errorf("%d unlinks", b.api.unlinks)
	}
}

// TestRunTakesNoPairAForgedLineNames: after dave's own identity was
// copied and deleted, journal lines naming it as alice's own, every step
// done, give alice no pair (a field remap would write alice's identity
// into what dave saved): her run fails and the pairs are dave's alone.
func TestRunTakesNoPairAForgedLineNames(t *testing.T) {
	b := newEarlyBed(t)
	ctx := context.Background()
	if _, err := link.Run(ctx, b.api, b.options("dave")); err != nil {
		t.Fatal(err)
	}
	alice := b.users["alice"]
	f, err := os.OpenFile(b.options().Path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"unlink", "unlinked", "copied", "deleted"} {
		data, _ := json.Marshal(link.Entry{Kind: "step", Step: step, OldSub: alice.OldSub, NewSub: alice.NewSub, Old: b.had["alice"], New: b.had["dave-new"]})
		if _, err := f.Write(append(data, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	res, err := link.Run(ctx, b.api, b.options("alice", "dave"))
	if err == nil || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Error, "two users") {
		t.Fatalf("Run: %v, %+v", err, res)
	}
	want := []s3move.Move{{User: "dave", Old: b.had["dave-new"], New: b.had["dave"]}}
	if got, err := link.Remaps(res.Path); err != nil || !slices.Equal(got, want) {
		t.Errorf("pairs %v (%v), want dave's alone", got, err)
	}
	if got := b.files(t, b.had["alice"]); len(got) != 1 {
		t.Errorf("alice's identity holds %v", got)
	}
}
