package amplifyproj

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/schema"
)

// Paths inside a project, relative to its root.
const (
	localEnvInfoPath     = "amplify/.config/local-env-info.json"
	localAWSInfoPath     = "amplify/.config/local-aws-info.json"
	teamProviderInfoPath = "amplify/team-provider-info.json"
	backendConfigPath    = "amplify/backend/backend-config.json"
	amplifyMetaPath      = "amplify/backend/amplify-meta.json"
	cliJSONPath          = "amplify/cli.json"
)

// Options override what the project files say. Empty fields mean "not given".
type Options struct {
	Env     string
	Region  string
	Profile string
	// AllowUnknownEnv reads a project whose env cannot be told (a fresh
	// clone before `amplify pull`) with Env empty and an ENV_UNKNOWN note,
	// instead of failing: for `plan`, which shows what it can.
	AllowUnknownEnv bool
}

// Project is what poolmigrate knows about an Amplify project after reading its
// files. Root is the absolute path of the folder that holds amplify/.
type Project struct {
	Root    string
	Name    string
	Env     string
	Envs    []string // environments listed in team-provider-info.json
	Region  string
	Profile string
	// StackName is the env's root CloudFormation stack
	// (team-provider-info.json), empty when unknown.
	StackName string

	// MetaPresent tells whether amplify/backend/amplify-meta.json exists;
	// without it resource ids (pool id, API id) are unknown.
	MetaPresent bool

	Auth []AuthResource
	APIs []API

	// UserPoolGroups names the user pool groups resource (service
	// Cognito-UserPool-Groups), or is empty. `amplify add auth` refuses
	// while it exists, like any auth resource.
	UserPoolGroups string

	// Dependents lists every resource whose dependsOn names a Cognito auth
	// resource; each one blocks `amplify remove auth`.
	Dependents []Dependent

	// OrphanDirs are resource folders on disk that backend-config.json does
	// not list; the Amplify CLI ignores them and so does poolmigrate.
	OrphanDirs []string

	// Notes are facts found while reading that need the user's attention.
	Notes []Note
}

// AuthResource is a Cognito user pool auth resource (service "Cognito").
type AuthResource struct {
	Name       string
	UserPoolID string // empty when amplify-meta.json is missing
	Imported   bool
	// Triggers are the Lambda functions the pool invokes (PreSignUp, ...).
	Triggers []string
}

// Dependent is one dependsOn edge onto an auth resource.
type Dependent struct {
	Category   string
	Resource   string
	Service    string
	DependsOn  string // the auth resource it names
	Attributes []string
}

// API is an AppSync GraphQL API resource (service "AppSync").
type API struct {
	Name string
	Dir  string // amplify/backend/api/<name>
	ID   string // GraphQLAPIIdOutput from amplify-meta.json; empty when unknown

	// AuthResource is the auth resource AuthCognitoUserPoolId points at, or
	// empty when the API does not use Cognito user pools.
	AuthResource string
	// AuthPoolID is set when parameters.json holds a literal pool id, as the
	// CLI writes for imported auth.
	AuthPoolID string

	Transformer Transformer
	// ConflictDetection is true when DataStore conflict detection is on
	// (transform.conf.json ResolverConfig or cli-inputs conflictResolution):
	// direct table writes must then bump _version and _lastChangedAt.
	ConflictDetection bool
}

// Note is a finding worth the user's attention. Codes are stable.
type Note struct {
	Code    string
	Message string
}

// Load reads the project rooted at root (an absolute path, used for display)
// through fsys, which must be rooted at the same folder.
func Load(fsys fs.FS, root string, opts Options) (*Project, error) {
	p := &Project{Root: root}

	projectConfig, ok, err := readJSON(fsys, ProjectConfigPath)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w at %s: %s is missing", ErrNoProject, root, ProjectConfigPath)
	}
	p.Name = projectConfig.Get("projectName").String()

	tpi, tpiOK, err := readJSON(fsys, teamProviderInfoPath)
	if err != nil {
		return nil, err
	}
	tpi.ForEach(func(k, _ gjson.Result) bool {
		p.Envs = append(p.Envs, k.String())
		return true
	})
	sort.Strings(p.Envs)

	if err := p.resolveEnv(fsys, opts.Env, tpiOK); err != nil {
		if !opts.AllowUnknownEnv {
			return nil, err
		}
		p.note("ENV_UNKNOWN", strings.TrimPrefix(err.Error(), "determine the Amplify environment: ")+"; table names, the region and the pool id stay unknown until then (run `amplify pull`, which writes local-env-info.json)")
	}

	meta, metaOK, err := readJSON(fsys, amplifyMetaPath)
	if err != nil {
		return nil, err
	}
	p.MetaPresent = metaOK
	if !metaOK && p.Env != "" {
		p.note("META_MISSING", "amplify/backend/amplify-meta.json is missing (it is git-ignored), so the user pool id and API ids are unknown and table names cannot be computed; run `amplify pull` (or `amplify env checkout "+p.Env+"`) first, or use `plan --live`")
	}

	p.StackName = tpi.Get(key(p.Env) + ".awscloudformation.StackName").String()
	if p.StackName == "" {
		p.StackName = meta.Get("providers.awscloudformation.StackName").String()
	}
	p.Region = opts.Region
	if p.Region == "" {
		p.Region = tpi.Get(key(p.Env) + ".awscloudformation.Region").String()
	}
	if p.Region == "" {
		p.Region = meta.Get("providers.awscloudformation.Region").String()
	}

	if err := p.resolveProfile(fsys, opts.Profile); err != nil {
		return nil, err
	}

	backend, ok, err := readJSON(fsys, backendConfigPath)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("read %s: file is missing; this Amplify project has no backend (run `amplify pull` if it should have one)", backendConfigPath)
	}

	if err := checkNames(backend); err != nil {
		return nil, err
	}
	p.readAuth(backend, meta, tpi)
	for _, a := range p.Auth {
		if a.UserPoolID != "" {
			if err := CheckPoolID("the user pool id of auth "+a.Name+" (amplify-meta.json or team-provider-info.json)", a.UserPoolID); err != nil {
				return nil, err
			}
		}
	}
	if err := p.readAPIs(fsys, backend, meta); err != nil {
		return nil, err
	}
	p.readDependents(backend)
	p.findOrphans(fsys, backend)
	return p, nil
}

func (p *Project) note(code, msg string) {
	p.Notes = append(p.Notes, Note{Code: code, Message: msg})
}

// resolveEnv follows the CLI: local-env-info.json's envName, else the only
// env of team-provider-info.json; --env overrides both.
func (p *Project) resolveEnv(fsys fs.FS, flagEnv string, tpiOK bool) error {
	if flagEnv != "" {
		p.Env = flagEnv
		if tpiOK && !contains(p.Envs, flagEnv) {
			p.note("ENV_NOT_IN_TEAM_PROVIDER", fmt.Sprintf("environment %q is not in amplify/team-provider-info.json (it lists %s); check --env", flagEnv, strings.Join(p.Envs, ", ")))
		}
		return nil
	}
	local, _, err := readJSON(fsys, localEnvInfoPath)
	if err != nil {
		return err
	}
	if env := local.Get("envName").String(); env != "" {
		p.Env = env
		return nil
	}
	if len(p.Envs) == 1 {
		p.Env = p.Envs[0]
		return nil
	}
	if len(p.Envs) == 0 {
		return fmt.Errorf("determine the Amplify environment: %s is missing and %s lists no environment; pass --env NAME (the env you ran `amplify push` with)", localEnvInfoPath, teamProviderInfoPath)
	}
	return fmt.Errorf("determine the Amplify environment: %s is missing and %s lists %d environments (%s); pass --env NAME or run `amplify env checkout NAME`", localEnvInfoPath, teamProviderInfoPath, len(p.Envs), strings.Join(p.Envs, ", "))
}

// resolveProfile reads local-aws-info.json: a named profile is used only when
// useProfile is true. Other config levels leave the SDK's default chain in
// charge, which is what poolmigrate always uses for credentials.
func (p *Project) resolveProfile(fsys fs.FS, flagProfile string) error {
	if flagProfile != "" {
		p.Profile = flagProfile
		return nil
	}
	info, _, err := readJSON(fsys, localAWSInfoPath)
	if err != nil {
		return err
	}
	env := info.Get(key(p.Env))
	if env.Get("useProfile").Bool() {
		p.Profile = env.Get("profileName").String()
		return nil
	}
	if env.Get("awsConfigFilePath").Exists() {
		p.note("AWS_CONFIG_FILE_UNUSED", fmt.Sprintf("env %q uses access keys from %s; poolmigrate takes credentials from the AWS SDK's default chain only: pass --profile or set AWS_PROFILE / AWS_ACCESS_KEY_ID", p.Env, env.Get("awsConfigFilePath").String()))
	}
	return nil
}

// checkNames refuses the names in backend-config.json that poolmigrate
// turns into paths (auth, function and api resources, and the auth and
// function resources dependsOn entries name) unless they are names the
// Amplify CLI makes.
func checkNames(backend gjson.Result) error {
	var err error
	backend.ForEach(func(cat, resources gjson.Result) bool {
		if !resources.IsObject() {
			return true
		}
		resources.ForEach(func(name, res gjson.Result) bool {
			switch cat.String() {
			case "auth", "function", "api":
				if err = CheckResourceName(cat.String()+" resource in "+backendConfigPath, name.String()); err != nil {
					return false
				}
			}
			for _, d := range res.Get("dependsOn").Array() {
				if c := d.Get("category").String(); c == "auth" || c == "function" {
					what := fmt.Sprintf("the %s resource that %s/%s depends on in %s", c, cat.String(), name.String(), backendConfigPath)
					if err = CheckResourceName(what, d.Get("resourceName").String()); err != nil {
						return false
					}
				}
			}
			return true
		})
		return err == nil
	})
	return err
}

func (p *Project) readAuth(backend, meta, tpi gjson.Result) {
	backend.Get("auth").ForEach(func(name, res gjson.Result) bool {
		if res.Get("service").String() == "Cognito-UserPool-Groups" {
			p.UserPoolGroups = name.String()
		}
		if res.Get("service").String() != "Cognito" {
			return true // userPoolGroups and the like
		}
		a := AuthResource{
			Name:     name.String(),
			Imported: res.Get("serviceType").String() == "imported",
		}
		a.UserPoolID = meta.Get("auth." + key(a.Name) + ".output.UserPoolId").String()
		if a.UserPoolID == "" && a.Imported {
			a.UserPoolID = tpi.Get(key(p.Env) + ".categories.auth." + key(a.Name) + ".userPoolId").String()
		}
		for _, d := range res.Get("dependsOn").Array() {
			if d.Get("category").String() == "function" && d.Get("triggerProvider").String() == "Cognito" {
				a.Triggers = append(a.Triggers, d.Get("resourceName").String())
			}
		}
		p.Auth = append(p.Auth, a)
		return true
	})
	sort.Slice(p.Auth, func(i, j int) bool { return p.Auth[i].Name < p.Auth[j].Name })
}

// authRefPrefix is the CloudFormation logical-id prefix the CLI puts before
// an auth resource's name ("auth" + resource name).
const authRefPrefix = "auth"

func (p *Project) readAPIs(fsys fs.FS, backend, meta gjson.Result) error {
	var firstErr error
	backend.Get("api").ForEach(func(name, res gjson.Result) bool {
		if res.Get("service").String() != "AppSync" {
			return true // REST APIs share the category
		}
		a := API{Name: name.String(), Dir: path.Join("amplify/backend/api", name.String())}
		a.ID = meta.Get("api." + key(a.Name) + ".output.GraphQLAPIIdOutput").String()

		params, _, err := readJSON(fsys, path.Join(a.Dir, "parameters.json"))
		if err != nil {
			firstErr = err
			return false
		}
		a.AuthResource, a.AuthPoolID = p.apiAuth(params.Get("AuthCognitoUserPoolId"), res)

		tr, err := readTransformer(fsys, p.Env)
		if err != nil {
			firstErr = err
			return false
		}
		a.Transformer = tr

		conf, _, err := readJSON(fsys, path.Join(a.Dir, "transform.conf.json"))
		if err != nil {
			firstErr = err
			return false
		}
		inputs, _, err := readJSON(fsys, path.Join(a.Dir, "cli-inputs.json"))
		if err != nil {
			firstErr = err
			return false
		}
		cr := inputs.Get("serviceConfiguration.conflictResolution")
		a.ConflictDetection = conf.Get("ResolverConfig").Exists() || (cr.IsObject() && len(cr.Map()) > 0)
		p.APIs = append(p.APIs, a)
		return true
	})
	sort.Slice(p.APIs, func(i, j int) bool { return p.APIs[i].Name < p.APIs[j].Name })
	return firstErr
}

// apiAuth resolves which auth resource an API's AuthCognitoUserPoolId names.
// The usual form is {"Fn::GetAtt": ["auth<name>", "Outputs.UserPoolId"]}; the
// CLI writes a literal pool id for imported auth. Without parameters.json the
// authConfig in backend-config.json names the same logical id.
func (p *Project) apiAuth(v gjson.Result, res gjson.Result) (resource, poolID string) {
	switch {
	case v.IsObject():
		ref := v.Get(key("Fn::GetAtt") + ".0").String()
		return p.authByLogicalID(ref), ""
	case v.Type == gjson.String:
		id := v.String()
		for _, a := range p.Auth {
			if a.UserPoolID == id {
				return a.Name, id
			}
		}
		return "", id
	}
	var ref string
	res.Get("output.authConfig").ForEach(func(_, mode gjson.Result) bool {
		for _, m := range append([]gjson.Result{mode}, mode.Array()...) {
			if m.Get("authenticationType").String() == "AMAZON_COGNITO_USER_POOLS" {
				ref = m.Get("userPoolConfig.userPoolId").String()
				return false
			}
		}
		return true
	})
	return p.authByLogicalID(ref), ""
}

func (p *Project) authByLogicalID(ref string) string {
	if ref == "" {
		return ""
	}
	name := strings.TrimPrefix(ref, authRefPrefix)
	for _, a := range p.Auth {
		if a.Name == name {
			return name
		}
	}
	// Named but not in backend-config: report the name so the user sees it.
	return name
}

// readDependents finds every resource whose dependsOn names a Cognito auth
// resource, in any category, as `amplify remove auth` checks.
func (p *Project) readDependents(backend gjson.Result) {
	isAuth := map[string]bool{}
	for _, a := range p.Auth {
		isAuth[a.Name] = true
	}
	backend.ForEach(func(cat, resources gjson.Result) bool {
		resources.ForEach(func(name, res gjson.Result) bool {
			for _, d := range res.Get("dependsOn").Array() {
				target := d.Get("resourceName").String()
				if d.Get("category").String() != "auth" || !isAuth[target] {
					continue
				}
				dep := Dependent{Category: cat.String(), Resource: name.String(), Service: res.Get("service").String(), DependsOn: target}
				for _, at := range d.Get("attributes").Array() {
					dep.Attributes = append(dep.Attributes, at.String())
				}
				p.Dependents = append(p.Dependents, dep)
			}
			return true
		})
		return true
	})
	sort.Slice(p.Dependents, func(i, j int) bool {
		a, b := p.Dependents[i], p.Dependents[j]
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		return a.Resource < b.Resource
	})
}

// findOrphans lists api/ and auth/ folders that backend-config.json does not
// name: stale copies that a naive directory scan would mistake for resources.
func (p *Project) findOrphans(fsys fs.FS, backend gjson.Result) {
	for _, cat := range []string{"api", "auth"} {
		entries, err := fs.ReadDir(fsys, "amplify/backend/"+cat)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if !backend.Get(cat + "." + key(e.Name())).Exists() {
				p.OrphanDirs = append(p.OrphanDirs, "amplify/backend/"+cat+"/"+e.Name())
			}
		}
	}
}

// AuthByName returns the auth resource with that name.
func (p *Project) AuthByName(name string) (AuthResource, bool) {
	for _, a := range p.Auth {
		if a.Name == name {
			return a, true
		}
	}
	return AuthResource{}, false
}

// ReadSchema returns the API's GraphQL schema sources the way the CLI reads
// them: schema.graphql if present, else every file under schema/ (recursively,
// dot-files and dot-folders skipped). Other .graphql files in the API folder
// (.migration-backup/, build/) are not the schema.
//
// A schema over schema.MaxSize, all files together, is refused before it
// is read whole.
func ReadSchema(fsys fs.FS, api API) ([]SchemaFile, error) {
	single := path.Join(api.Dir, "schema.graphql")
	data, err := ReadFile(fsys, single, schema.MaxSize)
	if err == nil {
		return []SchemaFile{{Path: single, Body: string(data)}}, nil
	}
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return nil, &schema.TooLargeError{Path: single, Size: tl.Size}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var size int64
	dir := path.Join(api.Dir, "schema")
	var files []SchemaFile
	err = fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		body, err := ReadFile(fsys, p, schema.MaxSize-size)
		if errors.As(err, &tl) {
			return &schema.TooLargeError{Path: p, Size: size + tl.Size}
		}
		if err != nil {
			return err
		}
		size += int64(len(body))
		files = append(files, SchemaFile{Path: p, Body: string(body)})
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read schema of API %s: neither %s nor %s/ exists", api.Name, single, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read schema of API %s: %w", api.Name, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("read schema of API %s: %s/ holds no schema file", api.Name, dir)
	}
	return files, nil
}

// SchemaFile is one file of an API's schema.
type SchemaFile struct {
	Path string
	Body string
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
