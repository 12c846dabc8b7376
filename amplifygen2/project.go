// Package amplifygen2 reads an Amplify Gen 2 project (amplify/backend.ts,
// amplify/auth/resource.ts, amplify/data/resource.ts, amplify_outputs.json)
// into the same migration plan the Gen 1 reader (amplifyproj, schema)
// produces: the pool, the region, the data API and, for every model, its
// table, key and owner fields with the form each stores. The TypeScript
// resource files are read without Node.js: esbuild strips their types and
// goja runs them against a recorder standing in for @aws-amplify/backend.
// It only reads; writing backend.ts is package gen2patch's job.
package amplifygen2

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
)

// Paths inside a Gen 2 project, relative to its root.
const (
	BackendPath = "amplify/backend.ts"
	AuthPath    = "amplify/auth/resource.ts"
	DataPath    = "amplify/data/resource.ts"
	OutputsPath = "amplify_outputs.json"
)

// ErrNoProject is returned when no Gen 2 project encloses a folder.
var ErrNoProject = errors.New("no Amplify Gen 2 project found")

// FindRoot returns the nearest ancestor of start (start included) holding
// amplify/backend.ts, or ErrNoProject.
func FindRoot(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", fmt.Errorf("find project root: %w", err)
	}
	for {
		if IsRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w in %s or any folder above it (looked for %s)", ErrNoProject, start, BackendPath)
		}
		dir = parent
	}
}

// IsRoot tells whether dir holds amplify/backend.ts.
func IsRoot(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(BackendPath)))
	return err == nil && !fi.IsDir()
}

// Project is what poolmigrate knows of a Gen 2 project from its files.
type Project struct {
	Root string
	Name string
	Auth *Auth
	Data *Data // nil when the project defines no data
	// Outputs is amplify_outputs.json, nil when the file is missing (it is
	// git-ignored; `npx ampx sandbox` or `npx ampx generate outputs`
	// writes it).
	Outputs *Outputs
}

// Load reads the project rooted at root (an absolute path, for display)
// through fsys, rooted at the same folder.
func Load(fsys fs.FS, root string) (*Project, error) {
	p := &Project{Root: root, Name: path.Base(filepath.ToSlash(root))}
	if data, err := amplifyproj.ReadFile(fsys, "package.json", amplifyproj.MaxJSONSize); err == nil && amplifyproj.CheckJSON("package.json", data) == nil {
		if n := gjson.GetBytes(data, "name").String(); n != "" {
			p.Name = n
		}
	}
	if _, err := fs.Stat(fsys, BackendPath); err != nil {
		return nil, fmt.Errorf("%w at %s: %s is missing", ErrNoProject, root, BackendPath)
	}
	if _, err := fs.Stat(fsys, AuthPath); err == nil {
		exports, err := evaluate(fsys, AuthPath)
		if err != nil {
			return nil, err
		}
		if p.Auth, err = readAuth(exports); err != nil {
			return nil, fmt.Errorf("read %s: %w", AuthPath, err)
		}
	}
	if _, err := fs.Stat(fsys, DataPath); err == nil {
		exports, err := evaluate(fsys, DataPath)
		if err != nil {
			return nil, err
		}
		if p.Data, err = readData(exports); err != nil {
			return nil, fmt.Errorf("read %s: %w", DataPath, err)
		}
	}
	raw, err := amplifyproj.ReadFile(fsys, OutputsPath, amplifyproj.MaxJSONSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("%w; regenerate it (`npx ampx generate outputs`)", err)
	default:
		if p.Outputs, err = parseOutputs(raw); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Outputs is what amplify_outputs.json says of the deployed backend.
type Outputs struct {
	Version            string
	UserPoolID         string
	Region             string
	ClientID           string
	IdentityPoolID     string
	UsernameAttributes []string
	Groups             []string
	DataURL            string
	DataRegion         string
}

func parseOutputs(raw []byte) (*Outputs, error) {
	if err := amplifyproj.CheckJSON(OutputsPath, raw); err != nil {
		return nil, fmt.Errorf("%w; regenerate it (`npx ampx generate outputs`)", err)
	}
	j := gjson.ParseBytes(raw)
	o := &Outputs{
		Version:        j.Get("version").String(),
		UserPoolID:     j.Get("auth.user_pool_id").String(),
		Region:         j.Get("auth.aws_region").String(),
		ClientID:       j.Get("auth.user_pool_client_id").String(),
		IdentityPoolID: j.Get("auth.identity_pool_id").String(),
		DataURL:        j.Get("data.url").String(),
		DataRegion:     j.Get("data.aws_region").String(),
	}
	for _, a := range j.Get("auth.username_attributes").Array() {
		o.UsernameAttributes = append(o.UsernameAttributes, a.String())
	}
	for _, g := range j.Get("auth.groups").Array() {
		g.ForEach(func(k, _ gjson.Result) bool {
			o.Groups = append(o.Groups, k.String())
			return true
		})
	}
	return o, nil
}

// Auth is what amplify/auth/resource.ts declares with defineAuth (or
// referenceAuth, for a pool the app does not own).
type Auth struct {
	// Reference is true for referenceAuth({userPoolId, ...}): the pool is
	// not the app's, and its id is in the file.
	Reference  bool
	UserPoolID string
	// LoginWith lists the sign-in keys of loginWith (email, phone,
	// externalProviders).
	LoginWith []string
	Groups    []string
	// Triggers are the Lambda trigger events (preSignUp, userMigration, ...).
	Triggers []string
}

func readAuth(exports value) (*Auth, error) {
	if n := findNode(exports, "referenceAuth"); n != nil {
		a := &Auth{Reference: true}
		if id, ok := n.arg(0).get("userPoolId"); ok {
			a.UserPoolID = id.str()
		}
		if g, ok := n.arg(0).get("groups"); ok {
			for _, e := range g.Entries {
				a.Groups = append(a.Groups, e.Key)
			}
		}
		return a, nil
	}
	n := findNode(exports, "defineAuth")
	if n == nil {
		return nil, errors.New("no defineAuth(...) or referenceAuth(...) export")
	}
	props := n.arg(0)
	a := &Auth{}
	if lw, ok := props.get("loginWith"); ok {
		for _, e := range lw.Entries {
			a.LoginWith = append(a.LoginWith, e.Key)
		}
	}
	if g, ok := props.get("groups"); ok {
		a.Groups = g.strings()
	}
	if tr, ok := props.get("triggers"); ok {
		for _, e := range tr.Entries {
			a.Triggers = append(a.Triggers, e.Key)
		}
	}
	return a, nil
}
