// Package migration joins the Amplify project, its GraphQL schemas and the
// AWS resources they name into a migration plan, and runs the steps of a user
// pool migration from that plan. It holds no flag or terminal code.
package migration

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/schema"
)

// Plan is everything a user pool migration of one project touches. Its JSON
// form is the output of `poolmigrate plan --json`; later steps and tests rely
// on the field names, so fields may be added but not renamed.
type Plan struct {
	// Generation is the kind of Amplify project: 1 (amplify/backend/,
	// the Amplify CLI) or 2 (amplify/backend.ts, ampx).
	Generation  int         `json:"generation"`
	ProjectRoot string      `json:"projectRoot"`
	ProjectName string      `json:"projectName"`
	Env         string      `json:"env"`
	Region      string      `json:"region"`
	Profile     string      `json:"profile"`
	Auth        []Auth      `json:"auth"`
	APIs        []API       `json:"apis"`
	Dependents  []Dependent `json:"dependents"`
	Warnings    []Warning   `json:"warnings"`
	Live        *Live       `json:"live,omitempty"`
}

// Auth is a Cognito auth resource of the project.
type Auth struct {
	Resource   string   `json:"resource"`
	UserPoolID string   `json:"userPoolId"`
	Imported   bool     `json:"imported"`
	Triggers   []string `json:"triggers"`
}

// API is an AppSync GraphQL API and its models.
type API struct {
	Name  string `json:"name"`
	APIID string `json:"apiId"`
	// Endpoint is the GraphQL URL when the project files name it (Gen 2's
	// amplify_outputs.json data.url), by which --live finds the API id.
	Endpoint           string   `json:"endpoint,omitempty"`
	TransformerVersion int      `json:"transformerVersion"`
	AuthResource       string   `json:"authResource"`
	AuthPoolID         string   `json:"authPoolId,omitempty"`
	DefaultClaim       string   `json:"defaultClaim"`
	ConflictDetection  bool     `json:"conflictDetection"`
	SchemaFiles        []string `json:"schemaFiles"`
	Models             []Model  `json:"models"`
}

// Model is one @model type and its DynamoDB table.
type Model struct {
	Type        string `json:"type"`
	Table       string `json:"table"`
	tableBase   string
	PrimaryKey  Key          `json:"primaryKey"`
	Indexes     []Index      `json:"indexes"`
	OwnerFields []OwnerField `json:"ownerFields"`
	// Fields are the model's declared fields (not in the JSON plan): what
	// --identity-field is checked against.
	Fields []schema.Field `json:"-"`
}

// Key is a table or index key. Sort is the sort attribute's name, composite
// ("a#b") when SortFields has two or more fields.
type Key struct {
	Partition  string   `json:"partition"`
	Sort       string   `json:"sort"`
	SortFields []string `json:"sortFields"`
}

// Index is a secondary index.
type Index struct {
	Name string `json:"name"`
	Key
}

// OwnerField is a field that holds a user's identity.
type OwnerField struct {
	Field string `json:"field"`
	// Claim is "sub", "username", "sub::username", or the raw claim.
	Claim string `json:"claim"`
	List  bool   `json:"list"`
	// KeyOf names "primary" and/or the indexes whose key holds the field.
	KeyOf    []string `json:"keyOf"`
	Provider string   `json:"provider"`
	// Remap is true when the field stores a user pool identity that the
	// migration rewrites.
	Remap bool `json:"remap"`
	// Declared is false when the schema relies on the transformer adding the
	// field (v2 addmissingownerfields).
	Declared bool `json:"declared"`
}

// Dependent is a resource whose dependsOn names an auth resource; each one
// blocks `amplify remove auth` until it is detached.
type Dependent struct {
	Category   string   `json:"category"`
	Resource   string   `json:"resource"`
	Service    string   `json:"service"`
	DependsOn  string   `json:"dependsOn"`
	Attributes []string `json:"attributes"`
}

// Warning is something that needs the user's attention. Codes are stable.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// BuildPlan reads every API's schema through fsys (rooted at the project
// root) and builds the plan. It reads only.
func BuildPlan(fsys fs.FS, p *amplifyproj.Project) (*Plan, error) {
	pl := &Plan{
		Generation:  1,
		ProjectRoot: p.Root,
		ProjectName: p.Name,
		Env:         p.Env,
		Region:      p.Region,
		Profile:     p.Profile,
		Auth:        []Auth{},
		APIs:        []API{},
		Dependents:  []Dependent{},
		Warnings:    []Warning{},
	}
	for _, n := range p.Notes {
		pl.warn(n.Code, n.Message)
	}
	if pl.Region == "" && p.Env != "" { // an unknown env is reported already
		pl.warn("REGION_UNKNOWN", "no region in amplify/team-provider-info.json or amplify-meta.json for env "+quote(p.Env)+"; AWS calls will use the SDK's default (AWS_REGION or the profile's region): pass --region to be sure")
	}
	for _, a := range p.Auth {
		pa := Auth{Resource: a.Name, UserPoolID: a.UserPoolID, Imported: a.Imported, Triggers: nonNil(a.Triggers)}
		pl.Auth = append(pl.Auth, pa)
		if len(a.Triggers) > 0 {
			pl.warn("AUTH_TRIGGERS", fmt.Sprintf("auth %s invokes Lambda triggers (%s): the new pool needs them too, and a post-confirmation trigger runs again when each migrated user resets the password; make it idempotent", a.Name, strings.Join(a.Triggers, ", ")))
		}
	}
	switch len(p.Auth) {
	case 0:
		pl.warn("NO_COGNITO_AUTH", "backend-config.json lists no Cognito auth resource (service \"Cognito\"); there is no user pool to migrate in this project")
	case 1:
	default:
		pl.warn("MULTIPLE_AUTH", fmt.Sprintf("backend-config.json lists %d Cognito auth resources; the Amplify CLI supports one per project: pass --pool to the commands that take one", len(p.Auth)))
	}
	for _, d := range p.Dependents {
		pl.Dependents = append(pl.Dependents, Dependent{Category: d.Category, Resource: d.Resource, Service: d.Service, DependsOn: d.DependsOn, Attributes: nonNil(d.Attributes)})
		pl.warn("AUTH_DEPENDENT", fmt.Sprintf("%s/%s (%s) depends on auth %s and blocks `amplify remove auth`: the dependency must be removed first and pointed at the new auth resource afterwards", d.Category, d.Resource, serviceOr(d.Service), d.DependsOn))
	}
	for _, dir := range p.OrphanDirs {
		pl.warn("ORPHAN_RESOURCE_DIR", dir+" is not listed in amplify/backend/backend-config.json; the Amplify CLI ignores it and so does poolmigrate")
	}
	for _, a := range p.APIs {
		api, err := pl.buildAPI(fsys, p, a)
		if err != nil {
			return nil, err
		}
		pl.APIs = append(pl.APIs, api)
	}
	return pl, nil
}

func (pl *Plan) buildAPI(fsys fs.FS, p *amplifyproj.Project, a amplifyproj.API) (API, error) {
	api := API{
		Name:               a.Name,
		APIID:              a.ID,
		TransformerVersion: a.Transformer.Version,
		AuthResource:       a.AuthResource,
		AuthPoolID:         a.AuthPoolID,
		DefaultClaim:       a.Transformer.DefaultClaim,
		ConflictDetection:  a.ConflictDetection,
		SchemaFiles:        []string{},
		Models:             []Model{},
	}
	if a.AuthResource != "" {
		if _, ok := p.AuthByName(a.AuthResource); !ok {
			pl.warn("API_AUTH_UNKNOWN", fmt.Sprintf("API %s points at auth resource %s (AuthCognitoUserPoolId in %s/parameters.json), which backend-config.json does not list", a.Name, a.AuthResource, a.Dir))
		}
	} else if a.AuthPoolID != "" {
		pl.warn("API_AUTH_LITERAL_POOL", fmt.Sprintf("API %s names user pool %s directly in %s/parameters.json and no auth resource has that pool id", a.Name, a.AuthPoolID, a.Dir))
	}
	if a.ConflictDetection {
		pl.warn("CONFLICT_DETECTION", fmt.Sprintf("API %s has DataStore conflict detection on: remapped items get _version incremented and _lastChangedAt set so that clients sync the change", a.Name))
	}

	files, err := amplifyproj.ReadSchema(fsys, a)
	if err != nil {
		return API{}, err
	}
	srcs := make([]schema.Source, len(files))
	for i, f := range files {
		srcs[i] = schema.Source{Name: f.Path, Body: f.Body}
		api.SchemaFiles = append(api.SchemaFiles, f.Path)
	}
	models, err := schema.Parse(srcs, schema.Options{TransformerVersion: a.Transformer.Version, DefaultClaim: a.Transformer.DefaultClaim})
	if err != nil {
		return API{}, fmt.Errorf("API %s: %w", a.Name, err)
	}

	usesDefaultClaim := false
	for _, m := range models {
		pm := pl.buildModel(p, a, m)
		api.Models = append(api.Models, pm)
		for _, r := range m.OwnerRules {
			if r.Remappable() && r.Claim == a.Transformer.DefaultClaim {
				usesDefaultClaim = true
			}
		}
	}
	hasOwner := false
	for _, m := range api.Models {
		if len(m.OwnerFields) > 0 {
			hasOwner = true
		}
	}
	if hasOwner && a.AuthResource == "" && a.AuthPoolID == "" {
		pl.warn("API_NO_USER_POOL", fmt.Sprintf("API %s has owner rules but its parameters.json names no Cognito user pool (AuthCognitoUserPoolId)", a.Name))
	}
	if usesDefaultClaim && a.Transformer.Version >= 2 && !a.Transformer.DefaultClaimFlagSet {
		pl.warn("DEFAULT_CLAIM_FLAG_UNSET", fmt.Sprintf("API %s: amplify/cli.json does not set usesubusernamefordefaultidentityclaim; today's CLI stores sub::username, CLIs before 9 stored the plain username; the remap rewrites either form it finds", a.Name))
	}
	return api, nil
}

func (pl *Plan) buildModel(p *amplifyproj.Project, a amplifyproj.API, m schema.Model) Model {
	pm := NewModel(m, func(field string) bool { _, ok := m.FieldByName(field); return ok })
	pm.tableBase = m.TableBase
	if a.ID != "" && p.Env != "" {
		pm.Table = TableName(m.TableBase, a.ID, p.Env)
	}
	for _, of := range pm.OwnerFields {
		where := m.Name + "." + of.Field
		switch {
		case of.Provider != "userPools":
			pl.warn("OWNER_PROVIDER_UNSUPPORTED", fmt.Sprintf("%s (API %s) is an owner field of provider %s, not Cognito user pools: it is reported, not remapped", where, a.Name, of.Provider))
		case !of.Remap:
			pl.warn("OWNER_CLAIM_CUSTOM", fmt.Sprintf("%s (API %s) stores claim %q, which is not a Cognito sub or username: it is reported, not remapped; carry the attribute over to the new pool", where, a.Name, of.Claim))
		}
		if of.Remap && contains(of.KeyOf, "primary") {
			pl.warn("OWNER_FIELD_IS_KEY", fmt.Sprintf("%s (API %s) is part of the table's primary key: remapping it deletes each item and puts it back under the new key in one transaction", where, a.Name))
		}
	}
	return pm
}

// NewModel is a schema model's keys, indexes and owner fields as a plan
// reports them, for either generation; the table and the warnings are
// the caller's. A field named by several owner rules with the same claim
// and provider is one owner field. declared says whether the schema
// declares a field (the transformer adds the default owner field itself).
func NewModel(m schema.Model, declared func(field string) bool) Model {
	pm := Model{
		Type:        m.Name,
		PrimaryKey:  planKey(m.PrimaryKey),
		Indexes:     []Index{},
		OwnerFields: []OwnerField{},
		Fields:      m.Fields,
	}
	for _, ix := range m.Indexes {
		pm.Indexes = append(pm.Indexes, Index{Name: ix.Name, Key: planKey(ix.Key)})
	}
	seen := map[string]bool{}
	for _, r := range m.OwnerRules {
		id := r.Field + "\x00" + r.Claim + "\x00" + r.Provider
		if seen[id] {
			continue
		}
		seen[id] = true
		f, _ := m.FieldByName(r.Field)
		pm.OwnerFields = append(pm.OwnerFields, OwnerField{
			Field:    r.Field,
			Claim:    r.Claim,
			List:     f.List,
			KeyOf:    keyOf(m, r.Field),
			Provider: r.Provider,
			Remap:    r.Remappable(),
			Declared: declared(r.Field),
		})
	}
	return pm
}

// TableName is the DynamoDB table the transformers create for a model:
// <TypeName or @mapsTo name>-<GraphQL API id>-<env>.
func TableName(base, apiID, env string) string {
	return base + "-" + apiID + "-" + env
}

func planKey(k schema.Key) Key {
	return Key{Partition: k.Partition, Sort: k.SortAttribute(), SortFields: nonNil(k.SortFields)}
}

// keyOf names the keys (primary, index names) that hold the field as
// partition key or as (part of) the sort key.
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

func (pl *Plan) warn(code, msg string) {
	pl.Warnings = append(pl.Warnings, Warning{Code: code, Message: msg})
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

func quote(s string) string { return fmt.Sprintf("%q", s) }

func serviceOr(s string) string {
	if s == "" {
		return "no service"
	}
	return s
}
