// Package identitymap finds, for each migrated user, the Cognito identity id
// they had in the old identity pool and the one they get in the new, so that
// their files can be copied from one to the other (issue 22, route 2
// "copy"). It knows nothing of flags or terminals.
//
// The users come from the caller, who takes them only from claims checked
// against the backup (migration.ListClaims and BuildSubMap, as remap and
// verify do). For each user it asks a Minter for an ID token of the old user
// pool (the old user) and of the new one (the new user), checks that each
// token names the user it was asked for, and asks GetId of each identity
// pool. Tokens stay in memory for the two calls and are dropped; the Minter
// (tokenmint) revokes their refresh tokens.
//
// GetId creates an identity for a login that has none: a user who never had
// an identity in the old pool gets one from the run. Build lists the old
// identity pool before it asks (ListIdentities) and takes an id it did not
// list for one the run created; such an identity holds no files (Holds
// confirms it, when given) and is deleted at the end (DeleteIdentities).
//
// The map is a line file (JSONL, 0600, locked for the run): a user's line is
// written once both ids are known, so a killed run resumes where it stopped.
// A line is reused only for the same old and new user as the claims give
// now; the file is never proof of who a user is.
package identitymap

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	citypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentity/types"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/storage/s3move"
	"github.com/poolmigrate/poolmigrate/tokenmint"
)

// API is the part of Cognito Identity Build calls, with the SDK's own
// signatures: *cognitoidentity.Client satisfies it.
type API interface {
	GetId(ctx context.Context, in *cognitoidentity.GetIdInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.GetIdOutput, error)
	ListIdentities(ctx context.Context, in *cognitoidentity.ListIdentitiesInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.ListIdentitiesOutput, error)
	DescribeIdentity(ctx context.Context, in *cognitoidentity.DescribeIdentityInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.DescribeIdentityOutput, error)
	DeleteIdentities(ctx context.Context, in *cognitoidentity.DeleteIdentitiesInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.DeleteIdentitiesOutput, error)
}

// Minter gives a user's ID token in one user pool without their password
// (tokenmint.Run with the pool's Cognito client, see RunMinter).
type Minter interface {
	Mint(ctx context.Context, username string) (string, error)
}

// RunMinter is a tokenmint run on one pool as a Minter.
type RunMinter struct {
	Run *tokenmint.Run
	API tokenmint.API
}

// Mint mints username's ID token (see tokenmint.Run.Mint).
func (m RunMinter) Mint(ctx context.Context, username string) (string, error) {
	return m.Run.Mint(ctx, m.API, username)
}

// User is one migrated user, as checked claims give them.
type User struct {
	OldSub, OldUsername string
	NewSub, NewUsername string
}

// Side is one user pool with the identity pool that takes its logins.
type Side struct {
	// UserPool is the user pool id; Region its region (the provider name
	// is cognito-idp.<Region>.amazonaws.com/<UserPool>).
	UserPool, Region string
	IdentityPool     string
	Minter           Minter
}

// Provider is the user pool's provider name in an identity pool.
func (s Side) Provider() string {
	return "cognito-idp." + s.Region + ".amazonaws.com/" + s.UserPool
}

// Options configure Build.
type Options struct {
	Old, New Side
	Users    []User
	// Path is the map file (its folder is created 0700).
	Path string
	// Command names the run in the map's lock ("storage copy").
	Command string
	// Limiter paces GetId, ListIdentities and DeleteIdentities (default
	// DefaultRate a second: Cognito Identity's GetId quota is 25).
	Limiter *rate.Limiter
	// Workers is how many users are asked at once (default 16: a user's
	// calls run one after another, two sign-ins through the token
	// function among them, so it takes many in flight to keep the
	// Limiter's pace; the Limiter, not Workers, bounds the rate).
	Workers int
	// Holds, if set, tells whether an identity holds files: an identity
	// the run seems to have created but that holds files is not deleted
	// and its files are moved.
	Holds func(ctx context.Context, identityID string) (bool, error)
	// Progress, if set, is called (one call at a time) after each user.
	Progress func(done, total int)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Known are old ids found before (BuildOld's lines, by old sub): a
	// user in it is asked only in the new pool, and one who had no old
	// identity (Created) not at all: there is nothing to move, and the
	// identity the old phase made was deleted by it.
	Known map[string]Entry

	// oldOnly: BuildOld's run, the old side only, its file an old-side
	// file (old lines, no user lines).
	oldOnly bool
}

// DefaultRate paces the identity calls at 92 % of GetId's quota (25 a
// second per account): a user costs a GetId in each identity pool, so
// Build maps 11.5 users a second (issue 22 asks for 90 % of the
// quota-bound 12.5; BENCHMARKS.md, "Identity map at the quota"). The
// 2 a second left over serve the app's new identities.
const DefaultRate = 23

// MintRate paces a tokenmint run that feeds Build (Run.Limiter): a token
// costs three calls (AdminInitiateAuth, AdminRespondToAuthChallenge,
// RevokeToken) and each GetId waits for one token, so the minter never
// holds GetId back (tokenmint.DefaultRate, 30, allowed 10 tokens a
// second: 80 % of the quota-bound rate). The GetId pace bounds what it
// spends: at most two UserAuthentication calls a GetId, 46 a second of
// the account's 120, the rest left to the app's sign-ins.
const MintRate = 3 * DefaultRate

// Failure is a user whose ids were not found; nothing is copied for them.
type Failure struct {
	User  string `json:"user"`
	Error string `json:"error"`
}

// Result is the map after a run.
type Result struct {
	Path    string  `json:"path"`
	Entries []Entry `json:"entries"`
	// Asked counts the users asked by this run (the others were in the
	// map already).
	Asked int `json:"asked"`
	// Created counts old identities the run made for users who had none;
	// Deleted those it deleted again.
	Created  int       `json:"created"`
	Deleted  int       `json:"deleted"`
	Failures []Failure `json:"failures"`
	// Stale counts lines of the map no current claim agrees with (ignored).
	Stale int `json:"stale"`
}

// Moves are the copies the map asks for: every user who had an old
// identity (not one the run created), old id to new.
func (r Result) Moves() []s3move.Move {
	var out []s3move.Move
	for _, e := range r.Entries {
		if e.Old != "" && !e.Created {
			out = append(out, s3move.Move{User: e.OldUsername, Old: e.Old, New: e.New})
		}
	}
	return out
}

// IncompleteError is a run that left users unmapped.
type IncompleteError struct{ Failed int }

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("%d user(s) got no identity ids (listed): their files are not copied; fix the reason and run again (users already mapped are kept)", e.Failed)
}

// Build finds every user's old and new identity ids, resuming the map at
// o.Path, and deletes the old identities the run created.
func Build(ctx context.Context, api API, o Options) (Result, error) {
	if err := o.check(); err != nil {
		return Result{Path: o.Path, Entries: []Entry{}, Failures: []Failure{}}, err
	}
	return o.build(ctx, api)
}

// build is Build after its checks, and BuildOld (o.oldOnly, the old side
// alone, its file an old-side file): it opens the file, asks the users it
// has no line of, collects their lines and deletes the old identities the
// run created.
func (o Options) build(ctx context.Context, api API) (Result, error) {
	res := Result{Path: o.Path, Entries: []Entry{}, Failures: []Failure{}}
	o.defaults()
	m, err := openMap(o.Path, o.Command, header(o))
	if err != nil {
		return res, err
	}
	defer m.close()

	byOld := map[string]User{}
	for _, u := range o.Users {
		byOld[u.OldSub] = u
	}
	// Lines of users the claims still give, as they give them.
	var todo []User
	for _, e := range m.entries {
		if u, ok := byOld[e.OldSub]; !ok || !o.agrees(e, u) {
			res.Stale++
		}
	}
	for _, u := range o.Users {
		if _, ok := o.lookup(m, u); !ok {
			todo = append(todo, u)
		}
	}
	if len(todo) > 0 {
		var known map[string]bool
		if o.unknownIn(todo) {
			if known, err = ListIdentities(ctx, api, o.Old.IdentityPool, o.Limiter); err != nil {
				return res, err
			}
		}
		res.Asked = len(todo)
		if err := o.ask(ctx, api, m, todo, known, &res); err != nil {
			return res, err
		}
	}
	for _, u := range o.Users {
		if e, ok := o.lookup(m, u); ok {
			res.Entries = append(res.Entries, e)
			if e.Created {
				res.Created++
			}
		}
	}
	if err := checkEntries(res.Entries); err != nil {
		return res, err
	}
	n, err := o.deleteCreated(ctx, api, m, res.Entries)
	res.Deleted = n
	if err != nil {
		return res, err
	}
	if len(res.Failures) > 0 {
		return res, &IncompleteError{Failed: len(res.Failures)}
	}
	return res, nil
}

// lookup is u's line of the run's file: in a map, the user line of the
// same old and new user; in an old-side file (oldOnly), the old line of
// the same old user.
func (o Options) lookup(m *mapFile, u User) (Entry, bool) {
	e, ok := m.line(u.OldSub)
	if !ok || !o.agrees(e, u) {
		return Entry{}, false
	}
	return e, true
}

// agrees tells whether e, the file's line of u's old sub, is u's.
func (o Options) agrees(e Entry, u User) bool {
	if o.oldOnly {
		return e.Kind == KindOld && e.OldUsername == u.OldUsername
	}
	return e.user() == u
}

// unknownIn tells whether some user's old id is not Known.
func (o Options) unknownIn(users []User) bool {
	for _, u := range users {
		if _, ok := o.Known[u.OldSub]; !ok {
			return true
		}
	}
	return false
}

func (o Options) check() error {
	for _, s := range []Side{o.Old, o.New} {
		if s.UserPool == "" || s.Region == "" || s.IdentityPool == "" || s.Minter == nil {
			return errors.New("identity map: both sides need a user pool, its region, an identity pool and a minter")
		}
	}
	if o.Old.IdentityPool == o.New.IdentityPool {
		return fmt.Errorf("identity map: the old and new identity pools are the same (%s): that is the link route, not the copy", o.Old.IdentityPool)
	}
	if o.Path == "" {
		return errors.New("identity map: no file")
	}
	return nil
}

func header(o Options) Entry {
	return Entry{Kind: KindStart, OldUserPool: o.Old.UserPool, OldIdentityPool: o.Old.IdentityPool,
		NewUserPool: o.New.UserPool, NewIdentityPool: o.New.IdentityPool, Time: o.Now().UTC()}
}

// ask maps the users, o.Workers at a time.
func (o Options) ask(ctx context.Context, api API, m *mapFile, users []User, known map[string]bool, res *Result) error {
	jobs := make(chan User)
	var mu sync.Mutex
	var firstErr error
	done := 0
	var wg sync.WaitGroup
	for i := 0; i < o.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range jobs {
				e, err := o.one(ctx, api, m, u, known)
				mu.Lock()
				switch {
				case err == nil:
					if werr := m.append(e); werr != nil && firstErr == nil {
						firstErr = werr
					}
				case ctx.Err() != nil || errors.As(err, new(*writeError)):
					if firstErr == nil {
						firstErr = errors.Join(ctx.Err(), err)
					}
				default:
					res.Failures = append(res.Failures, Failure{User: u.OldUsername, Error: err.Error()})
				}
				done++
				if o.Progress != nil {
					o.Progress(done, len(users))
				}
				mu.Unlock()
			}
		}()
	}
	for _, u := range users {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		jobs <- u
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// one finds a user's two ids (BuildOld: the old one). The old side is
// asked first, after an "ask" line: a run killed between the GetId and
// the user's line leaves the ask's time, and the next run takes an
// identity created after it for one the run made.
func (o Options) one(ctx context.Context, api API, m *mapFile, u User, known map[string]bool) (Entry, error) {
	e := Entry{Kind: KindUser, OldSub: u.OldSub, OldUsername: u.OldUsername, NewSub: u.NewSub, NewUsername: u.NewUsername}
	if k, ok := o.Known[u.OldSub]; ok && k.OldUsername == u.OldUsername {
		e.Old, e.Created = k.Old, k.Created
		if e.Created {
			return e, nil // no files to move: the new id is not needed
		}
	} else {
		old, created, err := o.oldID(ctx, api, m, u, known)
		if err != nil {
			return e, err
		}
		e.Old, e.Created = old, created
		if o.oldOnly {
			return Entry{Kind: KindOld, OldSub: u.OldSub, OldUsername: u.OldUsername, Old: old, Created: created, Time: o.Now().UTC()}, nil
		}
	}
	newID, err := o.identity(ctx, api, o.New, u.NewUsername, u.NewSub)
	if err != nil {
		return e, fmt.Errorf("new identity: %w", err)
	}
	e.New = newID
	return e, nil
}

// oldID asks the old identity pool for the user's id, and tells whether
// the run made it (the user had none).
func (o Options) oldID(ctx context.Context, api API, m *mapFile, u User, known map[string]bool) (string, bool, error) {
	asked, hadAsk := m.askedAt(u.OldSub)
	if err := m.append(Entry{Kind: KindAsk, OldSub: u.OldSub, Time: o.Now().UTC()}); err != nil {
		return "", false, err
	}
	old, err := o.identity(ctx, api, o.Old, u.OldUsername, u.OldSub)
	if err != nil {
		return "", false, fmt.Errorf("old identity: %w", err)
	}
	created := !known[old]
	if !created && hadAsk {
		// Listed now, but maybe made by the killed run that asked.
		d, err := o.describe(ctx, api, old)
		if err != nil {
			return "", false, err
		}
		created = d != nil && !d.Before(asked.Add(-time.Minute))
	}
	if created && o.Holds != nil {
		holds, err := o.Holds(ctx, old)
		if err != nil {
			return "", false, fmt.Errorf("look for files under %s: %w", old, err)
		}
		created = !holds
	}
	return old, created, nil
}

func (o Options) describe(ctx context.Context, api API, id string) (*time.Time, error) {
	if err := o.Limiter.Wait(ctx); err != nil {
		return nil, err
	}
	out, err := api.DescribeIdentity(ctx, &cognitoidentity.DescribeIdentityInput{IdentityId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("describe identity %s: %w", id, err)
	}
	return out.CreationDate, nil
}

// identity mints the user's ID token in side's user pool, checks it names
// the user asked for, and asks GetId for the identity of that login alone.
func (o Options) identity(ctx context.Context, api API, side Side, username, sub string) (string, error) {
	token, err := side.Minter.Mint(ctx, username)
	if err != nil {
		return "", fmt.Errorf("token for %s in %s: %w", username, side.UserPool, err)
	}
	if err := checkToken(token, side, sub); err != nil {
		return "", fmt.Errorf("token for %s in %s: %w", username, side.UserPool, err)
	}
	if err := o.Limiter.Wait(ctx); err != nil {
		return "", err
	}
	out, err := api.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: aws.String(side.IdentityPool),
		Logins: map[string]string{side.Provider(): token}})
	if err != nil {
		return "", fmt.Errorf("GetId in %s: %w", side.IdentityPool, err)
	}
	id := aws.ToString(out.IdentityId)
	if err := s3move.CheckIdentityID(id); err != nil {
		return "", fmt.Errorf("GetId in %s: %w", side.IdentityPool, err)
	}
	return id, nil
}

// checkToken refuses an ID token that is not the asked user's of the
// side's pool. Cognito Identity verifies its signature; this check keeps a
// minter that answered for someone else from mapping their identity.
func checkToken(token string, side Side, sub string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return errors.New("not a JWT")
	}
	var c struct {
		Sub      string `json:"sub"`
		TokenUse string `json:"token_use"`
		Iss      string `json:"iss"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return errors.New("not a JWT")
	}
	switch {
	case c.TokenUse != "id":
		return fmt.Errorf("not an ID token (token_use %q)", c.TokenUse)
	case !strings.HasSuffix(c.Iss, "/"+side.UserPool):
		return fmt.Errorf("issued by %q, not pool %s", c.Iss, side.UserPool)
	case c.Sub != sub:
		return fmt.Errorf("names sub %s, not %s", c.Sub, sub)
	}
	return nil
}

// ListRate paces ListIdentities pages at its quota (5 a second per
// account, the shim's figure): the identity calls' Limiter, at GetId's
// pace, would exceed it and be throttled (a million users are 16,667
// pages).
const ListRate = 5

// ListIdentities lists every identity id of the pool, each page after l
// allows it and at most ListRate pages a second (storage link lists the
// same way before its GetId calls).
func ListIdentities(ctx context.Context, api API, pool string, l *rate.Limiter) (map[string]bool, error) {
	known := map[string]bool{}
	var next *string
	pages := rate.NewLimiter(ListRate, 1)
	for {
		if err := l.Wait(ctx); err != nil {
			return nil, err
		}
		if err := pages.Wait(ctx); err != nil {
			return nil, err
		}
		out, err := api.ListIdentities(ctx, &cognitoidentity.ListIdentitiesInput{IdentityPoolId: aws.String(pool), MaxResults: aws.Int32(60), NextToken: next})
		if err != nil {
			return nil, fmt.Errorf("list identities of %s: %w", pool, err)
		}
		for _, d := range out.Identities {
			known[aws.ToString(d.IdentityId)] = true
		}
		if aws.ToString(out.NextToken) == "" {
			return known, nil
		}
		next = out.NextToken
	}
}

// checkEntries refuses a map in which two users share an id (s3move
// refuses the moves again, whichever worker copies them).
func checkEntries(entries []Entry) error {
	seen := map[string]string{}
	for _, e := range entries {
		for _, id := range []string{e.Old, e.New} {
			if id == "" {
				continue
			}
			if other, ok := seen[id]; ok && other != e.OldSub {
				return fmt.Errorf("identity map: identity %s is both old user %s's and old user %s's: nothing is copied; delete the map and run again", id, other, e.OldSub)
			}
			seen[id] = e.OldSub
		}
	}
	return nil
}

// deleteCreated deletes the old identities the run made, 60 a call, and
// records each deletion.
func (o Options) deleteCreated(ctx context.Context, api API, m *mapFile, entries []Entry) (int, error) {
	var ids []string
	for _, e := range entries {
		if k, ok := o.Known[e.OldSub]; ok && k.Created {
			continue // the old phase deleted it
		}
		if e.Created && !m.deleted[e.Old] {
			ids = append(ids, e.Old)
		}
	}
	n := 0
	for len(ids) > 0 {
		batch := ids[:min(60, len(ids))]
		ids = ids[len(batch):]
		if err := o.Limiter.Wait(ctx); err != nil {
			return n, err
		}
		out, err := api.DeleteIdentities(ctx, &cognitoidentity.DeleteIdentitiesInput{IdentityIdsToDelete: batch})
		if err != nil {
			return n, fmt.Errorf("delete the identities the run created in %s: %w", o.Old.IdentityPool, err)
		}
		left := map[string]bool{}
		for _, u := range out.UnprocessedIdentityIds {
			id := aws.ToString(u.IdentityId)
			// A run killed after its DeleteIdentities, before the line,
			// left an id Cognito no longer knows (refused, not deleted
			// again): gone is what was asked.
			gone, err := o.gone(ctx, api, id)
			if err != nil {
				return n, err
			}
			left[id] = !gone
		}
		for _, id := range batch {
			if left[id] {
				continue
			}
			if err := m.append(Entry{Kind: KindDeleted, Old: id, Time: o.Now().UTC()}); err != nil {
				return n, err
			}
			n++
		}
		if k := countTrue(left); k > 0 {
			return n, fmt.Errorf("delete the identities the run created in %s: %d not deleted (run again)", o.Old.IdentityPool, k)
		}
	}
	return n, nil
}

// gone tells whether Cognito no longer knows identity id
// (DescribeIdentity answers ResourceNotFoundException).
func (o Options) gone(ctx context.Context, api API, id string) (bool, error) {
	_, err := o.describe(ctx, api, id)
	var nf *citypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

func countTrue(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// CheckToken refuses an ID token that is not user sub's of side's user
// pool (the check Build makes; storage link makes it too).
func CheckToken(token string, side Side, sub string) error { return checkToken(token, side, sub) }
