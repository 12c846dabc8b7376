// Package link keeps each migrated user's Cognito identity id across a
// user-pool move when the identity pool survives it (issue 22, route 1
// "link": Gen 2 always). While the identity pool lists both the old and the
// new user pool as providers, one GetId carrying both logins links the new
// login to the identity the old login has; afterwards the new login alone
// answers the old identity id, and no file moves. It knows nothing of
// flags or terminals.
//
// The users come from the caller, who takes them only from claims checked
// against the backup (migration.ListClaims and BuildSubMap, as remap,
// verify and storage copy do). For each user it asks a Minter for an ID
// token of each user pool, checks that each names the user it was asked
// for (identitymap.CheckToken), and then:
//
//   - asks GetId with the old login alone. An id the pool did not list
//     before the run (ListIdentities) is one GetId just made: the user never
//     had an identity, has no files to keep, and that identity is deleted
//     (DeleteIdentities); nothing is linked ("no identity").
//   - asks GetId with both logins. ResourceConflictException means the new
//     login already has an identity of its own (the user signed in to the
//     new pool before the link; Cognito does not merge user-pool
//     identities). With Options.Copy, that identity is unlinked from the
//     new login and the link is made, proven, and followed by a copy of
//     the identity's files to the old one (early.go: "copied"); without
//     it nothing is linked, and both ids are recorded ("needs copy").
//   - asks GetId with the new login alone and records the link only when
//     it answers the old id (the proof).
//
// The trio's tokens carry the tool's own app client as `aud`, which
// Cognito Identity takes only from a client the identity pool lists for the
// provider: the caller lists those two clients for the run and takes
// exactly them out again (identitymap.Admit).
//
// The journal is a line file (JSONL, 0600, locked for the run): a user's
// outcome is written once it is proven, so a killed run resumes where it
// stopped. A line is reused only for the same old and new user as the
// claims give now; the file is never proof of who a user is.
package link

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity/types"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
)

// API is the part of Cognito Identity Link calls, with the SDK's own
// signatures: *cognitoidentity.Client satisfies it.
type API interface {
	identitymap.API
	UnlinkIdentity(ctx context.Context, in *cognitoidentity.UnlinkIdentityInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.UnlinkIdentityOutput, error)
	DescribeIdentityPool(ctx context.Context, in *cognitoidentity.DescribeIdentityPoolInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.DescribeIdentityPoolOutput, error)
}

// Outcomes of a user.
const (
	// Linked: the new login answers the user's old identity id.
	Linked = "linked"
	// NoIdentity: the user never had an identity; nothing is kept and
	// none is left made for them.
	NoIdentity = "no identity"
	// NeedsCopy: the new login has an identity of its own (made before
	// the link); its files must be moved to the old identity.
	NeedsCopy = "needs copy"
	// Copied: the new login had an identity of its own; it was unlinked,
	// the new login linked to the old identity (proven), the own
	// identity's files copied there (verified) and the own identity
	// deleted. Its objects stay in the bucket until retire.
	Copied = "copied"
)

// Options configure Run.
type Options struct {
	// IdentityPool is the identity pool that survives the move.
	IdentityPool string
	// Old and New are the user pools (their IdentityPool is ignored).
	Old, New identitymap.Side
	Users    []identitymap.User
	// Path is the journal (its folder is created 0700).
	Path string
	// Command names the run in the journal's lock ("storage link").
	Command string
	// Copy, if set, finishes users whose new login has an identity of its
	// own (early.go); without it they are recorded as needing a copy.
	Copy *CopyOptions
	// Limiter paces the identity calls (default identitymap.DefaultRate
	// a second).
	Limiter *rate.Limiter
	// Progress, if set, is called after each user.
	Progress func(done, total int)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Failure is a user for whom nothing was proven; they are asked again by
// the next run.
type Failure struct {
	User  string `json:"user"`
	Error string `json:"error"`
}

// Result is the journal after a run.
type Result struct {
	Path    string  `json:"path"`
	Entries []Entry `json:"entries"`
	// Asked counts the users asked by this run.
	Asked int `json:"asked"`
	// Deleted counts identities GetId made for users who had none,
	// deleted again by this run.
	Deleted  int       `json:"deleted"`
	Failures []Failure `json:"failures"`
	// Stale counts journal lines no current claim agrees with (ignored).
	Stale int `json:"stale"`
	// Of users who reached the new pool early (Options.Copy), by this
	// run: Unlinked counts the new logins unlinked from an identity of
	// their own, CopiedObjects the objects copied from those identities,
	// OwnDeleted those identities deleted after their copy; Conflicts are
	// keys where the old identity already held another object (both
	// kept).
	Unlinked      int               `json:"unlinked"`
	CopiedObjects int64             `json:"copiedObjects"`
	OwnDeleted    int               `json:"ownDeleted"`
	Conflicts     []s3move.Conflict `json:"conflicts"`
}

// Count is how many entries have the outcome.
func (r Result) Count(outcome string) int {
	n := 0
	for _, e := range r.Entries {
		if e.Outcome == outcome {
			n++
		}
	}
	return n
}

// NotLinked names the users who are not linked: those needing a copy and
// those who failed (not those without an identity: they had nothing).
func (r Result) NotLinked() []string {
	var out []string
	for _, e := range r.Entries {
		if e.Outcome == NeedsCopy {
			out = append(out, e.OldUsername)
		}
	}
	for _, f := range r.Failures {
		out = append(out, f.User)
	}
	return out
}

// MissingProviderError is an identity pool that does not list both user
// pools: the link needs both during the window.
type MissingProviderError struct {
	IdentityPool string
	Missing      []string
	Listed       []string
}

func (e *MissingProviderError) Error() string {
	return fmt.Sprintf("identity pool %s does not list user pool provider(s) %v (it lists %v): the link needs both the old and the new user pool as providers of the identity pool while it runs. Add the old pool's provider (with an app client of the old pool) to the identity pool's CognitoIdentityProviders for the window: Gen 2, a block in amplify/backend.ts that adds it to the CfnIdentityPool (cfnIdentityPool.cognitoIdentityProviders) and a deploy; Gen 1 with a kept identity pool, an override of the auth stack's identity pool, or `aws cognito-identity update-identity-pool`. Then run storage link again; remove the old provider at retire", e.IdentityPool, e.Missing, e.Listed)
}

// CheckProviders refuses an identity pool that does not list both user
// pools' providers (DescribeIdentityPool).
func CheckProviders(ctx context.Context, api API, pool string, sides ...identitymap.Side) error {
	out, err := api.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: aws.String(pool)})
	if err != nil {
		return fmt.Errorf("describe identity pool %s: %w", pool, err)
	}
	listed := map[string]bool{}
	e := &MissingProviderError{IdentityPool: pool, Listed: []string{}}
	for _, p := range out.CognitoIdentityProviders {
		listed[aws.ToString(p.ProviderName)] = true
		e.Listed = append(e.Listed, aws.ToString(p.ProviderName))
	}
	for _, s := range sides {
		if !listed[s.Provider()] {
			e.Missing = append(e.Missing, s.Provider())
		}
	}
	if len(e.Missing) > 0 {
		return e
	}
	return nil
}

// IncompleteError is a run that left users not linked.
type IncompleteError struct{ Users []string }

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("%d user(s) are not linked: %v", len(e.Users), e.Users)
}

// Run links every user, resuming the journal at o.Path.
func Run(ctx context.Context, api API, o Options) (Result, error) {
	res := Result{Path: o.Path, Entries: []Entry{}, Failures: []Failure{}, Conflicts: []s3move.Conflict{}}
	if err := o.check(); err != nil {
		return res, err
	}
	if o.Limiter == nil {
		o.Limiter = rate.NewLimiter(identitymap.DefaultRate, 1)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := o.Limiter.Wait(ctx); err != nil {
		return res, err
	}
	if err := CheckProviders(ctx, api, o.IdentityPool, o.Old, o.New); err != nil {
		return res, err
	}
	j, err := openJournal(o.Path, o.Command, o.header())
	if err != nil {
		return res, err
	}
	defer j.close()
	todo, stale := j.pending(o.Users, o.Copy != nil)
	res.Stale = stale
	if len(todo) > 0 {
		known, err := identitymap.ListIdentities(ctx, api, o.IdentityPool, o.Limiter)
		if err != nil {
			return res, err
		}
		res.Asked = len(todo)
		for i, u := range todo {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			e, err := o.one(ctx, api, j, u, known, &res)
			switch {
			case err == nil:
				if err := j.append(e); err != nil {
					return res, err
				}
			case ctx.Err() != nil:
				return res, ctx.Err()
			default:
				res.Failures = append(res.Failures, Failure{User: u.OldUsername, Error: err.Error()})
			}
			if o.Progress != nil {
				o.Progress(i+1, len(todo))
			}
		}
	}
	for _, u := range o.Users {
		if e, ok := j.lookup(u); ok {
			res.Entries = append(res.Entries, e)
		}
	}
	if nl := res.NotLinked(); len(nl) > 0 {
		return res, &IncompleteError{Users: nl}
	}
	return res, nil
}

// Read is what the journal at path says of users, without a call: the
// entries of users it has, and the users it has not (a dry run).
func Read(path string, o Options) (Result, []string, error) {
	res := Result{Path: path, Entries: []Entry{}, Failures: []Failure{}, Conflicts: []s3move.Conflict{}}
	start, lines, err := readJournal(path)
	if err != nil && !errors.Is(err, errNoJournal) {
		return res, nil, err
	}
	head := Entry{OldUserPool: o.Old.UserPool, NewUserPool: o.New.UserPool, IdentityPool: o.IdentityPool}
	if err := start.sameRun(path, head); start.Kind != "" && err != nil {
		return res, nil, err
	}
	by := map[string]Entry{}
	for _, e := range lines {
		by[e.OldSub] = e
	}
	var pending []string
	for _, u := range o.Users {
		e, ok := by[u.OldSub]
		ok = ok && e.user() == u
		if ok {
			res.Entries = append(res.Entries, e)
		}
		if !ok || o.Copy != nil && e.Outcome == NeedsCopy {
			pending = append(pending, u.OldUsername)
		}
	}
	res.Stale = len(lines) - len(res.Entries)
	return res, pending, nil
}

func (o Options) check() error {
	for _, s := range []identitymap.Side{o.Old, o.New} {
		if s.UserPool == "" || s.Region == "" || s.Minter == nil {
			return errors.New("storage link: both user pools need an id, a region and a minter")
		}
	}
	if o.Old.UserPool == o.New.UserPool {
		return fmt.Errorf("storage link: the old and new user pools are the same (%s)", o.Old.UserPool)
	}
	if o.IdentityPool == "" || o.Path == "" {
		return errors.New("storage link: no identity pool or no journal")
	}
	if c := o.Copy; c != nil && (c.S3 == nil || len(c.Buckets) == 0 || c.Dir == "") {
		return errors.New("storage link: a copy needs an S3 client, a bucket and a journal folder")
	}
	return nil
}

func (o Options) header() Entry {
	return Entry{Kind: kindStart, OldUserPool: o.Old.UserPool, NewUserPool: o.New.UserPool, IdentityPool: o.IdentityPool, Time: o.Now().UTC()}
}

// one links a user, counting in res what it deleted, unlinked and copied.
func (o Options) one(ctx context.Context, api API, j *journal, u identitymap.User, known map[string]bool, res *Result) (Entry, error) {
	e := Entry{Kind: kindUser, OldSub: u.OldSub, OldUsername: u.OldUsername, NewSub: u.NewSub, NewUsername: u.NewUsername}
	oldTok, err := o.token(ctx, o.Old, u.OldUsername, u.OldSub)
	if err != nil {
		return e, err
	}
	newTok, err := o.token(ctx, o.New, u.NewUsername, u.NewSub)
	if err != nil {
		return e, err
	}
	oldLogin := map[string]string{o.Old.Provider(): oldTok}
	newLogin := map[string]string{o.New.Provider(): newTok}

	// An ask line first: a run killed between the GetId and the user's
	// line leaves its time, and the next run takes an identity made after
	// it for one GetId made.
	asked, hadAsk := j.askedAt(u.OldSub)
	if err := j.append(Entry{Kind: kindAsk, OldSub: u.OldSub, Time: o.Now().UTC()}); err != nil {
		return e, err
	}
	old, err := o.getID(ctx, api, oldLogin)
	if err != nil {
		return e, fmt.Errorf("old login: %w", err)
	}
	made := !known[old]
	// An identity a run found there before it (the had line) is the
	// user's, however recent: a user asked again (needing a copy, or
	// failed after this point) keeps it.
	if !made && hadAsk && j.had[u.OldSub] != old {
		d, err := o.created(ctx, api, old)
		if err != nil {
			return e, err
		}
		made = d != nil && !d.Before(asked.Add(-time.Minute))
	}
	if !made && j.had[u.OldSub] != old {
		if err := j.append(Entry{Kind: kindAsk, OldSub: u.OldSub, Old: old, Time: o.Now().UTC()}); err != nil {
			return e, err
		}
	}
	if made {
		if err := o.delete(ctx, api, old); err != nil {
			return e, err
		}
		res.Deleted++
		e.Outcome = NoIdentity
		return e, nil
	}
	e.Old = old
	both := map[string]string{o.Old.Provider(): oldTok, o.New.Provider(): newTok}
	linked, err := o.getID(ctx, api, both)
	// A conflict: the new login has an identity of its own. With a copy
	// to make, it is unlinked from it and the link asked again (again if
	// the user's app made it another one meanwhile, a few times).
	for tries := 0; errors.As(err, new(*types.ResourceConflictException)); tries++ {
		own, oerr := o.getID(ctx, api, newLogin)
		if oerr != nil {
			return e, fmt.Errorf("the new login has an identity of its own: %w", oerr)
		}
		if o.Copy == nil || tries == maxUnlinks {
			e.Outcome, e.New = NeedsCopy, own
			return e, nil
		}
		if uerr := o.unlink(ctx, api, j, u, old, own, newTok); uerr != nil {
			return e, uerr
		}
		res.Unlinked++
		linked, err = o.getID(ctx, api, both)
	}
	switch {
	case err != nil:
		return e, fmt.Errorf("link: %w", err)
	case linked != old:
		return e, fmt.Errorf("link: GetId with both logins answered %s, not the old identity %s", linked, old)
	}
	proof, err := o.getID(ctx, api, newLogin)
	if err != nil {
		return e, fmt.Errorf("proof: %w", err)
	}
	if proof != old {
		return e, fmt.Errorf("proof: the new login alone answers %s, not the old identity %s", proof, old)
	}
	e.Outcome, e.New, e.Proven = Linked, proof, o.Now().UTC()
	// Identities a run unlinked from the new login hold what the user
	// saved before the link: their files go to the old identity now.
	if own := j.sourcesOf(u); len(own) > 0 {
		if o.Copy == nil {
			e.Outcome, e.New, e.Proven = NeedsCopy, own[len(own)-1], time.Time{}
			return e, nil
		}
		return o.finish(ctx, api, j, u, e, own, res)
	}
	return e, nil
}

func (o Options) token(ctx context.Context, side identitymap.Side, username, sub string) (string, error) {
	tok, err := side.Minter.Mint(ctx, username)
	if err == nil {
		err = identitymap.CheckToken(tok, side, sub)
	}
	if err != nil {
		return "", fmt.Errorf("token for %s in %s: %w", username, side.UserPool, err)
	}
	return tok, nil
}

func (o Options) getID(ctx context.Context, api API, logins map[string]string) (string, error) {
	if err := o.Limiter.Wait(ctx); err != nil {
		return "", err
	}
	out, err := api.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: aws.String(o.IdentityPool), Logins: logins})
	if err != nil {
		return "", fmt.Errorf("GetId in %s: %w", o.IdentityPool, err)
	}
	id := aws.ToString(out.IdentityId)
	if err := s3move.CheckIdentityID(id); err != nil {
		return "", fmt.Errorf("GetId in %s: %w", o.IdentityPool, err)
	}
	return id, nil
}

func (o Options) created(ctx context.Context, api API, id string) (*time.Time, error) {
	if err := o.Limiter.Wait(ctx); err != nil {
		return nil, err
	}
	out, err := api.DescribeIdentity(ctx, &cognitoidentity.DescribeIdentityInput{IdentityId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("describe identity %s: %w", id, err)
	}
	return out.CreationDate, nil
}

func (o Options) delete(ctx context.Context, api API, id string) error {
	if err := o.Limiter.Wait(ctx); err != nil {
		return err
	}
	out, err := api.DeleteIdentities(ctx, &cognitoidentity.DeleteIdentitiesInput{IdentityIdsToDelete: []string{id}})
	if err == nil && len(out.UnprocessedIdentityIds) > 0 {
		err = fmt.Errorf("unprocessed (%s)", out.UnprocessedIdentityIds[0].ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("delete the identity %s GetId made for a user who had none: %w", id, err)
	}
	return nil
}
