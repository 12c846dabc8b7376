package s3move

import (
	"fmt"
	"regexp"
	"strings"
)

// identityID is the form of a Cognito identity id: a region, a colon and
// a lowercase GUID (the API's pattern is [\w-]+:[0-9a-f-]+; every id
// Cognito hands out is REGION:GUID). Nothing else is accepted: an
// identity id becomes part of an S3 key, so a "/", a "..", a "*" or an
// upper-case GUID (another prefix than the user's) must never reach one.
var identityID = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// CheckIdentityID refuses a value that is not a Cognito identity id
// (REGION:GUID).
func CheckIdentityID(id string) error {
	if !identityID.MatchString(id) {
		return fmt.Errorf("identity id %q is not a Cognito identity id (REGION:GUID, such as us-east-1:8f4b6c66-1f6e-4d6b-9a4e-0c1f2d3e4f50): it would become part of an S3 key, so nothing else is accepted", id)
	}
	return nil
}

// Placeholder stands for the identity id in a path template.
const Placeholder = "{entity_id}"

// Template is a per-identity path of a bucket, cut right after the path
// segment that holds the identity id: "private/{entity_id}/",
// "media/{entity_id}/" (Gen 2's "media/{entity_id}/*"), "a/{entity_id}/b/"
// becomes "a/{entity_id}/". Everything under a user's prefix is theirs.
type Template struct {
	before, after string // around the placeholder; after ends in "/"
}

// ParseTemplate reads a path template: it holds {entity_id} exactly once
// and ends in "/" (a trailing "*", as Gen 2 writes its paths, is dropped).
func ParseTemplate(s string) (Template, error) {
	t := strings.TrimSuffix(s, "*")
	bad := func(why string) (Template, error) {
		return Template{}, fmt.Errorf("path template %q: %s (want a path such as private/%s/ or media/%s/*)", s, why, Placeholder, Placeholder)
	}
	switch {
	case strings.Count(t, Placeholder) != 1:
		return bad("it must hold " + Placeholder + " exactly once")
	case !strings.HasSuffix(t, "/"):
		return bad("it must end in /")
	case strings.HasPrefix(t, "/"):
		return bad("S3 keys of Amplify storage do not start with /")
	case strings.ContainsAny(t, "*?\x00"):
		return bad("it holds a wildcard")
	}
	for _, seg := range strings.Split(strings.TrimSuffix(t, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad("it has an empty, . or .. segment")
		}
	}
	before, rest, _ := strings.Cut(t, Placeholder)
	seg, _, _ := strings.Cut(rest, "/")
	return Template{before: before, after: seg + "/"}, nil
}

// ParseTemplates reads several templates, dropping those that cut to the
// same prefix.
func ParseTemplates(ss []string) ([]Template, error) {
	var out []Template
	seen := map[Template]bool{}
	for _, s := range ss {
		t, err := ParseTemplate(s)
		if err != nil {
			return nil, err
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no path template: name at least one per-identity path (private/%s/, protected/%s/)", Placeholder, Placeholder)
	}
	return out, nil
}

// String is the template as cut ("private/{entity_id}/").
func (t Template) String() string { return t.before + Placeholder + t.after }

// Prefix is the prefix of an identity's objects. id must be checked
// (CheckIdentityID).
func (t Template) Prefix(id string) string { return t.before + id + t.after }

// Move is one user's files moving from an old identity id to a new one.
type Move struct {
	// User names the user in messages only (username or sub).
	User string `json:"user"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

// CheckMoves refuses moves that could put one user's files under another
// user's id: an invalid id, a move to the same id, and two moves sharing
// an id (the same old id twice, the same new id twice, or an id that is
// one move's old id and another's new id, as swapped or chained moves
// would be). Every move is checked, whichever worker's share it is in.
func CheckMoves(moves []Move) error {
	if len(moves) == 0 {
		return fmt.Errorf("no move: nothing to copy")
	}
	olds, news := map[string]string{}, map[string]string{}
	for _, m := range moves {
		for _, id := range []string{m.Old, m.New} {
			if err := CheckIdentityID(id); err != nil {
				return fmt.Errorf("user %s: %w", m.User, err)
			}
		}
		if m.Old == m.New {
			return fmt.Errorf("user %s: old and new identity id are both %s: nothing to copy (leave the user out)", m.User, m.Old)
		}
		if u, ok := olds[m.Old]; ok {
			return fmt.Errorf("users %s and %s both have the old identity id %s: one identity belongs to one user; fix the identity map", u, m.User, m.Old)
		}
		if u, ok := news[m.New]; ok {
			return fmt.Errorf("users %s and %s both have the new identity id %s: one identity belongs to one user; fix the identity map", u, m.User, m.New)
		}
		olds[m.Old], news[m.New] = m.User, m.User
	}
	for _, m := range moves {
		if u, ok := news[m.Old]; ok {
			return fmt.Errorf("identity id %s is user %s's old id and user %s's new id: copying would mix their files; fix the identity map", m.Old, m.User, u)
		}
	}
	return nil
}
