package amplifygen2

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/migration"
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
	for _, r := range d.Routes {
		switch r.Kind {
		case "conversation":
			warn("AI_CONVERSATION_ROUTE", "conversation route %s keeps each user's conversations and messages in the models %s, whose owner field stores sub::username: they are remapped with the other models", r.Name, strings.Join(r.Models, " and "))
			if r.Claim != "" && r.Claim != amplifyproj.ClaimSubUsername {
				warn("AI_CONVERSATION_CLAIM_IGNORED", "conversation route %s names identityClaim('%s'), which the conversation transformer does not pass on: its tables store sub::username", r.Name, r.Claim)
			}
		}
	}
	for _, m := range d.Models {
		pm := migration.NewModel(m.Model, func(field string) bool { return !m.Implicit[field] })
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
		for _, of := range pm.OwnerFields {
			where := m.Name + "." + of.Field
			switch {
			case of.Provider != "userPools":
				warn("OWNER_PROVIDER_UNSUPPORTED", "%s is an owner field of provider %s, not Cognito user pools: it is reported, not remapped", where, of.Provider)
			case of.Claim == "email":
				warn("OWNER_CLAIM_EMAIL", "%s stores the owner's e-mail (identityClaim('email')): it is not remapped, because each user keeps the same e-mail in the new pool and the new tokens carry the same claim", where)
			case !of.Remap:
				warn("OWNER_CLAIM_CUSTOM", "%s stores claim %q, which is not a Cognito sub or username: it is reported, not remapped; carry the attribute over to the new pool", where, of.Claim)
			}
			if of.Remap && slices.Contains(of.KeyOf, "primary") {
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

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
