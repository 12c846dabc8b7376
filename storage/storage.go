// Package storage reads what a user-pool migration does to an Amplify
// app's stored files, for either generation, into one model: the buckets,
// the paths under which each user's files sit in a folder named by the
// user's Cognito identity id, who may reach what, the identity pool, the
// fields of the app's data that hold identity ids, and the route the
// migration takes to keep them (link the new login to the old identity,
// or copy the files to the new identity). It reads only; it moves nothing.
package storage

import (
	"fmt"
	"regexp"
	"strings"
)

// EntityID is the placeholder standing for a user's identity id in a path
// template, as Gen 2's defineStorage writes it.
const EntityID = "{entity_id}"

// The routes a migration takes to keep users' files.
const (
	// RouteLink: the identity pool survives the move; each user's new
	// login is linked to the identity id they have, and nothing moves.
	RouteLink = "link"
	// RouteCopy: the identity pool does not survive; each user's files
	// are copied from the old identity id to the new one.
	RouteCopy = "copy"
	// RouteNone: no per-identity path and no identity-id field; there is
	// nothing to keep.
	RouteNone = "none"
)

// Plan is what a migration does to the app's stored files.
type Plan struct {
	Generation     int             `json:"generation"`
	Buckets        []Bucket        `json:"buckets"`
	IdentityPool   IdentityPool    `json:"identityPool"`
	IdentityFields []IdentityField `json:"identityFields"`
	// Route is RouteLink, RouteCopy or RouteNone; RouteReason says why.
	Route       string    `json:"route"`
	RouteReason string    `json:"routeReason"`
	Warnings    []Warning `json:"warnings"`
}

// Bucket is one S3 bucket of the app's storage.
type Bucket struct {
	// Resource is the storage resource's name: the Gen 1 resource
	// (amplify/backend/storage/<name>), Gen 2's defineStorage name.
	Resource string `json:"resource"`
	// BucketName is the deployed bucket, "" when no file names it
	// (amplify-meta.json, amplify_outputs.json).
	BucketName string `json:"bucketName"`
	Region     string `json:"region"`
	// Default is Gen 2's isDefault (or the only bucket).
	Default       bool           `json:"default"`
	IdentityPaths []IdentityPath `json:"identityPaths"`
	Access        []Access       `json:"access"`
}

// IdentityPath is a path under which each user has a folder named by
// their identity id.
type IdentityPath struct {
	// Template is the folder, with EntityID standing for the identity id
	// and a final "/": "private/{entity_id}/", "media/{entity_id}/".
	Template string `json:"template"`
	// Owner are the actions the user has on their own folder (read, get,
	// list, write, delete).
	Owner []string `json:"owner"`
	// Live is what `plan --live` counted under it.
	Live *PathCount `json:"live,omitempty"`
}

// PathCount is what is stored under an identity path.
type PathCount struct {
	Identities int64 `json:"identities"`
	Objects    int64 `json:"objects"`
	Bytes      int64 `json:"bytes"`
}

// Access is one grant: who may do what under a path.
type Access struct {
	Path string `json:"path"`
	// Who is "owner" (the identity the folder is named by),
	// "authenticated", "guest", "group" or "resource" (a function).
	Who     string   `json:"who"`
	Group   string   `json:"group,omitempty"`
	Actions []string `json:"actions"`
}

// IdentityPool is the Cognito identity pool that gives users their
// identity ids.
type IdentityPool struct {
	// ID is "" when no file names it.
	ID string `json:"id"`
	// Source names the file (and entry) the id comes from.
	Source string `json:"source"`
	// Survives tells whether the same identity pool serves the app after
	// the move.
	Survives bool `json:"survives"`
}

// IdentityField is a field of the app's data that stores identity ids.
type IdentityField struct {
	Type  string `json:"type"`
	Field string `json:"field"`
	Table string `json:"table"`
	List  bool   `json:"list"`
}

// Warning is something that needs the user's attention. Codes are stable.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (p *Plan) warn(code, format string, args ...any) {
	p.Warnings = append(p.Warnings, Warning{Code: code, Message: fmt.Sprintf(format, args...)})
}

func newPlan(gen int) *Plan {
	return &Plan{Generation: gen, Buckets: []Bucket{}, IdentityFields: []IdentityField{}, Warnings: []Warning{}}
}

// chooseRoute names the route from what the plan holds: nothing to keep,
// else link when the identity pool survives, else copy.
func (p *Plan) chooseRoute() {
	keep := len(p.IdentityFields) > 0
	for _, b := range p.Buckets {
		keep = keep || len(b.IdentityPaths) > 0
	}
	switch {
	case !keep:
		p.Route, p.RouteReason = RouteNone, "no bucket has a per-identity path and no field of the data is named as holding identity ids: there is nothing to keep"
	case p.IdentityPool.Survives && p.Generation == 2:
		p.Route, p.RouteReason = RouteLink, "the identity pool keeps its id (the pool swap only changes its providers, in place): each migrated user's new login is linked to the identity id they have, so no file moves and no identity-id field changes"
	case p.IdentityPool.Survives:
		p.Route, p.RouteReason = RouteLink, "the old identity pool is kept: each migrated user's new login is linked to the identity id they have, so no file moves and no identity-id field changes"
	default:
		p.Route, p.RouteReason = RouteCopy, "`amplify remove auth` deletes the identity pool with the auth stack and `amplify add auth` makes a new one: every migrated user gets a new identity id, so each user's files are copied from the old id's folders to the new id's, and identity-id fields are remapped"
	}
}

// SetIdentityFields records the fields the data stores identity ids in
// and names the route again (a field alone makes one needed).
func (p *Plan) SetIdentityFields(f []IdentityField) {
	if f == nil {
		f = []IdentityField{}
	}
	p.IdentityFields = f
	p.chooseRoute()
}

// addIdentityPath adds the template with the owner's actions, or merges
// the actions into the one there.
func (b *Bucket) addIdentityPath(template string, actions []string) {
	for i := range b.IdentityPaths {
		if b.IdentityPaths[i].Template == template {
			b.IdentityPaths[i].Owner = union(b.IdentityPaths[i].Owner, actions)
			return
		}
	}
	b.IdentityPaths = append(b.IdentityPaths, IdentityPath{Template: template, Owner: union(nil, actions)})
}

func union(a, b []string) []string {
	out := append([]string{}, a...)
	for _, s := range b {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// identityIDRE is a Cognito identity id: the region, a colon and a GUID
// (the API reference's [\w-]+:[0-9a-f-]+, as AWS makes them).
var identityIDRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// LooksLikeIdentityID tells whether s has the form of a Cognito identity
// id (us-east-1:0c1d2e3f-...).
func LooksLikeIdentityID(s string) bool {
	return len(s) <= 64 && identityIDRE.MatchString(s)
}

// identityPoolIDRE is the IdentityPoolId pattern of the Cognito Identity
// API reference, 1 to 55 characters.
var identityPoolIDRE = regexp.MustCompile(`^[\w-]+:[0-9a-f-]+$`)

func checkIdentityPoolID(source, id string) error {
	if len(id) <= 55 && identityPoolIDRE.MatchString(id) {
		return nil
	}
	return fmt.Errorf("%s: %q is not a Cognito identity pool id (like us-east-1:0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f); fix the file (or regenerate it) and run again", source, id)
}

// bucketNameRE is S3's rule for a (general purpose) bucket name.
var bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func checkBucketName(source, name string) error {
	if bucketNameRE.MatchString(name) && !strings.Contains(name, "..") {
		return nil
	}
	return fmt.Errorf("%s: %q is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens); fix the file (or regenerate it) and run again", source, name)
}

// regionRE is an AWS region's form (us-east-1, us-gov-west-1).
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

func checkRegion(source, region string) error {
	if region == "" || len(region) <= 32 && regionRE.MatchString(region) {
		return nil
	}
	return fmt.Errorf("%s: %q is not an AWS region; fix the file (or regenerate it) and run again", source, region)
}

// maxPathLen bounds an access path: S3 keys are at most 1,024 bytes.
const maxPathLen = 1024

// identityTemplate is the folder of an access path holding EntityID: the
// path up to and including the segment with EntityID, and "/".
// "media/{entity_id}/*" → "media/{entity_id}/"; "a/{entity_id}/b/*" →
// "a/{entity_id}/". ok is false when the path holds no EntityID.
func identityTemplate(path string) (template string, ok bool, err error) {
	if len(path) > maxPathLen {
		return "", false, fmt.Errorf("access path of %d bytes, longer than an S3 key may be", len(path))
	}
	for _, r := range path {
		if r < 0x20 || r == 0x7f {
			return "", false, fmt.Errorf("access path %q holds a control character", path)
		}
	}
	n := strings.Count(path, EntityID)
	switch {
	case n == 0:
		return "", false, nil
	case n > 1:
		return "", false, fmt.Errorf("access path %q holds %s more than once (Amplify allows it once)", path, EntityID)
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.Contains(s, EntityID) {
			if i == len(segs)-1 {
				return "", false, fmt.Errorf("access path %q ends in %s: a per-identity path is a folder (like media/%s/*)", path, EntityID, EntityID)
			}
			return strings.Join(segs[:i+1], "/") + "/", true, nil
		}
	}
	return "", false, nil
}
