package gen2patch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/poolmigrate/poolmigrate/backendpatch"
)

// poolExpr is the L1 user pool of a backend held in variable v.
func poolExpr(v string) string { return v + ".auth.resources.cfnResources.cfnUserPool" }

// load reads backend.ts into a change set and finds the backend's name.
func load(root string) (*backendpatch.ChangeSet, string, string, error) {
	cs := backendpatch.NewChangeSet(root)
	data, ok, err := cs.Load(BackendPath)
	if err != nil {
		return nil, "", "", err
	}
	if !ok {
		return nil, "", "", errNoBackend
	}
	src := string(data)
	v, err := backendVar(src)
	if err != nil {
		return nil, "", "", err
	}
	return cs, src, v, nil
}

// RetainPool writes the block that keeps the user pool when it leaves
// the template: DeletionPolicy and UpdateReplacePolicy Retain, set with
// addOverride because a sandbox deploy forces every removal policy to
// DESTROY after applyRemovalPolicy (an override is applied last). Deployed
// once, it makes the next deploy, which replaces the pool, orphan the old
// pool with its users instead of deleting it.
func RetainPool(root string) (*backendpatch.ChangeSet, error) {
	cs, src, v, err := load(root)
	if err != nil {
		return nil, err
	}
	body := fmt.Sprintf(`// Keep the user pool, with its users, when a deploy removes or replaces
// it: CloudFormation then leaves it in place instead of deleting it.
{
  const cfnUserPool = %s;
  cfnUserPool.addOverride('DeletionPolicy', 'Retain');
  cfnUserPool.addOverride('UpdateReplacePolicy', 'Retain');
}
`, poolExpr(v))
	out, err := setBlock(src, RetainBlock, "written by `poolmigrate retain-pool`; `poolmigrate retain-pool --undo` removes it", body)
	if err != nil {
		return nil, err
	}
	if err := cs.Set(BackendPath, []byte(out), "keep the user pool when a deploy replaces it (DeletionPolicy and UpdateReplacePolicy Retain)"); err != nil {
		return nil, err
	}
	return cs, nil
}

// Retained tells whether backend.ts holds the retain block.
func Retained(root string) (bool, error) {
	_, src, _, err := load(root)
	if err != nil {
		return false, err
	}
	return hasBlock(src, RetainBlock), nil
}

// Sign-in choices of the new pool.
const (
	SignInEmail         = "email"
	SignInPhone         = "phone"
	SignInEmailAndPhone = "email-and-phone"
	SignInUsername      = "username"
)

// PatchOptions shape the new pool.
type PatchOptions struct {
	SignIn string
	// Aliases are alias attributes (email, phone_number,
	// preferred_username) of a pool that signs in by username.
	Aliases []string
	// OldPoolID names the pool being replaced; the new logical id is
	// derived from it, so running patch again writes the same one.
	OldPoolID string
	// LogicalID overrides the derived logical id.
	LogicalID string
}

// NewLogicalID is the logical id the new pool gets: a new one makes
// CloudFormation create a pool, where a changed sign-in on the same id
// is an update Cognito refuses.
func NewLogicalID(oldPoolID string) string {
	sum := sha256.Sum256([]byte(oldPoolID))
	return "amplifyAuthUserPoolPm" + strings.ToUpper(hex.EncodeToString(sum[:4]))
}

// Patch writes the block that replaces the pool: a new logical id and
// the new sign-in, set with property overrides so they win over whatever
// the user's code sets (gen2-migration's `usernameAttributes = undefined`
// among them).
func Patch(root string, o PatchOptions) (*backendpatch.ChangeSet, string, error) {
	cs, src, v, err := load(root)
	if err != nil {
		return nil, "", err
	}
	id := o.LogicalID
	if id == "" {
		if o.OldPoolID == "" {
			return nil, "", fmt.Errorf("the old pool's id is unknown (amplify_outputs.json is missing): pass --pool ID")
		}
		id = NewLogicalID(o.OldPoolID)
	}
	// Each setting is assigned (Amplify's outputs, amplify_outputs.json's
	// username_attributes among them, read the construct's properties) and
	// overridden (so code that runs after the block cannot undo it).
	var usernameAttrs, aliasAttrs []string
	switch o.SignIn {
	case SignInEmail:
		usernameAttrs = []string{"email"}
	case SignInPhone:
		usernameAttrs = []string{"phone_number"}
	case SignInEmailAndPhone:
		usernameAttrs = []string{"email", "phone_number"}
	case SignInUsername:
		if aliasAttrs, err = checkAliases(o.Aliases); err != nil {
			return nil, "", err
		}
	default:
		return nil, "", fmt.Errorf("unknown sign-in %q: use email, phone, email-and-phone or username", o.SignIn)
	}
	lines := []string{setting("usernameAttributes", "UsernameAttributes", usernameAttrs), setting("aliasAttributes", "AliasAttributes", aliasAttrs)}
	body := fmt.Sprintf(`// A new user pool (new logical id) signing in by %s replaces the old
// one, which the deployed template keeps (Retain): CloudFormation creates
// the new pool and orphans the old with its users. The app client, the
// groups and the trigger permissions come back with the new pool, and so
// do loginWith.externalProviders: each provider under the same name, with
// its scopes, attribute mapping and secret() values (poolmigrate import
// links federated users to them by name).
{
  const cfnUserPool = %s;
  cfnUserPool.overrideLogicalId('%s');
  %s
}
%s%s`, o.SignIn, poolExpr(v), id, strings.Join(lines, "\n  "), clientWriteBlock(v), domainBlock(v, id))
	out, err := setBlock(src, NewPoolBlock, "written by `poolmigrate patch`; `poolmigrate patch --undo` removes it", body)
	if err != nil {
		return nil, "", err
	}
	if err := cs.Set(BackendPath, []byte(out), "replace the user pool: new logical id "+id+", sign-in "+o.SignIn); err != nil {
		return nil, "", err
	}
	return cs, id, nil
}

// Patched returns the new pool's logical id when backend.ts holds the
// new-pool block.
func Patched(root string) (string, bool, error) {
	_, src, _, err := load(root)
	if err != nil {
		return "", false, err
	}
	b, ok, err := findBlock(src, NewPoolBlock)
	if err != nil || !ok {
		return "", false, err
	}
	text := src[b.start:b.end]
	const call = "overrideLogicalId('"
	i := strings.Index(text, call)
	if i < 0 {
		return "", true, nil
	}
	rest := text[i+len(call):]
	return rest[:strings.IndexByte(rest, '\'')], true, nil
}

// KeepTrigger writes the block that keeps the user migration trigger on
// the new pool through every deploy (LambdaConfig.UserMigration) and lets
// the web client send passwords to Cognito (ALLOW_USER_PASSWORD_AUTH),
// which the trigger needs: with SRP Cognito never sees the password.
// functionArn "" removes the block.
func KeepTrigger(root, functionArn string) (*backendpatch.ChangeSet, error) {
	if functionArn != "" && !backendpatch.IsSafeFunctionARN(functionArn) {
		// It becomes TypeScript source that the deploy runs.
		return nil, fmt.Errorf("%q is not a Lambda function ARN: it may hold only letters, digits and :_-.$", functionArn)
	}
	cs, src, v, err := load(root)
	if err != nil {
		return nil, err
	}
	body := ""
	if functionArn != "" {
		body = fmt.Sprintf(`// The user migration trigger stays on the new pool through deploys, and
// the web client accepts USER_PASSWORD_AUTH, which the app uses during the
// migration window (signIn options: { authFlowType: 'USER_PASSWORD_AUTH' }).
{
  const cfnUserPool = %[1]s;
  cfnUserPool.addPropertyOverride('LambdaConfig.UserMigration', '%[2]s');
  const cfnClient = %[3]s.auth.resources.cfnResources.cfnUserPoolClient;
  cfnClient.addPropertyOverride('ExplicitAuthFlows', ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_CUSTOM_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']);
}
`, poolExpr(v), functionArn, v)
	}
	out, err := setBlock(src, TriggerBlock, "written by `poolmigrate trigger override`; `poolmigrate trigger override --undo` removes it", body)
	if err != nil {
		return nil, err
	}
	if err := cs.Set(BackendPath, []byte(out), "keep the user migration trigger on the pool through deploys"); err != nil {
		return nil, err
	}
	return cs, nil
}

// WritableStandardAttributes are the standard attributes an app client
// may write (the verified flags are Cognito's to set).
var WritableStandardAttributes = []string{"address", "birthdate", "email", "family_name", "gender", "given_name", "locale", "middle_name",
	"name", "nickname", "phone_number", "picture", "preferred_username", "profile", "updated_at", "website", "zoneinfo"}

// clientWriteBlock names the web client's write attributes: the standard
// ones and the pool's own custom attributes, never custom:prev_sub_id or
// custom:prev_username, which say which old user someone is and which
// only the import and the trigger set. A client without a list may write
// every attribute (defineAuth's default), so a user could claim any old
// user at sign-up.
func clientWriteBlock(v string) string {
	return fmt.Sprintf(`// The web client may write every attribute but the old identity
// (custom:prev_sub_id, custom:prev_username), which only poolmigrate's
// import and migration trigger set.
{
  const schema = %[1]s.schema;
  const custom = (Array.isArray(schema) ? schema : [])
    .map((a) => 'custom:' + String((a as { name?: string }).name ?? ''))
    .filter((n) => n !== 'custom:' && !n.startsWith('custom:prev_') && ![%[2]s].includes(n.slice(7)) && !['sub', 'email_verified', 'phone_number_verified', 'identities'].includes(n.slice(7)));
  const writeAttributes = [%[2]s, ...custom];
  const cfnClient = %[3]s.auth.resources.cfnResources.cfnUserPoolClient;
  cfnClient.writeAttributes = writeAttributes;
  cfnClient.addPropertyOverride('WriteAttributes', writeAttributes);
}
`, poolExpr(v), quoted(WritableStandardAttributes), v)
}

// domainBlock gives the new pool a hosted UI domain of its own. With
// loginWith.externalProviders, defineAuth gives the pool a Cognito domain
// named by the backend's hash, the same for the new pool; but one name is
// one pool's at a time, the old pool (kept by the deploy) holds it, and
// CloudFormation cannot replace a custom-named resource in place. So the
// new pool's domain gets a name and a logical id of its own (its
// providers' apps then need its redirect URI, which the plan says).
// A custom domain (customDomainConfig) is left alone: its certificate
// and DNS record are the owner's.
func domainBlock(v, id string) string {
	sum := sha256.Sum256([]byte(id))
	return fmt.Sprintf(`// The hosted UI domain of externalProviders: a name only one pool holds
// at a time, and the old pool keeps its own, so the new pool's gets a
// name of its own. Add its redirect URI
// (https://<domain>.auth.<region>.amazoncognito.com/oauth2/idpresponse)
// to each provider's app before users sign in through it.
for (const node of %[1]s.auth.resources.userPool.node.findAll()) {
  const d = node as unknown as { cfnResourceType?: string; domain?: string; customDomainConfig?: unknown; overrideLogicalId?: (id: string) => void };
  if (d.cfnResourceType === 'AWS::Cognito::UserPoolDomain' && typeof d.domain === 'string' && !d.customDomainConfig && d.overrideLogicalId) {
    d.domain = d.domain.slice(0, 52) + '-%[2]s';
    d.overrideLogicalId('%[3]sDomain');
  }
}
`, v, "pm"+hex.EncodeToString(sum[:3]), id)
}

// setting assigns an L1 property and overrides it in the template, or
// clears and deletes it when values is empty.
func setting(prop, cfnProp string, values []string) string {
	if len(values) == 0 {
		return "cfnUserPool." + prop + " = undefined;\n  cfnUserPool.addPropertyDeletionOverride('" + cfnProp + "');"
	}
	return "cfnUserPool." + prop + " = [" + quoted(values) + "];\n  cfnUserPool.addPropertyOverride('" + cfnProp + "', [" + quoted(values) + "]);"
}

// checkAliases takes only the alias attributes Cognito has (email,
// phone_number, preferred_username), each once: the values are written
// into backend.ts, which the deploy compiles and runs, so anything else
// (a quote, code) is refused before a line is written.
func checkAliases(aliases []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, a := range aliases {
		a = strings.ToLower(strings.TrimSpace(a))
		switch a {
		case "email", "phone_number", "preferred_username":
		default:
			return nil, fmt.Errorf("alias %q: use email, phone_number or preferred_username", a)
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

func quoted(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = "'" + v + "'"
	}
	return strings.Join(q, ", ")
}
