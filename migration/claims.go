package migration

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/federated"
)

// A new-pool user's custom:prev_sub_id and custom:prev_username claim an
// old identity: sync gives the claimant that user's groups, remap their
// items, retire counts them as migrated. The attributes are something a
// user may have written (a pool prepared by an older version, an app
// client allowed to write them), so a claim is kept only when it agrees
// with the backup: the old sub and username are one backup user, and the
// new user signs in with what that backup user had, proven by Cognito
// (see claimAgrees). An old identity two users claim is kept for neither.
//
// A federated user makes no such claim: Cognito refuses to link a provider
// login to a user holding an immutable attribute, so the import creates
// them without custom:prev_*, and their provider login (the identities
// attribute, which only Cognito writes: at a link the tool made from the
// backup, or at a sign-in the provider vouched for) names the old user
// whose login it was in the backup.
//
// So does a password user the old pool had linked a login to (one person,
// two ways in; cognito.NamedByLogin): their login names the old user, and
// the claim is kept only when the new user also holds, verified, the
// e-mail or phone number the backup holds verified for that user (and
// signs in as them, claimAgrees). The login alone would not do: it is
// linked by the import to an account it found by name, and a name is
// something anyone may sign up with.

// Stable codes of refused claims (in --json).
const (
	ClaimNotInBackup      = "CLAIM_NOT_IN_BACKUP"
	ClaimUsernameMismatch = "CLAIM_USERNAME_MISMATCH"
	ClaimSignInMismatch   = "CLAIM_SIGN_IN_MISMATCH"
	ClaimContested        = "CLAIM_CONTESTED"
	ClaimLoginsDisagree   = "CLAIM_LOGINS_DISAGREE"
)

// ClaimRefusal is one new-pool user whose claim is not kept: nothing is
// granted for it (no group, no item, not counted as migrated).
type ClaimRefusal struct {
	Username        string `json:"username"`
	Sub             string `json:"sub"`
	ClaimedSub      string `json:"claimedSub"`
	ClaimedUsername string `json:"claimedUsername"`
	Code            string `json:"code"`
	Reason          string `json:"reason"`
}

// MaxNamedRefusals bounds the refusals a listing names (the count is
// exact).
const MaxNamedRefusals = 10000

// ClaimReport is what the check of the claims found.
type ClaimReport struct {
	Refused      []ClaimRefusal `json:"refused"`
	RefusedCount int            `json:"refusedCount"`
}

func (r *ClaimReport) refuse(c ClaimRefusal) {
	r.RefusedCount++
	if len(r.Refused) < MaxNamedRefusals {
		r.Refused = append(r.Refused, c)
	}
}

// ClaimsAPI is the part of the Cognito API checking claims uses: the new
// pool's sign-in settings and its users.
type ClaimsAPI interface {
	cognito.PoolDescriber
	cognito.UserLister
}

// ListClaims lists the new pool's users that claim an old identity and
// keeps those whose claim agrees with the backup; the others are in the
// report. Every command that grants something for a claim (sync, remap,
// verify, retire-old-pool, import) reads the claims through it. dir, when
// set, keeps the records out of the heap (see cognito.MigratedUsers).
func ListClaims(ctx context.Context, api ClaimsAPI, pool, backup string, limit *rate.Limiter, dir string) (*cognito.MigratedUsers, ClaimReport, error) {
	idx, err := readClaimIndex(backup, dir)
	if err != nil {
		return nil, ClaimReport{Refused: []ClaimRefusal{}}, err
	}
	defer idx.close()
	return listClaims(ctx, api, pool, idx, limit, dir)
}

func listClaims(ctx context.Context, api ClaimsAPI, pool string, idx *claimIndex, limit *rate.Limiter, dir string) (*cognito.MigratedUsers, ClaimReport, error) {
	rep := ClaimReport{Refused: []ClaimRefusal{}}
	p, err := cognito.DescribePool(ctx, api, pool)
	if err != nil {
		return nil, rep, err
	}
	m, err := cognito.ListMigrated(ctx, api, pool, limit, dir, func(u cognito.User) (string, bool) {
		prev := u.Attributes[cognito.PrevSubAttr]
		byLogin, why := idx.byLogins(u)
		code := ""
		switch {
		case why != "":
			code = ClaimLoginsDisagree
		case prev == "" && byLogin != "" && idx.native[byLogin] != nil:
			if why = idx.nativeLoginAgrees(p, u, byLogin); why == "" {
				return byLogin, true
			}
			code = ClaimSignInMismatch
		case prev == "":
			return byLogin, true // "" when the user claims nobody
		case byLogin != "" && byLogin != prev:
			code, why = ClaimLoginsDisagree, fmt.Sprintf("custom:prev_sub_id names old sub %s, but the provider login Cognito linked to this user was old user %q's", prev, idx.username(byLogin))
		default:
			code, why = idx.judge(p, u)
		}
		if code == "" {
			return prev, true
		}
		// What the user claimed: custom:prev_*, or else the old user its
		// logins name.
		claimedUser := u.Attributes[cognito.PrevUsernameAttr]
		if prev == "" {
			prev, claimedUser = byLogin, idx.username(byLogin)
		}
		rep.refuse(ClaimRefusal{Username: u.Username, Sub: u.Sub, ClaimedSub: prev, ClaimedUsername: claimedUser, Code: code, Reason: why})
		return prev, false
	})
	if err != nil {
		return nil, rep, err
	}
	for _, c := range m.Contested {
		var names []string
		for _, tu := range c.Users {
			names = append(names, tu.Username)
		}
		for _, tu := range c.Users {
			rep.refuse(ClaimRefusal{Username: tu.Username, Sub: tu.Sub, ClaimedSub: c.Prev, ClaimedUsername: idx.username(c.Prev), Code: ClaimContested,
				Reason: fmt.Sprintf("%d users of the new pool claim this old user (%s): none of them is taken for it; delete the ones that are not the user, then run again", len(c.Users), strings.Join(names, ", "))})
		}
	}
	sort.SliceStable(rep.Refused, func(i, j int) bool {
		if rep.Refused[i].ClaimedSub != rep.Refused[j].ClaimedSub {
			return rep.Refused[i].ClaimedSub < rep.Refused[j].ClaimedSub
		}
		return rep.Refused[i].Username < rep.Refused[j].Username
	})
	return m, rep, nil
}

// claimIndex holds, for each user of the backup, what a claim must agree
// with: the username, e-mail and phone number, in an arena (in a spill
// file when given a folder).
type claimIndex struct {
	entries []claimEntry // sorted by sub
	odd     map[string]claimEntry
	// logins maps each provider login of the backup's federated users
	// ("<provider>_<user id>", as a pool names it) to its old user's sub,
	// and those of the password users named by their login.
	logins map[string]string
	// native holds the verified contacts of the password users named by
	// their login, by old sub.
	native map[string]map[string]string
	store  *cognito.Store[claimEntry]
	arena  *cognito.Arena
}

type claimEntry struct {
	sub                    cognito.UUIDKey
	username, email, phone cognito.StrRef
}

func readClaimIndex(path, dir string) (*claimIndex, error) {
	idx, err := newClaimIndex(dir)
	if err != nil {
		return nil, err
	}
	_, _, err = cognito.ReadBackupFile(path, cognito.BackupVisitor{User: idx.add})
	if err == nil {
		err = idx.seal()
	}
	if err != nil {
		idx.close()
		return nil, fmt.Errorf("read the backup %s to check the new pool's claims: %w", path, err)
	}
	return idx, nil
}

func newClaimIndex(dir string) (*claimIndex, error) {
	st, err := cognito.NewStore[claimEntry](dir, "claim-backup")
	if err != nil {
		return nil, err
	}
	idx := &claimIndex{odd: map[string]claimEntry{}, logins: map[string]string{}, native: map[string]map[string]string{}, store: st}
	if idx.arena, err = cognito.NewArena(dir); err != nil {
		idx.close()
		return nil, err
	}
	return idx, nil
}

// add records one backup user.
func (x *claimIndex) add(u cognito.User) error {
	var e claimEntry
	var err error
	for _, f := range []struct {
		ref *cognito.StrRef
		v   string
	}{{&e.username, u.Username}, {&e.email, u.Attributes["email"]}, {&e.phone, u.Attributes["phone_number"]}} {
		if *f.ref, err = x.arena.Add(f.v); err != nil {
			return err
		}
	}
	// A federated user's login names them, and so does that of a password
	// user cognito.NamedByLogin (the others carry custom:prev_*).
	native := cognito.NamedByLogin(u)
	if v := u.Attributes[federated.IdentitiesAttr]; v != "" && (u.Status == federated.StatusExternal || native) {
		ids, err := federated.ParseIdentities(v)
		if err != nil {
			return fmt.Errorf("backup user %s: %w", u.Username, err)
		}
		for _, id := range ids {
			x.logins[id.Key()] = u.Sub
		}
		if native {
			x.native[u.Sub] = cognito.VerifiedContacts(u.Attributes)
		}
	}
	if k, ok := cognito.ParseUUID(u.Sub); ok {
		e.sub = k
		return x.store.Add(e)
	}
	x.odd[u.Sub] = e
	return nil
}

func (x *claimIndex) seal() error {
	if err := x.arena.Seal(); err != nil {
		return err
	}
	var err error
	if x.entries, err = x.store.Seal(); err != nil {
		return err
	}
	sort.Slice(x.entries, func(i, j int) bool { return x.entries[i].sub.Less(x.entries[j].sub) })
	return nil
}

func (x *claimIndex) close() {
	x.store.Close()
	x.arena.Close()
}

func (x *claimIndex) get(sub string) (claimEntry, bool) {
	if k, ok := cognito.ParseUUID(sub); ok {
		i := sort.Search(len(x.entries), func(i int) bool { return !x.entries[i].sub.Less(k) })
		if i < len(x.entries) && x.entries[i].sub == k {
			return x.entries[i], true
		}
		return claimEntry{}, false
	}
	e, ok := x.odd[sub]
	return e, ok
}

// username is the backup's username of an old sub ("" when unknown).
func (x *claimIndex) username(sub string) string {
	if e, ok := x.get(sub); ok {
		return x.arena.Get(e.username)
	}
	return ""
}

// byLogins is the old sub of the backup user whose provider logins the
// new-pool user holds ("" when none of its logins is in the backup), or
// why its logins name more than one old user.
func (x *claimIndex) byLogins(u cognito.User) (string, string) {
	v := u.Attributes[federated.IdentitiesAttr]
	if v == "" {
		return "", ""
	}
	ids, err := federated.ParseIdentities(v)
	if err != nil {
		return "", err.Error()
	}
	sub := ""
	for _, id := range ids {
		s, ok := x.logins[id.Key()]
		switch {
		case !ok:
		case sub == "":
			sub = s
		case s != sub:
			return sub, fmt.Sprintf("its provider logins were two old users' (%q and %q): link each login to its own user", x.username(sub), x.username(s))
		}
	}
	return sub, ""
}

// judge checks one new-pool user's claim against the backup: a refusal
// code and why, or "" when the claim agrees.
func (x *claimIndex) judge(p cognito.Pool, u cognito.User) (string, string) {
	prevSub, prevUser := u.Attributes[cognito.PrevSubAttr], u.Attributes[cognito.PrevUsernameAttr]
	e, ok := x.get(prevSub)
	if !ok {
		return ClaimNotInBackup, "no user of the backup has this old sub (a user of the old pool created after the backup, or a forged claim): take a new backup if the old user is real"
	}
	oldUser := x.arena.Get(e.username)
	if prevUser != oldUser {
		return ClaimUsernameMismatch, fmt.Sprintf("the old sub is backup user %q, not %q: the two old-identity attributes name different users", oldUser, prevUser)
	}
	b := backupContact{email: x.arena.Get(e.email), phone: x.arena.Get(e.phone), username: oldUser}
	if why := claimAgrees(p, u, b); why != "" {
		return ClaimSignInMismatch, why
	}
	return "", ""
}

// nativeLoginAgrees says why a new-pool user holding the login of the
// password user old (named by login) is not that user, or "" when it is:
// it signs in as them (claimAgrees), and holds verified an e-mail or phone
// number the backup holds verified for them.
func (x *claimIndex) nativeLoginAgrees(p cognito.Pool, u cognito.User, old string) string {
	c := x.native[old]
	b := backupContact{email: c["email"], phone: c["phone_number"], username: x.username(old)}
	if why := claimAgrees(p, u, b); why != "" {
		return why
	}
	held := cognito.VerifiedContacts(u.Attributes)
	if (b.email != "" && strings.EqualFold(held["email"], b.email)) || (b.phone != "" && held["phone_number"] == b.phone) {
		return ""
	}
	return fmt.Sprintf("it holds the provider login of old user %q, a password user whom only that login and their verified e-mail or phone number name, and it holds neither verified", b.username)
}

// backupContact is what the backup says a user signs in with.
type backupContact struct{ email, phone, username string }

// claimAgrees says why the new user does not sign in as the backup user,
// or "" when they do. In a pool that signs in by e-mail or phone, the new
// user's verified e-mail (or phone) must be the backup user's: Cognito
// verified it, and the pool lets one user hold it. In a pool that signs
// in by username, the username must be the old one (the import and the
// trigger keep it; compared as the pool compares names), or the new user
// must hold a verified e-mail or phone of the backup user (an import that
// named users by sub or e-mail, a trigger sign-in by e-mail address).
func claimAgrees(p cognito.Pool, u cognito.User, b backupContact) string {
	verified := func(attr string) string {
		if strings.EqualFold(u.Attributes[attr+"_verified"], "true") {
			return u.Attributes[attr]
		}
		return ""
	}
	email, phone := verified("email"), verified("phone_number")
	emailAgrees := email != "" && strings.EqualFold(email, b.email)
	phoneAgrees := phone != "" && phone == b.phone
	var signIn []string
	for _, a := range p.UsernameAttributes {
		switch a {
		case "email":
			if emailAgrees {
				return ""
			}
			signIn = append(signIn, "e-mail")
		case "phone_number":
			if phoneAgrees {
				return ""
			}
			signIn = append(signIn, "phone number")
		}
	}
	if len(signIn) > 0 {
		return fmt.Sprintf("the new pool signs in by %s, and the new user's verified %s is not the backup user's", strings.Join(signIn, " or "), strings.Join(signIn, " or "))
	}
	sameName := u.Username == b.username
	if p.CaseSensitive != nil && !*p.CaseSensitive {
		sameName = strings.EqualFold(u.Username, b.username)
	}
	if sameName || emailAgrees || phoneAgrees {
		return ""
	}
	return "the new pool signs in by username: the new user's username is not the backup user's, and it has no verified e-mail or phone number of the backup user"
}
