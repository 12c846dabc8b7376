package identitymap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/time/rate"
)

// A migration that deletes the old identity pool with the old user pool
// (Gen 1's `amplify push`) cannot ask for old ids after the push, and the
// users it imports cannot sign in to the new pool until they reset their
// passwords. So the map is built in two phases: BuildOld, before the push,
// asks the old identity pool for every old user's id and keeps it in a
// file of its own (the old-side file: a start line naming only the old
// pools, ask, old and deleted lines); Build, given those ids as Known,
// asks only the new side, user by user as they can sign in.

// KindOld is a line of the old-side file: an old user's identity id.
const KindOld = "old"

// OldUser is an old pool user, as the backup gives them.
type OldUser struct{ Sub, Username string }

// OldOptions configure BuildOld.
type OldOptions struct {
	Side  Side
	Users []OldUser
	// Path is the old-side file; Command names the run in its lock.
	Path, Command string
	Limiter       *rate.Limiter
	Workers       int
	Holds         func(ctx context.Context, identityID string) (bool, error)
	Progress      func(done, total int)
	Now           func() time.Time
}

// OldResult is the old-side file after a run.
type OldResult struct {
	Path string `json:"path"`
	// Entries are the users' old lines (Created: the user had no identity,
	// the one the run made is deleted).
	Entries  []Entry   `json:"entries"`
	Asked    int       `json:"asked"`
	Created  int       `json:"created"`
	Deleted  int       `json:"deleted"`
	Failures []Failure `json:"failures"`
}

// BuildOld asks the old identity pool for each user's identity id,
// resuming the file at o.Path, and deletes the identities the run made
// for users who had none.
func BuildOld(ctx context.Context, api API, o OldOptions) (OldResult, error) {
	res := OldResult{Path: o.Path, Entries: []Entry{}, Failures: []Failure{}}
	if o.Side.UserPool == "" || o.Side.Region == "" || o.Side.IdentityPool == "" || o.Side.Minter == nil || o.Path == "" {
		return res, errors.New("old identities: need a user pool, its region, an identity pool, a minter and a file")
	}
	users := make([]User, len(o.Users))
	for i, u := range o.Users {
		users[i] = User{OldSub: u.Sub, OldUsername: u.Username}
	}
	full := Options{Old: o.Side, Users: users, Path: o.Path, Command: o.Command, Limiter: o.Limiter, Workers: o.Workers,
		Holds: o.Holds, Progress: o.Progress, Now: o.Now, oldOnly: true}
	r, err := full.build(ctx, api)
	return OldResult{Path: r.Path, Entries: r.Entries, Asked: r.Asked, Created: r.Created, Deleted: r.Deleted, Failures: r.Failures}, err
}

// ReadOld reads an old-side file: its start line and each old user's
// line by old sub. A missing file is os.ErrNotExist.
func ReadOld(path string) (Entry, map[string]Entry, error) {
	var start Entry
	byOld := map[string]Entry{}
	err := readMap(path, func(e Entry) error {
		switch e.Kind {
		case KindStart:
			if start.Kind == "" {
				start = e
			}
		case KindOld:
			byOld[e.OldSub] = e
		}
		return nil
	})
	if err == nil && start.NewUserPool != "" {
		return start, nil, fmt.Errorf("%s is an identity map, not an old-side file", path)
	}
	return start, byOld, err
}

func (o *Options) defaults() {
	if o.Limiter == nil {
		o.Limiter = rate.NewLimiter(DefaultRate, 1)
	}
	if o.Workers < 1 {
		o.Workers = 16
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// IsNotExist tells a missing old-side file or map.
func IsNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
