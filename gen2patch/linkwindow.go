package gen2patch

import (
	"fmt"
	"regexp"

	"github.com/poolmigrate/poolmigrate/backendpatch"
)

// LinkWindowBlock keeps the old user pool a provider of the identity
// pool while `storage link` runs.
const LinkWindowBlock = "link-window"

var (
	// poolIDRE is a user pool id (REGION_ID in AWS).
	poolIDRE = regexp.MustCompile(`^[\w-]{1,30}_[0-9A-Za-z]+$`)
	// RegionRE is an AWS region name.
	RegionRE = regexp.MustCompile(`^[a-z]{2}(?:-[a-z]+)+-\d$`)
	// clientIDRE is an app client id (Cognito: [\w+]+, 1 to 128).
	clientIDRE = regexp.MustCompile(`^[\w+]{1,128}$`)
)

// LinkWindow writes the block that keeps the old user pool (oldPoolID in
// region, with its app client oldClientID) among the identity pool's
// CognitoIdentityProviders beside the new one: the pool swap replaces the
// provider, and `storage link` needs both while it links each user's new
// login to the identity they have. oldPoolID "" removes the block (at
// retire). The block refuses, at synthesis, an identity pool whose
// providers are not a plain list, rather than dropping them.
func LinkWindow(root, region, oldPoolID, oldClientID string) (*backendpatch.ChangeSet, error) {
	cs, src, v, err := load(root)
	if err != nil {
		return nil, err
	}
	body := ""
	if oldPoolID != "" {
		// Both become TypeScript source that the deploy runs.
		if !poolIDRE.MatchString(oldPoolID) {
			return nil, fmt.Errorf("%q is not a user pool id (REGION_ID)", oldPoolID)
		}
		if !RegionRE.MatchString(region) {
			return nil, fmt.Errorf("%q is not a region name", region)
		}
		if !clientIDRE.MatchString(oldClientID) {
			return nil, fmt.Errorf("%q is not an app client id of the old pool (letters, digits, _ and +)", oldClientID)
		}
		provider := "cognito-idp." + region + ".amazonaws.com/" + oldPoolID
		body = fmt.Sprintf(`// The old user pool stays a provider of the identity pool beside the new
// one while `+"`poolmigrate storage link`"+` links each migrated user's new login
// to the identity id they have (GetId takes the old pool's tokens only
// while the identity pool lists it). Remove it at retire.
{
  const cfnIdentityPool = %[1]s.auth.resources.cfnResources.cfnIdentityPool;
  const providers = cfnIdentityPool.cognitoIdentityProviders ?? [];
  if (!Array.isArray(providers)) {
    throw new Error('poolmigrate link-window: the identity pool\'s providers are not a list; add %[2]s (client %[3]s) by hand');
  }
  const old = { providerName: '%[2]s', clientId: '%[3]s', serverSideTokenCheck: false };
  cfnIdentityPool.cognitoIdentityProviders = [
    ...providers.filter((p) => (p as { providerName?: string }).providerName !== old.providerName),
    old,
  ];
}
`, v, provider, oldClientID)
	}
	out, err := setBlock(src, LinkWindowBlock, "written by `poolmigrate storage link --backend`; `poolmigrate storage link --backend --undo` removes it", body)
	if err != nil {
		return nil, err
	}
	what := "keep the old user pool a provider of the identity pool while storage link runs"
	if body == "" {
		what = "remove the old user pool from the identity pool's providers"
	}
	if err := cs.Set(BackendPath, []byte(out), what); err != nil {
		return nil, err
	}
	return cs, nil
}

// LinkWindowOpen tells whether backend.ts holds the link-window block.
func LinkWindowOpen(root string) (bool, error) {
	_, src, _, err := load(root)
	if err != nil {
		return false, err
	}
	return hasBlock(src, LinkWindowBlock), nil
}
