package cli

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"github.com/poolmigrate/poolmigrate/storage/link"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// unlinkRecorder records the identities UnlinkIdentity is asked for.
type unlinkRecorder struct {
	*getIDRecorder
	mu       sync.Mutex
	unlinked []string
}

func (r *unlinkRecorder) UnlinkIdentity(ctx context.Context, in *cognitoidentity.UnlinkIdentityInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.UnlinkIdentityOutput, error) {
	r.mu.Lock()
	r.unlinked = append(r.unlinked, *in.IdentityId)
	r.mu.Unlock()
	return r.getIDRecorder.UnlinkIdentity(ctx, in, optFns...)
}

// TestStorageLinkCopiesEarlyUsersOnlyForCheckedClaims: alice, bob, carol
// and dave had identities with files through the old pool; each signed in
// to the new pool before the link, so each new login has an identity of
// its own holding a file. dave's claim is honest: `storage link --bucket`
// unlinks his new login from its own identity, links it to his old one,
// copies the file there and deletes the own identity. bob and carol claim
// each other's old identity (swapped), and mallory's custom:prev_sub_id
// names alice's (forged): their claims are refused and they gain nothing:
// no GetId carries their logins, nothing of theirs is unlinked, linked or
// copied, and every old identity but dave's holds what it held.
func TestStorageLinkCopiesEarlyUsersOnlyForCheckedClaims(t *testing.T) {
	dir := t.TempDir()
	b := newLinkBed(t, dir, "alice", "bob", "carol", "dave")
	s3c, bucket, backup, newPool, ip := b.s3, b.bucket, b.backup, b.newPool, b.ip
	oldProvider, newProvider, oldSubs, had := b.oldProv, b.newProv, b.oldSubs, b.had
	claimAs := map[string]string{"dave": "dave", "bob": "carol", "carol": "bob", "mallory": "alice"}
	newSubs, own := map[string]string{}, map[string]string{}
	for _, name := range []string{"dave", "bob", "carol", "mallory"} {
		newSubs[name] = b.newUser(t, name, claimAs[name])
		own[name] = b.newID(t, name)
		testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: "private/" + own[name] + "/since.txt", Body: []byte(name + " since")})
	}

	rec := &unlinkRecorder{getIDRecorder: &getIDRecorder{}}
	b.useTool(t, func(api link.API) link.API { rec.API = api; return rec })

	out, stderr, err := runApp(t, dir, nil, "storage", "link", "--backup", backup, "--target-pool", newPool, "--identity-pool", ip, "--bucket", bucket, "--path", "private/{entity_id}/", "--yes", "--json")
	var exit interface{ ExitCode() int }
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr, "mallory") {
		t.Fatalf("storage link: %v, want exit 1 naming the refused claims\n%s", err, stderr)
	}
	var rep storageLinkReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("--json: %v\n%s", jerr, out)
	}
	if rep.Link.Count(link.Copied) != 1 || len(rep.Link.Entries) != 1 || rep.Link.Entries[0].NewSub != newSubs["dave"] || len(rep.RefusedClaims) != 3 ||
		rep.Link.Unlinked != 1 || rep.Link.CopiedObjects != 1 || rep.Link.OwnDeleted != 1 || strings.Join(rep.Buckets, ",") != bucket {
		t.Fatalf("report %+v\n%s", rep, stderr)
	}
	if got := strings.Join(rec.unlinked, ","); got != own["dave"] {
		t.Errorf("unlinked %q, want dave's own identity alone", got)
	}
	for _, c := range rec.calls {
		for _, name := range []string{"bob", "carol", "mallory"} {
			if c[newProvider] == newSubs[name] {
				t.Errorf("a GetId carried %s's new login: %v", name, c)
			}
		}
		for _, name := range []string{"alice", "bob", "carol"} {
			if c[oldProvider] == oldSubs[name] {
				t.Errorf("a GetId carried %s's old login: %v", name, c)
			}
		}
	}
	if got := b.newID(t, "dave"); got != had["dave"] {
		t.Errorf("dave's new login answers %s, not his identity %s", got, had["dave"])
	}
	if keys := testenv.ListKeys(t, s3c, bucket, "private/"+had["dave"]+"/"); len(keys) != 2 {
		t.Errorf("dave's identity holds %v, want his doc and what he saved since", keys)
	}
	for _, name := range []string{"bob", "carol", "mallory"} {
		if got := b.newID(t, name); got != own[name] {
			t.Errorf("%s's new login answers %s, not their own identity %s", name, got, own[name])
		}
	}
	for _, name := range []string{"alice", "bob", "carol"} {
		if keys := testenv.ListKeys(t, s3c, bucket, "private/"+had[name]+"/"); len(keys) != 1 {
			t.Errorf("%s's identity holds %v, want her doc alone", name, keys)
		}
	}
	if !strings.Contains(stderr, "refused") && len(rep.RefusedClaims) == 0 {
		t.Errorf("no refusal named:\n%s", stderr)
	}
	text, _, _ := runApp(t, dir, nil, "storage", "link", "--backup", backup, "--target-pool", newPool, "--identity-pool", ip, "--bucket", bucket, "--path", "private/{entity_id}/", "--yes")
	if !strings.Contains(text, "1 copied") || !strings.Contains(text, "copied dave: from "+own["dave"]+" to "+had["dave"]) {
		t.Errorf("text report:\n%s", text)
	}
}
