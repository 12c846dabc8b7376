package s3move

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// plantUsers plants n users' files (private and protected, several pages
// each, keys that need escaping), another user who does not move, and
// public files; it returns the moves and the copies expected (new key →
// old key).
func plantUsers(b *bed, n, files int) ([]Move, map[string]string) {
	var moves []Move
	want := map[string]string{}
	var objs []testenv.S3Object
	for u := range n {
		m := Move{User: fmt.Sprintf("user%d", u), Old: newID(100 + u), New: newID(200 + u)}
		moves = append(moves, m)
		for i := range files {
			dir := "private"
			if i%4 == 0 {
				dir = "protected"
			}
			name := fmt.Sprintf("photos/%03d.jpg", i)
			if i == 1 {
				name = "my photo ü+&=%.jpg"
			}
			old := dir + "/" + m.Old + "/" + name
			objs = append(objs, testenv.S3Object{Key: old, Body: content(old, 100+i)})
			want[dir+"/"+m.New+"/"+name] = old
		}
	}
	stay := newID(999)
	objs = append(objs, testenv.S3Object{Key: "private/" + stay + "/x.jpg", Body: []byte("not moved")},
		testenv.S3Object{Key: "public/" + newID(100) + "/x.jpg", Body: []byte("public")})
	b.put(objs...)
	return moves, want
}

// checkCopies fails unless the bucket holds exactly what it held before
// plus the expected copies, each the same object as its source (a
// multipart copy, whose ETag is another, by its content).
func checkCopies(t *testing.T, b *bed, before, after map[string]string, want map[string]string) {
	t.Helper()
	exp := maps.Clone(before)
	for dest, src := range want {
		exp[dest] = before[src]
	}
	for k, v := range exp {
		if after[k] == v {
			continue
		}
		if src, ok := want[k]; ok && strings.Contains(after[k], "-") && after[k][strings.LastIndexByte(after[k], '/'):] == v[strings.LastIndexByte(v, '/'):] && bytes.Equal(b.body(k), b.body(src)) {
			continue
		}
		t.Errorf("%s: %q, want %q", k, after[k], v)
	}
	for k := range after {
		if _, ok := exp[k]; !ok {
			t.Errorf("unexpected object %s", k)
		}
	}
}

// Many users, several listing pages each: every file lands under its
// own user's new id with the same content, nothing else is written, and a
// second run copies nothing again.
func TestCopyManyUsersManyPages(t *testing.T) {
	b := newBed(t)
	moves, want := plantUsers(b, 8, 23)
	before := b.snapshot()
	api := counting(b.c)
	ts := mustTemplates(t, "private/{entity_id}/", "protected/{entity_id}/*")
	o := Options{Bucket: b.bucket, Templates: ts, Moves: moves, Journal: b.journal(), Workers: 4, PageSize: 5}
	var last Progress
	o.Progress = func(p Progress) { last = p }
	res, err := Copy(context.Background(), api, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Copied != int64(len(want)) || res.Objects != int64(len(want)) || len(res.Users) != 8 || last.Copied != int64(len(want)) {
		t.Errorf("copied %d of %d objects (%d users), progress %+v; want %d", res.Copied, res.Objects, len(res.Users), last, len(want))
	}
	// 17 private files at 5 a page is 4 pages; 6 protected, 2.
	if api.n["ListObjectsV2"] < 8*6 {
		t.Errorf("%d listings: the pages were not followed at 5 a page", api.n["ListObjectsV2"])
	}
	checkCopies(t, b, before, b.snapshot(), want)
	for u := range 8 {
		name := fmt.Sprintf("private/%s/my photo ü+&=%%.jpg", newID(200+u))
		if !bytes.Equal(b.body(name), content(want[name], 101)) {
			t.Errorf("%s: another content", name)
		}
	}
	if objects, bytes, err := Survey(context.Background(), b.c, b.bucket, ts, moves, dynamo.Share{}, 5); err != nil || objects != res.Objects || bytes != res.Bytes {
		t.Errorf("survey: %d objects, %d bytes, %v; the copy went through %d, %d", objects, bytes, err, res.Objects, res.Bytes)
	}
	again := counting(b.c)
	res, err = Copy(context.Background(), again, o)
	if err != nil || res.Copied != 0 || res.Done != int64(len(want)) || again.n["CopyObject"] != 0 {
		t.Errorf("second run: %v, copied %d, done %d, %d CopyObject calls; want everything done, no call", err, res.Copied, res.Done, again.n["CopyObject"])
	}
	v, err := Verify(context.Background(), b.c, VerifyOptions{Bucket: b.bucket, Templates: ts, Moves: moves, PageSize: 7})
	if err != nil || !v.OK() || v.Objects != int64(len(want)) {
		t.Errorf("verify: %v %+v", err, v)
	}
}

func putFull(t *testing.T, b *bed, key string, body []byte) {
	t.Helper()
	_, err := b.c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: &b.bucket, Key: &key, Body: bytes.NewReader(body),
		ContentType: aws.String("image/png"), CacheControl: aws.String("max-age=60"),
		ContentDisposition: aws.String(`attachment; filename="a.png"`), ContentEncoding: aws.String("identity"),
		Metadata: map[string]string{"owner": "alice", "album": "summer"}, Tagging: aws.String("kind=photo&year=2025"),
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// Metadata, content type, cache control, content disposition and
// encoding and tags come with a copy, whole and in parts.
func TestCopyKeepsMetadataAndTags(t *testing.T) {
	b := newBed(t)
	m := Move{User: "alice", Old: newID(1), New: newID(2)}
	small, big := "media/"+m.Old+"/small.png", "media/"+m.Old+"/big.png"
	putFull(t, b, small, content("small", 1000))
	putFull(t, b, big, content("big", 11<<20+123))
	api := counting(b.c)
	ts := mustTemplates(t, "media/{entity_id}/*")
	o := Options{Bucket: b.bucket, Templates: ts, Moves: []Move{m}, Journal: b.journal(), MultipartThreshold: 6 << 20, PartSize: MinPartSize}
	if _, err := Copy(context.Background(), api, o); err != nil {
		t.Fatal(err)
	}
	if api.n["CopyObject"] != 1 || api.n["UploadPartCopy"] != 3 || api.n["CompleteMultipartUpload"] != 1 {
		t.Errorf("calls %v: want one CopyObject (small) and three parts (big)", api.n)
	}
	ctx := context.Background()
	for _, src := range []string{small, big} {
		dest := strings.Replace(src, m.Old, m.New, 1)
		sh, err1 := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &src})
		dh, err2 := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &dest})
		if err1 != nil || err2 != nil {
			t.Fatalf("head: %v %v", err1, err2)
		}
		for what, pair := range map[string][2]*string{"content type": {sh.ContentType, dh.ContentType}, "cache control": {sh.CacheControl, dh.CacheControl},
			"content disposition": {sh.ContentDisposition, dh.ContentDisposition}, "content encoding": {sh.ContentEncoding, dh.ContentEncoding}} {
			if aws.ToString(pair[0]) == "" || aws.ToString(pair[0]) != aws.ToString(pair[1]) {
				t.Errorf("%s: %s %q, copy %q", dest, what, aws.ToString(pair[0]), aws.ToString(pair[1]))
			}
		}
		if !maps.Equal(sh.Metadata, dh.Metadata) || sh.Metadata["owner"] != "alice" {
			t.Errorf("%s: metadata %v, copy %v", dest, sh.Metadata, dh.Metadata)
		}
		if st, dt := tagsOf(t, b, src), tagsOf(t, b, dest); st != dt || st != "kind=photo,year=2025" {
			t.Errorf("%s: tags %q, copy %q", dest, st, dt)
		}
		if !bytes.Equal(b.body(src), b.body(dest)) {
			t.Errorf("%s: another content", dest)
		}
	}
	j := o.Journal
	v, err := Verify(ctx, b.c, VerifyOptions{Bucket: b.bucket, Templates: ts, Moves: []Move{m}, Journals: []string{j}})
	if err != nil || !v.OK() {
		t.Errorf("verify with the journal: %v %+v", err, v)
	}
}

func tagsOf(t *testing.T, b *bed, key string) string {
	t.Helper()
	out, err := b.c.GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		t.Fatalf("tags of %s: %v", key, err)
	}
	var s []string
	for _, tg := range out.TagSet {
		s = append(s, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// unconditional is a server that ignores If-None-Match on copies, as
// S3-compatible servers without conditional writes do.
type unconditional struct{ API }

func (u unconditional) CopyObject(ctx context.Context, in *s3.CopyObjectInput, f ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	in.IfNoneMatch = nil
	return u.API.CopyObject(ctx, in, f...)
}

// A file the user already has under their new id is never overwritten:
// another object is a conflict (both kept, named, the run fails), the
// same object counts as done and is not the copy's to roll back. It holds
// on a server that ignores If-None-Match too: the copy knows the
// destination from its listing.
func TestCopyConflictKeepsBoth(t *testing.T) {
	t.Run("conditional", func(t *testing.T) { testConflictKeepsBoth(t, func(api API) API { return api }) })
	t.Run("unconditional server", func(t *testing.T) { testConflictKeepsBoth(t, func(api API) API { return unconditional{api} }) })
}

func testConflictKeepsBoth(t *testing.T, server func(API) API) {
	b := newBed(t)
	m := Move{User: "alice", Old: newID(1), New: newID(2)}
	oldp, newp := "private/"+m.Old+"/", "private/"+m.New+"/"
	b.put(testenv.S3Object{Key: oldp + "a.txt", Body: []byte("old a")}, testenv.S3Object{Key: oldp + "b.txt", Body: []byte("same")},
		testenv.S3Object{Key: oldp + "c.txt", Body: []byte("c")}, testenv.S3Object{Key: oldp + "d.txt", Body: []byte("old d")},
		testenv.S3Object{Key: newp + "a.txt", Body: []byte("new a")}, testenv.S3Object{Key: newp + "b.txt", Body: []byte("same")},
		testenv.S3Object{Key: newp + "d.txt", Body: []byte("new d")})
	before := b.snapshot()
	o := Options{Bucket: b.bucket, Templates: mustTemplates(t, "private/{entity_id}/"), Moves: []Move{m}, Journal: b.journal()}
	res, err := Copy(context.Background(), server(b.c), o)
	var inc *IncompleteError
	if !errors.As(err, &inc) || inc.Conflicts != 2 {
		t.Fatalf("copy: %v, want an IncompleteError with two conflicts", err)
	}
	if len(res.Conflicts) != 2 || res.Conflicts[0].Dest != newp+"a.txt" || res.Conflicts[1].Dest != newp+"d.txt" || res.Conflicts[0].User != "alice" || res.Identical != 1 || res.Copied != 1 {
		t.Errorf("result %+v", res)
	}
	if string(b.body(newp+"a.txt")) != "new a" || string(b.body(oldp+"a.txt")) != "old a" || string(b.body(newp+"c.txt")) != "c" {
		t.Error("a file was overwritten or not copied")
	}
	v, _ := Verify(context.Background(), b.c, VerifyOptions{Bucket: b.bucket, Templates: o.Templates, Moves: []Move{m}})
	if v.OK() || len(v.Users[0].Different) != 2 {
		t.Errorf("verify of the conflicts: %+v", v)
	}
	rb, err := Rollback(context.Background(), b.c, o.Journal, RollbackOptions{})
	if err != nil || rb.Deleted != 1 {
		t.Fatalf("rollback: %v %+v, want the one copy deleted", err, rb)
	}
	if after := b.snapshot(); !maps.Equal(after, before) {
		t.Errorf("after rollback %v\nwant %v", after, before)
	}
}

// Rollback deletes exactly what the copy created: not the user's own
// files, not a copy the user has written since, not a copy whose old
// object is gone or is another object now.
func TestRollbackExact(t *testing.T) {
	b := newBed(t)
	moves, want := plantUsers(b, 3, 9)
	own := "private/" + moves[0].New + "/mine.jpg"
	b.put(testenv.S3Object{Key: own, Body: []byte("uploaded under the new id")})
	before := b.snapshot()
	o := Options{Bucket: b.bucket, Templates: mustTemplates(t, "private/{entity_id}/", "protected/{entity_id}/"), Moves: moves, Journal: b.journal(), PageSize: 4}
	if _, err := Copy(context.Background(), b.c, o); err != nil {
		t.Fatal(err)
	}
	changed := "private/" + moves[1].New + "/photos/002.jpg"
	retired := "private/" + moves[2].New + "/photos/003.jpg"
	altered := "private/" + moves[0].New + "/photos/005.jpg"
	b.put(testenv.S3Object{Key: changed, Body: []byte("written again by the user")}, testenv.S3Object{Key: want[altered], Body: []byte("the old object, another now")})
	if _, err := b.c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: &b.bucket, Key: aws.String(want[retired])}); err != nil {
		t.Fatal(err)
	}
	rb, err := Rollback(context.Background(), b.c, o.Journal, RollbackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	left := strings.Join(rb.Left, "\n")
	if rb.Copies != len(want) || rb.Deleted != len(want)-3 || len(rb.Left) != 3 || !strings.Contains(left, changed) || !strings.Contains(left, retired) || !strings.Contains(left, altered) {
		t.Errorf("rollback %+v", rb)
	}
	exp := maps.Clone(before)
	delete(exp, want[retired])
	after := b.snapshot()
	exp[changed], exp[retired], exp[altered], exp[want[altered]] = after[changed], after[retired], after[altered], after[want[altered]]
	if !maps.Equal(after, exp) {
		t.Errorf("after rollback:\n%v\nwant\n%v", after, exp)
	}
	if _, err := os.Stat(o.Journal); err != nil {
		t.Errorf("the journal of a rollback that left copies was moved: %v", err)
	}
	// Once the user's change is gone, a second rollback finishes.
	if _, err := b.c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: &b.bucket, Key: &changed}); err != nil {
		t.Fatal(err)
	}
	b.put(testenv.S3Object{Key: want[retired], Body: content(want[retired], 103)}, testenv.S3Object{Key: want[altered], Body: content(want[altered], 105)})
	rb, err = Rollback(context.Background(), b.c, o.Journal, RollbackOptions{})
	if err != nil || rb.Deleted != 2 || len(rb.Left) != 0 {
		t.Errorf("second rollback: %v %+v", err, rb)
	}
	if after := b.snapshot(); !maps.Equal(after, before) {
		t.Errorf("after the second rollback:\n%v\nwant\n%v", after, before)
	}
	if _, err := os.Stat(o.Journal + ".rolled-back"); err != nil {
		t.Errorf("journal not marked rolled back: %v", err)
	}
}

// Ids that could change a key's path, and moves that share an id, are
// refused before any S3 call.
func TestCopyRefusesBeforeAnyCall(t *testing.T) {
	ts := mustTemplates(t, "private/{entity_id}/")
	for name, moves := range map[string][]Move{
		"dot-dot":  {{User: "mallory", Old: newID(1), New: "us-east-1:../../private/" + newID(2)}},
		"slash":    {{User: "mallory", Old: newID(1) + "/x", New: newID(2)}},
		"swapped":  {{User: "alice", Old: newID(1), New: newID(2)}, {User: "bob", Old: newID(2), New: newID(1)}},
		"same new": {{User: "alice", Old: newID(1), New: newID(3)}, {User: "bob", Old: newID(2), New: newID(3)}},
	} {
		var api API // nil: any call panics
		_, err := Copy(context.Background(), api, Options{Bucket: "b", Templates: ts, Moves: moves, Journal: t.TempDir() + "/j.jsonl"})
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := Verify(context.Background(), api, VerifyOptions{Bucket: "b", Templates: ts, Moves: moves}); err == nil {
			t.Errorf("%s: verify accepted", name)
		}
	}
}

// Workers split the users: each user's files are copied by one worker
// only, and all are copied; a worker refuses another's journal.
func TestCopyWorkersSplitByUser(t *testing.T) {
	b := newBed(t)
	moves, want := plantUsers(b, 9, 5)
	before := b.snapshot()
	ts := mustTemplates(t, "private/{entity_id}/", "protected/{entity_id}/")
	byDest := map[string]int{}
	var journals []string
	for w := range 3 {
		api := counting(b.c)
		j := b.journal()
		journals = append(journals, j)
		res, err := Copy(context.Background(), api, Options{Bucket: b.bucket, Templates: ts, Moves: moves, Journal: j, Share: dynamo.Share{Worker: w, Of: 3}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Users) == 0 || len(res.Users) == 9 {
			t.Errorf("worker %d/3 took %d users", w, len(res.Users))
		}
		for d, n := range api.copied {
			byDest[d] += n
		}
	}
	for d := range want {
		if byDest[d] != 1 {
			t.Errorf("%s copied %d times", d, byDest[d])
		}
	}
	checkCopies(t, b, before, b.snapshot(), want)
	_, err := Copy(context.Background(), b.c, Options{Bucket: b.bucket, Templates: ts, Moves: moves, Journal: journals[0], Share: dynamo.Share{Worker: 1, Of: 3}})
	if err == nil || !strings.Contains(err.Error(), "its own journal") {
		t.Errorf("worker 1/3 on worker 0/3's journal: %v", err)
	}
}

// Retire deletes the old objects of users whose copies verify, naming
// each, and keeps every old object of a user whose verify is not clean.
func TestRetire(t *testing.T) {
	b := newBed(t)
	moves, want := plantUsers(b, 2, 6)
	ts := mustTemplates(t, "private/{entity_id}/", "protected/{entity_id}/")
	journal := b.journal()
	if _, err := Copy(context.Background(), b.c, Options{Bucket: b.bucket, Templates: ts, Moves: moves, Journal: journal}); err != nil {
		t.Fatal(err)
	}
	// user1's copy of one file is damaged: none of user1's old files go.
	bad := "private/" + moves[1].New + "/photos/002.jpg"
	b.put(testenv.S3Object{Key: bad, Body: []byte("damaged")})
	before := b.snapshot()
	// Without the copy's journal nothing is known to be copied: nothing goes.
	none, err := Retire(context.Background(), b.c, RetireOptions{VerifyOptions: VerifyOptions{Bucket: b.bucket, Templates: ts, Moves: moves}})
	if err != nil || len(none.Deleted) != 0 || len(none.Left) != 6 || !maps.Equal(b.snapshot(), before) {
		t.Fatalf("retire without a journal: %v %+v", err, none)
	}
	ro := RetireOptions{VerifyOptions: VerifyOptions{Bucket: b.bucket, Templates: ts, Moves: moves, Journals: []string{journal}}}
	ro.DryRun = true
	dry, err := Retire(context.Background(), b.c, ro)
	if err != nil || len(dry.Deleted) != 6 || !maps.Equal(b.snapshot(), before) {
		t.Fatalf("dry run: %v %+v", err, dry)
	}
	ro.DryRun = false
	res, err := Retire(context.Background(), b.c, ro)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 6 || len(res.Kept) != 1 || res.Kept[0].User != "user1" || len(res.Users) != 1 || res.Users[0] != "user0" || res.Bytes != dry.Bytes || res.Bytes < 600 {
		t.Errorf("retire %+v", res)
	}
	after := b.snapshot()
	for dest, src := range want {
		_, oldThere := after[src]
		if strings.Contains(src, moves[0].Old) == oldThere {
			t.Errorf("%s: there %v after retire", src, oldThere)
		}
		if _, ok := after[dest]; !ok {
			t.Errorf("copy %s gone", dest)
		}
	}
	for _, k := range res.Deleted {
		if !strings.Contains(k, moves[0].Old) {
			t.Errorf("deleted %s", k)
		}
	}
}

// TestRetireOnlyJournaledCopies: of a user whose verify is clean, Retire
// deletes only the old objects the journal records copying, as they still
// are. An attacker who can write under the old and new ids makes verify
// pass for files of their own: a file added under the old id after the
// copy with the same object put under the new id, a copied file replaced
// (old and new) by another, a destination that held the same object
// before the copy, a conflict resolved by hand; none of them is deleted.
// A file added under the old id alone fails the user's verify: all stays.
func TestRetireOnlyJournaledCopies(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	moves, _ := plantUsers(b, 3, 4)
	ts := mustTemplates(t, "private/{entity_id}/", "protected/{entity_id}/")
	u0, u1, u2 := moves[0], moves[1], moves[2]
	// Before the copy: u0's destination already holds the same object
	// ("exists"), u2's another one (a conflict).
	same := "private/" + u0.Old + "/photos/002.jpg"
	b.put(testenv.S3Object{Key: "private/" + u0.New + "/photos/002.jpg", Body: b.body(same)})
	conflict := "private/" + u2.Old + "/photos/003.jpg"
	b.put(testenv.S3Object{Key: "private/" + u2.New + "/photos/003.jpg", Body: []byte("the user's own")})
	journal := b.journal()
	_, err := Copy(ctx, b.c, Options{Bucket: b.bucket, Templates: ts, Moves: moves, Journal: journal})
	if err == nil {
		t.Fatal("copy: no conflict reported")
	}
	// After the copy: a file added under u0's old id, with its twin under
	// the new one; a copied file of u0's replaced on both sides; the
	// conflict "resolved" by putting the old object under the new id.
	added := "private/" + u0.Old + "/planted.txt"
	b.put(testenv.S3Object{Key: added, Body: []byte("planted")}, testenv.S3Object{Key: "private/" + u0.New + "/planted.txt", Body: []byte("planted")})
	replaced := "private/" + u0.Old + "/photos/003.jpg"
	b.put(testenv.S3Object{Key: replaced, Body: []byte("replaced")}, testenv.S3Object{Key: "private/" + u0.New + "/photos/003.jpg", Body: []byte("replaced")})
	b.put(testenv.S3Object{Key: "private/" + u2.New + "/photos/003.jpg", Body: b.body(conflict)})
	// u1 adds a file under the old id only: u1's verify fails.
	late := "protected/" + u1.Old + "/late.txt"
	b.put(testenv.S3Object{Key: late, Body: []byte("after the copy")})

	before := b.snapshot()
	ro := RetireOptions{VerifyOptions: VerifyOptions{Bucket: b.bucket, Templates: ts, Moves: moves, Journals: []string{journal}}, DryRun: true}
	dry, err := Retire(ctx, b.c, ro)
	if err != nil || !maps.Equal(b.snapshot(), before) {
		t.Fatalf("dry run: %v, or it changed the bucket", err)
	}
	ro.DryRun = false
	res, err := Retire(ctx, b.c, ro)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Deleted, dry.Deleted) || res.Bytes != dry.Bytes {
		t.Errorf("the dry run named %v (%d bytes), retire deleted %v (%d bytes)", dry.Deleted, dry.Bytes, res.Deleted, res.Bytes)
	}
	after := b.snapshot()
	for _, k := range []string{same, added, replaced, conflict, late} {
		if _, ok := after[k]; !ok {
			t.Errorf("%s was deleted", k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok && !strings.Contains(k, u0.Old) && !strings.Contains(k, u2.Old) {
			t.Errorf("%s was deleted: not an old object of a retired user", k)
		}
	}
	if len(res.Kept) != 1 || res.Kept[0].User != "user1" {
		t.Errorf("kept %+v, want user1 (a file after the copy)", res.Kept)
	}
	// u0 loses the one file copied as it still is (000 and "my photo"),
	// u2 the three besides the conflict.
	if len(res.Deleted) != 2+3 {
		t.Errorf("deleted %v, want u0's 2 and u2's 3 copied files", res.Deleted)
	}
	for _, k := range []string{same, added, replaced, conflict} {
		if !slices.Contains(res.Left, k) {
			t.Errorf("%s not named as left (%v)", k, res.Left)
		}
	}
}

// racer plants the user's own upload at a destination right after the
// copy has listed the new prefix and found nothing there.
type racer struct {
	API
	b     *bed
	plant map[string][]byte
	mu    sync.Mutex
	raced map[string]bool
}

func (r *racer) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, f ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	out, err := r.API.ListObjectsV2(ctx, in, f...)
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, body := range r.plant {
		if strings.HasPrefix(key, aws.ToString(in.Prefix)) && !r.raced[key] {
			r.raced[key] = true
			r.b.put(testenv.S3Object{Key: key, Body: body})
		}
	}
	return out, err
}

// A file the user uploads under their new id between the copy's look and
// its copy is not overwritten (the copy is conditional), is reported (a
// conflict, or the same object), and is not rolled back.
func TestCopyDestinationAppearsDuringCopy(t *testing.T) {
	b := newBed(t)
	m := Move{User: "alice", Old: newID(1), New: newID(2)}
	oldp, newp := "private/"+m.Old+"/", "private/"+m.New+"/"
	b.put(testenv.S3Object{Key: oldp + "a.txt", Body: []byte("old a")}, testenv.S3Object{Key: oldp + "b.txt", Body: []byte("same b")},
		testenv.S3Object{Key: oldp + "c.txt", Body: []byte("c")})
	before := b.snapshot()
	api := &racer{API: b.c, b: b, raced: map[string]bool{}, plant: map[string][]byte{newp + "a.txt": []byte("new a"), newp + "b.txt": []byte("same b")}}
	o := Options{Bucket: b.bucket, Templates: mustTemplates(t, "private/{entity_id}/"), Moves: []Move{m}, Journal: b.journal(), Workers: 1}
	res, err := Copy(context.Background(), api, o)
	if !api.raced[newp+"a.txt"] || !api.raced[newp+"b.txt"] {
		t.Fatal("the race was not run")
	}
	var inc *IncompleteError
	if !errors.As(err, &inc) || len(res.Conflicts) != 1 || res.Conflicts[0].Dest != newp+"a.txt" || res.Identical != 1 || res.Copied != 1 {
		t.Fatalf("copy: %v %+v, want a.txt a conflict, b.txt the same, c.txt copied", err, res)
	}
	if string(b.body(newp+"a.txt")) != "new a" {
		t.Error("the user's upload was overwritten")
	}
	if _, err := Rollback(context.Background(), b.c, o.Journal, RollbackOptions{}); err != nil {
		t.Fatal(err)
	}
	after := b.snapshot()
	before[newp+"a.txt"], before[newp+"b.txt"] = after[newp+"a.txt"], after[newp+"b.txt"]
	if !maps.Equal(after, before) || after[newp+"b.txt"] == "" || after[newp+"a.txt"] == "" {
		t.Errorf("after rollback:\n%v\nwant\n%v", after, before)
	}
}

// A copy stopped (Ctrl-C) in the middle leaves a journal the next run
// resumes: every object copied once, none twice.
func TestCopyStoppedAndResumed(t *testing.T) {
	b := newBed(t)
	moves, want := plantUsers(b, 4, 10)
	before := b.snapshot()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := counting(b.c)
	o := Options{Bucket: b.bucket, Templates: mustTemplates(t, "private/{entity_id}/", "protected/{entity_id}/"), Moves: moves, Journal: b.journal(), Workers: 3}
	o.Progress = func(p Progress) {
		if p.Copied >= 12 {
			cancel()
		}
	}
	if _, err := Copy(ctx, first, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped copy: %v", err)
	}
	o.Progress = nil
	second := counting(b.c)
	res, err := Copy(context.Background(), second, o)
	if err != nil {
		t.Fatal(err)
	}
	// A copy in flight at the stop may have been made (the resume finds
	// it and records it) or not (the resume makes it): never twice.
	if len(first.copied) >= len(want) || len(first.copied) == 0 || res.Copied+res.Done != int64(len(want)) {
		t.Errorf("%d copies made before the stop, then %d copied and %d done; want %d in all", len(first.copied), res.Copied, res.Done, len(want))
	}
	for d := range want {
		if first.copied[d]+second.copied[d] > 1 {
			t.Errorf("%s copied %d times", d, first.copied[d]+second.copied[d])
		}
	}
	checkCopies(t, b, before, b.snapshot(), want)
}
