package federated

import (
	"context"
	"fmt"
	"sort"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// ProviderCheck is what `check` says about one provider the backup's
// users sign in with.
type ProviderCheck struct {
	Name  string `json:"name"`
	Users int    `json:"users"`
	// InNewPool: the new pool has an identity provider of this very name
	// (links name it: another name breaks every one).
	InNewPool bool   `json:"inNewPool"`
	Type      string `json:"type,omitempty"`
	// MappingDifferences are the attributes the two pools map
	// differently ("email: email → (none)"), when the old pool could be
	// read.
	MappingDifferences []string `json:"mappingDifferences"`
	// ClientIDDiffers: the new pool's provider uses another app of the
	// provider. Facebook's user ids (and OIDC subjects of some issuers)
	// are per app: the links would name subjects the new app never sends.
	ClientIDDiffers bool   `json:"clientIdDiffers"`
	OldPoolRead     bool   `json:"oldPoolRead"`
	Message         string `json:"message"`
}

// Check compares, for each provider the users sign in with, the new
// pool's provider of the same name with the old pool's (read live; when
// the old pool cannot be read the comparison is left out and said so).
func Check(ctx context.Context, api ProviderDescriber, oldPool, newPool string, users []User) ([]ProviderCheck, error) {
	counts := Providers(users)
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []ProviderCheck{}
	for _, name := range names {
		c := ProviderCheck{Name: name, Users: counts[name], MappingDifferences: []string{}}
		newP, err := api.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: &newPool, ProviderName: &name})
		switch {
		case apiCode(err) == "ResourceNotFoundException":
			c.Message = MissingProviderReason(name, newPool)
			out = append(out, c)
			continue
		case err != nil:
			return nil, fmt.Errorf("describe identity provider %s of pool %s: %w", name, newPool, err)
		}
		c.InNewPool, c.Type = true, string(newP.IdentityProvider.ProviderType)
		oldP, err := api.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: &oldPool, ProviderName: &name})
		if err != nil {
			c.Message = fmt.Sprintf("configured in the new pool; the old pool's %s could not be read (%v), so the attribute mappings were not compared", name, err)
			out = append(out, c)
			continue
		}
		c.OldPoolRead = true
		c.MappingDifferences = mappingDiff(oldP.IdentityProvider.AttributeMapping, newP.IdentityProvider.AttributeMapping)
		c.ClientIDDiffers = oldP.IdentityProvider.ProviderDetails["client_id"] != newP.IdentityProvider.ProviderDetails["client_id"]
		switch {
		case c.ClientIDDiffers:
			c.Message = fmt.Sprintf("the new pool's %s uses another app (client_id) than the old one's: providers that give each app its own user ids (Facebook does) would send subjects no link names; use the same app", name)
		case len(c.MappingDifferences) > 0:
			c.Message = "configured in the new pool; the attributes it maps differ: users' attributes change at their next sign-in through it"
		default:
			c.Message = "configured in the new pool as in the old one"
		}
		out = append(out, c)
	}
	return out, nil
}

func mappingDiff(old, new map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	show := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	for _, m := range []map[string]string{old, new} {
		for attr := range m {
			if seen[attr] {
				continue
			}
			seen[attr] = true
			if old[attr] != new[attr] {
				out = append(out, fmt.Sprintf("%s: %s → %s", attr, show(old[attr]), show(new[attr])))
			}
		}
	}
	sort.Strings(out)
	return out
}
