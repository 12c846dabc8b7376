package federated

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/poolmigrate/poolmigrate/cognito"
)

// API is the part of the Cognito API that brings federated users over.
type API interface {
	ProviderDescriber
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, optFns ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error)
	AdminUpdateUserAttributes(ctx context.Context, in *cip.AdminUpdateUserAttributesInput, optFns ...func(*cip.Options)) (*cip.AdminUpdateUserAttributesOutput, error)
	AdminLinkProviderForUser(ctx context.Context, in *cip.AdminLinkProviderForUserInput, optFns ...func(*cip.Options)) (*cip.AdminLinkProviderForUserOutput, error)
}

// ProviderDescriber reads a pool's identity providers.
type ProviderDescriber interface {
	DescribeIdentityProvider(ctx context.Context, in *cip.DescribeIdentityProviderInput, optFns ...func(*cip.Options)) (*cip.DescribeIdentityProviderOutput, error)
}

// MaxLinks is how many provider identities Cognito links to one user.
const MaxLinks = 5

// Result counts what Import did.
type Result struct {
	Created int64                `json:"created"` // federated users created and linked
	Linked  int64                `json:"linked"`  // identities linked (those of created users included)
	Adopted int64                `json:"adopted"` // federated users who had signed in to the new pool already
	There   int64                `json:"there"`   // users whose identities were all linked already
	Failed  []cognito.FailedUser `json:"failed"`
	// Unlinked are password users the old pool had linked a login to,
	// brought over with their password way in only: Cognito links no login
	// to a user holding an immutable attribute (custom:prev_*), which those
	// without a verified contact keep (cognito.NamedByLogin).
	Unlinked []cognito.FailedUser `json:"unlinked"`
}

// MissingProviders lists the providers the users sign in with that the
// new pool lacks (DescribeIdentityProvider by the same name: a link names
// the provider, so another name breaks every link).
func MissingProviders(ctx context.Context, api ProviderDescriber, pool string, providers map[string]int) ([]string, error) {
	var missing []string
	for name := range providers {
		_, err := api.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: &pool, ProviderName: &name})
		switch {
		case apiCode(err) == "ResourceNotFoundException":
			missing = append(missing, name)
		case err != nil:
			return nil, fmt.Errorf("describe identity provider %s of pool %s: %w", name, pool, err)
		}
	}
	sort.Strings(missing)
	return missing, nil
}

// MissingProviderReason is why a user of a provider the new pool lacks is
// not brought over, with the settings that add the provider.
func MissingProviderReason(provider, pool string) string {
	return fmt.Sprintf("pool %s has no identity provider named %s: add it under the same name (Gen 1: `amplify update auth`, social providers / the hosted UI's identity providers; Gen 2: defineAuth loginWith.externalProviders in amplify/auth/resource.ts), deploy, and run import again", pool, provider)
}

// Import brings the federated users over and links the identities of the
// users the old pool had linked: run it after the native users are in the
// target (migrated is the target's users by old sub). Per-user refusals
// are in Result.Failed; an error stops the run (everything done is kept,
// and a run again finishes the job: each step recognises what is there).
func Import(ctx context.Context, api API, t cognito.Target, users []User, migrated *cognito.MigratedUsers, l cognito.Limits) (Result, error) {
	var res Result
	missing, err := MissingProviders(ctx, api, t.Pool.ID, Providers(users))
	if err != nil {
		return res, err
	}
	lacks := map[string]bool{}
	for _, m := range missing {
		lacks[m] = true
	}
	for _, u := range users {
		fail := func(reason string) {
			res.Failed = append(res.Failed, cognito.FailedUser{Username: u.Old.Username, Sub: u.Old.Sub, Reason: reason})
		}
		if p := firstLacking(u, lacks); p != "" {
			fail(MissingProviderReason(p, t.Pool.ID))
			continue
		}
		var (
			outcome string
			err     error
		)
		if u.External() {
			outcome, err = importExternal(ctx, api, t, u, migrated, l, &res)
		} else {
			outcome, err = linkNative(ctx, api, t, u, migrated, l, &res)
		}
		switch {
		case err != nil:
			return res, err
		case outcome != "" && !u.External() && strings.HasPrefix(outcome, immutableRefusal):
			res.Unlinked = append(res.Unlinked, cognito.FailedUser{Username: u.Old.Username, Sub: u.Old.Sub, Reason: outcome})
		case outcome != "":
			fail(outcome)
		}
	}
	return res, nil
}

func firstLacking(u User, lacks map[string]bool) string {
	for _, id := range u.Identities {
		if lacks[id.ProviderName] {
			return id.ProviderName
		}
	}
	return ""
}

// Username is the username a federated user gets in the target: the
// e-mail or phone number when the target signs in with it, else the old
// sub (never a `<Provider>_<subject>` name, which Cognito's own federated
// users have).
func Username(t cognito.Target, u cognito.User) string {
	if len(t.Pool.UsernameAttributes) == 0 {
		return u.Sub
	}
	for _, a := range t.Pool.UsernameAttributes {
		if v := u.Attributes[a]; v != "" {
			return v
		}
	}
	return ""
}

// importExternal creates a federated user ahead of its first sign-in and
// links its identity. A refusal is returned as the reason, an error stops
// the import.
func importExternal(ctx context.Context, api API, t cognito.Target, u User, migrated *cognito.MigratedUsers, l cognito.Limits, res *Result) (string, error) {
	pool := t.Pool.ID
	id := u.Identities[0]
	if tu, ok := migrated.Get(u.Old.Sub); ok {
		return ensureLinked(ctx, api, pool, u, tu.Username, false, l, res)
	}
	// Did they sign in through the provider to the new pool already?
	// Cognito made them a user then, with a new sub: that user becomes
	// theirs (no duplicate), carrying the old identity like every
	// migrated user.
	existing, err := getUser(ctx, api, pool, id.Key(), l)
	if err != nil {
		return "", err
	}
	if existing != nil {
		return adopt(ctx, api, pool, u, existing, l, res)
	}
	username := Username(t, u.Old)
	if username == "" {
		return fmt.Sprintf("pool %s signs in with %s, which this federated user has none of", pool, strings.Join(t.Pool.UsernameAttributes, "/")), nil
	}
	// No custom:prev_*: Cognito refuses to link a login to a user holding
	// an immutable attribute, and check --fix makes them immutable. The
	// login the link gives (identities, which only Cognito writes) says
	// which old user this is (see migration.ListClaims).
	var attrs []types.AttributeType
	names := make([]string, 0, len(u.Old.Attributes))
	for n := range u.Old.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := u.Old.Attributes[n]
		switch {
		case v == "", n == "sub", n == IdentitiesAttr, n == "updated_at", n == cognito.PrevSubAttr, n == cognito.PrevUsernameAttr, strings.HasPrefix(n, "cognito:"):
		case t.HasColumn(n) || t.Pool.HasAttribute(n):
			attrs = append(attrs, types.AttributeType{Name: ptr(n), Value: ptr(v)})
		}
	}
	if err := l.UserCreation.Wait(ctx); err != nil {
		return "", err
	}
	// No TemporaryPassword: Cognito makes one nobody is told (the
	// invitation is suppressed), so the user has no password way in.
	out, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: &username, UserAttributes: attrs, MessageAction: types.MessageActionTypeSuppress})
	if r, err := refusal("create user", err); r != "" || err != nil {
		if apiCode(err) == "UsernameExistsException" || strings.HasPrefix(r, "UsernameExistsException") {
			return fmt.Sprintf("pool %s already has a user named %s (another account with this %s): link the two by hand, or remove one", pool, username, usernameWhat(t)), nil
		}
		return r, err
	}
	res.Created++
	return ensureLinked(ctx, api, pool, u, deref(out.User.Username), true, l, res)
}

func usernameWhat(t cognito.Target) string {
	if len(t.Pool.UsernameAttributes) > 0 {
		return strings.Join(t.Pool.UsernameAttributes, "/")
	}
	return "username"
}

// adopt makes the user Cognito created at a sign-in to the new pool the
// old user's: it carries the old identity from now on, so remap, restore
// and sync map the old sub to it. Only a user of the same provider and
// subject is adopted (Cognito made it after that provider vouched for
// that subject).
func adopt(ctx context.Context, api API, pool string, u User, existing *cip.AdminGetUserOutput, l cognito.Limits, res *Result) (string, error) {
	id := u.Identities[0]
	ids, err := ParseIdentities(attr(existing.UserAttributes, IdentitiesAttr))
	if err != nil || !hasIdentity(ids, id) {
		return fmt.Sprintf("pool %s has a user %s whose identities are not %s: refusing to give it this user's data", pool, deref(existing.Username), id.Key()), nil
	}
	if prev := attr(existing.UserAttributes, cognito.PrevSubAttr); prev != "" && prev != u.Old.Sub {
		return fmt.Sprintf("pool %s has user %s, which carries the old identity of another user (%s)", pool, deref(existing.Username), prev), nil
	}
	// Its login is this old user's, and that is what maps it (no
	// attribute to write: one the user cannot change could not be set
	// after creation). It is listed as migrated unless another user of the
	// new pool claims the same old user too, which the claim check names.
	res.Adopted++
	return "", nil
}

// linkNative links the identities a native user of the old pool had
// linked to the user it became in the new pool.
//
// A user cognito.NamedByLogin was created without custom:prev_* (by the
// import, or by the migration trigger at a password sign-in), so until
// their login is linked nothing names them: their account is found by
// the names the import and the trigger give (old username, old sub,
// e-mail, phone number) and linked only when it is theirs by the backup
// (ownedByLogin).
func linkNative(ctx context.Context, api API, t cognito.Target, u User, migrated *cognito.MigratedUsers, l cognito.Limits, res *Result) (string, error) {
	if tu, ok := migrated.Get(u.Old.Sub); ok {
		return ensureLinked(ctx, api, t.Pool.ID, u, tu.Username, false, l, res)
	}
	notThere := fmt.Sprintf("not in the new pool, so its linked logins (%s) cannot be linked; bring the user over first", keys(u.Identities))
	if !cognito.NamedByLogin(u.Old) {
		return notThere, nil
	}
	notThere = fmt.Sprintf("not in the new pool yet (the import, or their password sign-in through the migration trigger, brings them), so their linked logins (%s) wait: the next sync or import links them", keys(u.Identities))
	seen := map[string]bool{}
	for _, name := range []string{u.Old.Username, u.Old.Sub, u.Old.Attributes["email"], u.Old.Attributes["phone_number"]} {
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		d, err := getUser(ctx, api, t.Pool.ID, name, l)
		if err != nil {
			return "", err
		}
		if d != nil && ownedByLogin(d, u) {
			return ensureLinked(ctx, api, t.Pool.ID, u, deref(d.Username), false, l, res)
		}
	}
	return notThere, nil
}

// immutableRefusal starts the reason of a link Cognito refused because
// the destination holds an immutable attribute.
const immutableRefusal = "Cognito refuses to link"

// ensureLinked links every identity of u that the destination lacks. made
// says the import has just created dest for u; any other destination must
// be proven u's (ownedBy) before a login is linked to it.
func ensureLinked(ctx context.Context, api API, pool string, u User, dest string, made bool, l cognito.Limits, res *Result) (string, error) {
	d, err := getUser(ctx, api, pool, dest, l)
	if err != nil {
		return "", err
	}
	if d == nil {
		return fmt.Sprintf("user %s of pool %s disappeared before its identities were linked; run import again", dest, pool), nil
	}
	have, err := ParseIdentities(attr(d.UserAttributes, IdentitiesAttr))
	if err != nil {
		return "", fmt.Errorf("user %s of pool %s: %w", dest, pool, err)
	}
	var todo []Identity
	for _, id := range u.Identities {
		if !hasIdentity(have, id) {
			todo = append(todo, id)
		}
	}
	if len(todo) == 0 {
		if d.UserStatus == types.UserStatusTypeExternalProvider {
			// Cognito made this user at a sign-in through the provider
			// before the import: its login maps it to the old user.
			res.Adopted++
		} else {
			res.There++
		}
		return "", nil
	}
	// The destination must be the one the import made for this user: a
	// link lets the identity's holder in as the user it names.
	if !made && !ownedBy(d, u) {
		return fmt.Sprintf("user %s of pool %s is not the one the import made for %s (its old identity or its name does not match the backup): refusing to link %s to it", dest, pool, u.Old.Username, keys(u.Identities)), nil
	}
	if len(have)+len(todo) > MaxLinks {
		return fmt.Sprintf("%s would have %d linked identities, and Cognito links %d to a user at most", dest, len(have)+len(todo), MaxLinks), nil
	}
	for _, id := range todo {
		if err := l.UserUpdate.Wait(ctx); err != nil {
			return "", err
		}
		_, err := api.AdminLinkProviderForUser(ctx, &cip.AdminLinkProviderForUserInput{UserPoolId: &pool,
			DestinationUser: &types.ProviderUserIdentifierType{ProviderName: ptr("Cognito"), ProviderAttributeValue: d.Username},
			SourceUser:      &types.ProviderUserIdentifierType{ProviderName: ptr(id.ProviderName), ProviderAttributeName: ptr("Cognito_Subject"), ProviderAttributeValue: ptr(id.UserID)}})
		switch code := apiCode(err); {
		case err == nil:
			res.Linked++
		case code == "InvalidParameterException" && strings.Contains(strings.ToLower(errMessage(err)), "merging"):
			return fmt.Sprintf("%s signed in to pool %s through %s before the import, as user %s; Cognito cannot merge it into %s: delete that user if it holds nothing, or keep it and drop this login", u.Old.Username, pool, id.ProviderName, id.Key(), dest), nil
		case code == "AliasExistsException":
			return fmt.Sprintf("%s is linked to another user of pool %s already: unlink it there (AdminDisableProviderForUser) if it is this user's", id.Key(), pool), nil
		case code == "InvalidParameterException" && strings.Contains(strings.ToLower(errMessage(err)), "mutable"):
			return fmt.Sprintf(immutableRefusal+" %s to %s: a link's destination may hold no immutable attribute, and the old identity (custom:prev_*) is one, which a password user keeps unless the backup holds a verified e-mail or phone for them (what names them by their login instead); %s keeps signing in with a password, and through %s would sign in as a separate user without their data", id.Key(), dest, u.Old.Username, id.ProviderName), nil
		case code == "LimitExceededException":
			return fmt.Sprintf("%s has %d linked identities already, the most Cognito allows", dest, MaxLinks), nil
		default:
			if r, err := refusal("link "+id.Key()+" to "+dest, err); r != "" || err != nil {
				return r, err
			}
		}
	}
	return "", nil
}

// ownedBy tells whether a new-pool user is the one the import made for
// the old user u. It must carry u's old sub and username, which an app
// client may be allowed to write, so its name must be one the import
// gives too: u's old username or sub, the provider identity of a
// federated user who signed in before the import, or (pools that sign in
// with e-mail or phone name users by a new sub) u's e-mail or phone, held
// verified, or held by a user nobody has signed in as yet (created by an
// import: FORCE_CHANGE_PASSWORD, RESET_REQUIRED).
func ownedBy(d *cip.AdminGetUserOutput, u User) bool {
	if !u.External() && cognito.NamedByLogin(u.Old) {
		return ownedByLogin(d, u)
	}
	if attr(d.UserAttributes, cognito.PrevSubAttr) != u.Old.Sub || attr(d.UserAttributes, cognito.PrevUsernameAttr) != u.Old.Username {
		return false
	}
	name := deref(d.Username)
	if name == u.Old.Username || name == u.Old.Sub {
		return true
	}
	if u.External() && strings.EqualFold(name, u.Identities[0].Key()) {
		return true
	}
	untouched := d.UserStatus == types.UserStatusTypeForceChangePassword || d.UserStatus == types.UserStatusTypeResetRequired
	for _, a := range []string{"email", "phone_number"} {
		v := u.Old.Attributes[a]
		held := v != "" && strings.EqualFold(attr(d.UserAttributes, a), v)
		if held && (strings.EqualFold(name, v) || name == attr(d.UserAttributes, "sub")) && (untouched || attr(d.UserAttributes, a+"_verified") == "true") {
			return true
		}
	}
	return false
}

// ownedByLogin tells whether a new-pool user is the account the import
// (or the migration trigger) made for u, a password user named by their
// login (cognito.NamedByLogin), before any login is linked to it: a
// password user (not one a federated sign-in made) without any old
// identity, under a name the import or the trigger gives (u's old
// username or sub, e-mail or phone number, or its own sub in a pool that
// signs in with e-mail or phone), that holds verified an e-mail or phone
// number the backup holds verified for u. A name alone is not enough:
// anyone may sign up under u's old username before u comes over, but not
// prove u's mailbox or phone.
func ownedByLogin(d *cip.AdminGetUserOutput, u User) bool {
	if d.UserStatus == types.UserStatusTypeExternalProvider || attr(d.UserAttributes, cognito.PrevSubAttr) != "" || attr(d.UserAttributes, cognito.PrevUsernameAttr) != "" {
		return false
	}
	name := deref(d.Username)
	want := cognito.VerifiedContacts(u.Old.Attributes)
	named := name == u.Old.Username || name == u.Old.Sub || name == attr(d.UserAttributes, "sub")
	proven := false
	for a, v := range cognito.VerifiedContacts(attrMap(d.UserAttributes)) {
		if want[a] == "" || !strings.EqualFold(v, want[a]) {
			continue
		}
		proven = true
		named = named || strings.EqualFold(name, v)
	}
	return named && proven
}

func attrMap(attrs []types.AttributeType) map[string]string {
	out := make(map[string]string, len(attrs))
	for _, a := range attrs {
		out[deref(a.Name)] = deref(a.Value)
	}
	return out
}

func hasIdentity(ids []Identity, id Identity) bool {
	for _, h := range ids {
		if h.ProviderName == id.ProviderName && h.UserID == id.UserID {
			return true
		}
	}
	return false
}

func getUser(ctx context.Context, api API, pool, username string, l cognito.Limits) (*cip.AdminGetUserOutput, error) {
	if err := l.UserList.Wait(ctx); err != nil {
		return nil, err
	}
	out, err := api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: &username})
	if apiCode(err) == "UserNotFoundException" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get user %s of pool %s: %w", username, pool, err)
	}
	return out, nil
}

// refusal splits an API error into a per-user refusal (returned as the
// reason) and one that would fail every user (returned as an error).
func refusal(what string, err error) (string, error) {
	if err == nil {
		return "", nil
	}
	switch apiCode(err) {
	case "InvalidParameterException", "AliasExistsException", "UsernameExistsException", "UserNotFoundException", "LimitExceededException":
		return apiCode(err) + ": " + errMessage(err), nil
	}
	return "", fmt.Errorf("%s: %w", what, err)
}

func attr(attrs []types.AttributeType, name string) string {
	for _, a := range attrs {
		if deref(a.Name) == name {
			return deref(a.Value)
		}
	}
	return ""
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func errMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return err.Error()
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
