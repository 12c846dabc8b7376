package s3move

import (
	"strings"
	"testing"
)

const (
	idA = "us-east-1:11111111-1111-4111-8111-111111111111"
	idB = "us-east-1:22222222-2222-4222-8222-222222222222"
	idC = "eu-west-2:33333333-3333-4333-8333-333333333333"
	idD = "us-gov-west-1:44444444-4444-4444-8444-444444444444"
)

// Only REGION:GUID passes: anything that could change an S3 key's path
// (/, .., wildcards) or name another prefix (case) is refused.
func TestCheckIdentityID(t *testing.T) {
	for _, id := range []string{idA, idC, idD, "ap-southeast-2:0a1b2c3d-4e5f-6789-abcd-ef0123456789"} {
		if err := CheckIdentityID(id); err != nil {
			t.Errorf("%s refused: %v", id, err)
		}
	}
	for _, id := range []string{
		"", "us-east-1:", ":" + idA[10:], "us-east-1:../22222222-2222-4222-8222-222222222222",
		"us-east-1:11111111-1111-4111-8111-111111111111/../x", "../" + idA, idA + "/", idA + "*",
		"us-east-1:11111111-1111-4111-8111-11111111111*", "us-east-1:11111111-1111-4111-8111-11111111111",
		"US-EAST-1:11111111-1111-4111-8111-111111111111", "us-east-1:AAAAAAAA-1111-4111-8111-111111111111",
		"us-east-1:11111111-1111-4111-8111-111111111111\n", " " + idA, "us-east-1/11111111-1111-4111-8111-111111111111",
		"us-east-1:11111111-1111-4111-8111-111111111111:x", "..:11111111-1111-4111-8111-111111111111",
	} {
		if err := CheckIdentityID(id); err == nil {
			t.Errorf("%q accepted", id)
		}
	}
}

func TestParseTemplate(t *testing.T) {
	for _, c := range []struct{ in, want, prefix string }{
		{"private/{entity_id}/", "private/{entity_id}/", "private/" + idA + "/"},
		{"protected/{entity_id}/", "protected/{entity_id}/", "protected/" + idA + "/"},
		{"media/{entity_id}/*", "media/{entity_id}/", "media/" + idA + "/"},
		{"a/{entity_id}/b/", "a/{entity_id}/", "a/" + idA + "/"},
		{"a/{entity_id}/b/*", "a/{entity_id}/", "a/" + idA + "/"},
		{"{entity_id}/", "{entity_id}/", idA + "/"},
		{"u/x-{entity_id}-y/z/", "u/x-{entity_id}-y/", "u/x-" + idA + "-y/"},
	} {
		tp, err := ParseTemplate(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if tp.String() != c.want || tp.Prefix(idA) != c.prefix {
			t.Errorf("%s: cut to %s, prefix %s; want %s, %s", c.in, tp, tp.Prefix(idA), c.want, c.prefix)
		}
	}
	for _, bad := range []string{"", "private/", "private/{entity_id}", "private/{entity_id}/{entity_id}/", "/private/{entity_id}/",
		"../{entity_id}/", "a/../{entity_id}/", "a//{entity_id}/", "a/./{entity_id}/", "a/*/{entity_id}/", "private/{entity_id}*/", "private/{identity_id}/"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	ts, err := ParseTemplates([]string{"a/{entity_id}/b/", "a/{entity_id}/", "c/{entity_id}/*"})
	if err != nil || len(ts) != 2 {
		t.Errorf("ParseTemplates: %v %v, want the two distinct prefixes", ts, err)
	}
}

// Moves that could put one user's files under another's id are refused,
// whatever the order.
func TestCheckMoves(t *testing.T) {
	ok := []Move{{"alice", idA, idB}, {"bob", idC, idD}}
	if err := CheckMoves(ok); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		moves []Move
		says  string
	}{
		"swapped":        {[]Move{{"alice", idA, idB}, {"bob", idB, idA}}, "mix"},
		"chained":        {[]Move{{"alice", idA, idB}, {"bob", idB, idC}}, "mix"},
		"chained-back":   {[]Move{{"bob", idB, idC}, {"alice", idA, idB}}, "mix"},
		"shared old id":  {[]Move{{"alice", idA, idB}, {"bob", idA, idC}}, "both have the old identity id"},
		"shared new id":  {[]Move{{"alice", idA, idB}, {"bob", idC, idB}}, "both have the new identity id"},
		"same id":        {[]Move{{"alice", idA, idA}}, "both"},
		"dot-dot":        {[]Move{{"mallory", idA, "us-east-1:../../private/" + idB[10:]}}, "not a Cognito identity id"},
		"dot-dot old id": {[]Move{{"mallory", "us-east-1:..", idB}}, "not a Cognito identity id"},
		"none":           {nil, "no move"},
	} {
		err := CheckMoves(c.moves)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want a refusal saying %q", name, err, c.says)
		}
	}
}

func TestRewrites(t *testing.T) {
	for _, c := range []struct {
		src, dest string
		want      bool
	}{
		{"private/" + idA + "/x.jpg", "private/" + idB + "/x.jpg", true},
		{"a/" + idA + "/b/" + idA + "/c", "a/" + idB + "/b/" + idA + "/c", true},
		{"private/" + idA + "/x.jpg", "private/" + idB + "/y.jpg", false},
		{"private/" + idA + "/x.jpg", "public/" + idB + "/x.jpg", false},
		{"private/" + idA + "/x.jpg", "private/" + idC + "/x.jpg", false},
		{"private/" + idA + "x/x.jpg", "private/" + idB + "x/x.jpg", false},
	} {
		if got := rewrites(c.src, c.dest, idA, idB); got != c.want {
			t.Errorf("rewrites(%s, %s) = %v", c.src, c.dest, got)
		}
	}
}
