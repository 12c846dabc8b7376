package amplifyproj

import (
	"fmt"
	"io/fs"

	"github.com/tidwall/gjson"
)

// Claim names used by Amplify owner rules, as poolmigrate reports them.
const (
	ClaimSub         = "sub"
	ClaimUsername    = "username"
	ClaimSubUsername = "sub::username"
)

// Transformer is the GraphQL transformer version in force and the default
// identity claim of owner rules that name none.
type Transformer struct {
	Version int
	// DefaultClaim is what an owner rule without identityClaim stores.
	DefaultClaim string
	// DefaultClaimFlagSet is false when cli.json does not set
	// usesubusernamefordefaultidentityclaim: records written by CLIs older
	// than 9 then hold plain usernames even though today's default is
	// sub::username.
	DefaultClaimFlagSet bool
}

const graphqlFlags = "features.graphqltransformer."

// readTransformer decides the transformer version exactly as the CLI's
// getTransformerVersion does: useexperimentalpipelinedtransformer false or
// absent means v1 whatever transformerversion says; when it is true a
// transformerversion of 1 is rewritten to 2 by the CLI, so v2. cli.<env>.json
// overrides cli.json key by key.
func readTransformer(fsys fs.FS, env string) (Transformer, error) {
	base, _, err := readJSON(fsys, cliJSONPath)
	if err != nil {
		return Transformer{}, err
	}
	perEnv, _, err := readJSON(fsys, fmt.Sprintf("amplify/cli.%s.json", env))
	if err != nil {
		return Transformer{}, err
	}
	flag := func(name string) gjson.Result {
		if v := perEnv.Get(graphqlFlags + name); v.Exists() {
			return v
		}
		return base.Get(graphqlFlags + name)
	}

	t := Transformer{Version: 1, DefaultClaim: ClaimUsername}
	if !flag("useexperimentalpipelinedtransformer").Bool() {
		return t, nil
	}
	t.Version = 2
	if v := flag("transformerversion"); v.Exists() && v.Int() > 2 {
		t.Version = int(v.Int())
	}
	sub := flag("usesubusernamefordefaultidentityclaim")
	t.DefaultClaimFlagSet = sub.Exists()
	if !sub.Exists() || sub.Bool() {
		t.DefaultClaim = ClaimSubUsername
	}
	return t, nil
}
