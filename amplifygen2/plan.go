package amplifygen2

import (
	"fmt"
	"sort"
	"strings"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/schema"
)

// Options are what the command line (or POOLMIGRATE_* variables) adds to
// the files.
type Options struct {
	// Branch is the Amplify branch (or sandbox) the plan is for; it picks
	// the Gen 1 table mapping of an app moved from Gen 1.
	Branch  string
	APIID   string
	Region  string
	Profile string
}

// AuthResource is the name poolmigrate gives the Gen 2 auth resource in
// the plan: the key defineBackend gives it.
const AuthResource = "auth"

// TableEnv is the last part of every Gen 2 model table's name: the data
// construct names tables <Model>-<apiId>-NONE.
const TableEnv = "NONE"

// TableName is a Gen 2 model's table.
func TableName(model, apiID string) string {
	return model + "-" + apiID + "-" + TableEnv
}

// BuildPlan turns the project into the plan every later step reads.
func BuildPlan(p *Project, opts Options) *migration.Plan {
	pl := &migration.Plan{
		Generation:  2,
		ProjectRoot: p.Root,
		ProjectName: p.Name,
		Env:         opts.Branch,
		Region:      opts.Region,
		Profile:     opts.Profile,
		Auth:        []migration.Auth{},
		APIs:        []migration.API{},
		Dependents:  []migration.Dependent{},
		Warnings:    []migration.Warning{},
	}
	warn := func(code, format string, args ...any) {
		pl.Warnings = append(pl.Warnings, migration.Warning{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	o := p.Outputs
	if o == nil {
		warn("OUTPUTS_MISSING", "%s is missing (it is git-ignored): the user pool id is unknown; write it with `npx ampx generate outputs --branch BRANCH --app-id APP_ID` (or run `npx ampx sandbox`)", OutputsPath)
		o = &Outputs{}
	}
	if pl.Region == "" {
		pl.Region = firstOf(o.Region, o.DataRegion)
	}
	if pl.Region == "" && p.Outputs != nil {
		warn("REGION_UNKNOWN", "%s names no region; AWS calls will use the SDK's default (AWS_REGION or the profile's region): pass --region to be sure", OutputsPath)
	}
	if p.Auth == nil {
		warn("NO_COGNITO_AUTH", "%s is missing: there is no user pool to migrate in this project", AuthPath)
	} else {
		a := migration.Auth{Resource: AuthResource, UserPoolID: o.UserPoolID, Imported: p.Auth.Reference, Triggers: nonNil(p.Auth.Triggers)}
		if p.Auth.Reference {
			a.UserPoolID = firstOf(p.Auth.UserPoolID, o.UserPoolID)
			warn("AUTH_REFERENCED", "%s references a pool the app does not own (referenceAuth): poolmigrate migrates its users and data, but the new pool is yours to create; point referenceAuth at it afterwards", AuthPath)
		}
		pl.Auth = append(pl.Auth, a)
		if len(p.Auth.Triggers) > 0 {
			warn("AUTH_TRIGGERS", "auth invokes Lambda triggers (%s): they come with the new pool (defineAuth attaches them), and a post-confirmation trigger runs again when each migrated user resets the password; make it idempotent", strings.Join(p.Auth.Triggers, ", "))
		}
	}
	if p.Data != nil {
		pl.APIs = append(pl.APIs, buildAPI(p.Data, o.DataURL, opts, warn))
	}
	return pl
}

func buildAPI(d *Data, endpoint string, opts Options, warn func(string, string, ...any)) migration.API {
	api := migration.API{
		Name:               d.Name,
		APIID:              opts.APIID,
		TransformerVersion: 2,
		AuthResource:       AuthResource,
		DefaultClaim:       amplifyproj.ClaimSubUsername,
		SchemaFiles:        []string{DataPath},
		Endpoint:           endpoint,
		Models:             []migration.Model{},
	}
	mapping := pickMapping(d.TableMappings, opts.Branch, warn)
	if api.APIID == "" && mapping == nil {
		warn("API_ID_UNKNOWN", "data %s: its AppSync API id is not in the project files, so the model tables (<Model>-<apiId>-NONE) are unknown: pass --api-id ID (the root stack's awsAppsyncApiId output) or use --live", d.Name)
	}
	for _, m := range d.Models {
		pm := migration.Model{
			Type:        m.Name,
			PrimaryKey:  planKey(m.PrimaryKey),
			Indexes:     []migration.Index{},
			OwnerFields: []migration.OwnerField{},
		}
		switch {
		case mapping != nil && mapping.Tables[m.Name] != "":
			pm.Table = mapping.Tables[m.Name]
		case mapping != nil:
			warn("TABLE_MAPPING_MISSING", "model %s has no table in the Gen 1 table mapping of branch %s: it gets a new table (<Model>-<apiId>-NONE)", m.Name, mapping.Branch)
			if api.APIID != "" {
				pm.Table = TableName(m.Name, api.APIID)
			}
		case api.APIID != "":
			pm.Table = TableName(m.Name, api.APIID)
		}
		for _, ix := range m.Indexes {
			pm.Indexes = append(pm.Indexes, migration.Index{Name: ix.Name, Key: planKey(ix.Key)})
		}
		seen := map[string]bool{}
		for _, r := range m.OwnerRules {
			id := r.Field + "\x00" + r.Claim + "\x00" + r.Provider
			if seen[id] {
				continue
			}
			seen[id] = true
			f, _ := m.FieldByName(r.Field)
			of := migration.OwnerField{
				Field:    r.Field,
				Claim:    r.Claim,
				List:     f.List,
				KeyOf:    keyOf(m.Model, r.Field),
				Provider: r.Provider,
				Remap:    r.Remappable(),
				Declared: !m.Implicit[r.Field],
			}
			pm.OwnerFields = append(pm.OwnerFields, of)
			where := m.Name + "." + r.Field
			switch {
			case r.Provider != "userPools":
				warn("OWNER_PROVIDER_UNSUPPORTED", "%s is an owner field of provider %s, not Cognito user pools: it is reported, not remapped", where, r.Provider)
			case r.Claim == "email":
				warn("OWNER_CLAIM_EMAIL", "%s stores the owner's e-mail (identityClaim('email')): it is not remapped, because each user keeps the same e-mail in the new pool and the new tokens carry the same claim", where)
			case !r.Remappable():
				warn("OWNER_CLAIM_CUSTOM", "%s stores claim %q, which is not a Cognito sub or username: it is reported, not remapped; carry the attribute over to the new pool", where, r.Claim)
			}
			if of.Remap && contains(of.KeyOf, "primary") {
				warn("OWNER_FIELD_IS_KEY", "%s is part of the table's primary key: remapping it deletes each item and puts it back under the new key in one transaction", where)
			}
		}
		api.Models = append(api.Models, pm)
	}
	return api
}

// pickMapping chooses the Gen 1 table mapping of the branch; without a
// branch, the only mapping there is.
func pickMapping(ms []TableMapping, branch string, warn func(string, string, ...any)) *TableMapping {
	if len(ms) == 0 {
		return nil
	}
	if branch != "" {
		for i := range ms {
			if ms[i].Branch == branch {
				return &ms[i]
			}
		}
		return nil // a branch with no mapping (a sandbox) gets new tables
	}
	if len(ms) == 1 {
		warn("TABLE_MAPPING_BRANCH_ASSUMED", "the data keeps Gen 1 tables (migratedAmplifyGen1DynamoDbTableMappings) for branch %s only; assuming that branch (pass --env BRANCH to say so)", ms[0].Branch)
		return &ms[0]
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Branch)
	}
	sort.Strings(names)
	warn("TABLE_MAPPING_BRANCH_UNKNOWN", "the data keeps Gen 1 tables for branches %s: pass --env BRANCH to choose", strings.Join(names, ", "))
	return nil
}

func planKey(k schema.Key) migration.Key {
	return migration.Key{Partition: k.Partition, Sort: k.SortAttribute(), SortFields: nonNil(k.SortFields)}
}

// keyOf names the keys (primary, index names) holding the field.
func keyOf(m schema.Model, field string) []string {
	out := []string{}
	in := func(k schema.Key) bool { return k.Partition == field || contains(k.SortFields, field) }
	if in(m.PrimaryKey) {
		out = append(out, "primary")
	}
	for _, ix := range m.Indexes {
		if in(ix.Key) {
			out = append(out, ix.Name)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
