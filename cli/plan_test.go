package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// runApp runs poolmigrate in-process from dir with the given environment.
func runApp(t *testing.T, dir string, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &App{
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string {
			if v, ok := env[k]; ok || !strings.HasPrefix(k, "AWS_") {
				return v
			}
			return os.Getenv(k) // the test bed's endpoints
		},
		Getwd: func() (string, error) { return filepath.Abs(dir) },
	}
	err = app.Run(context.Background(), args)
	return out.String(), errb.String(), err
}

func TestPlanGolden(t *testing.T) {
	cases := map[string]struct {
		dir  string
		args []string
	}{
		"notes-app":    {dir: "../examples/notes-app"},
		"legacy-v1":    {dir: "../testdata/projects/legacy-v1"},
		"split-schema": {dir: "../testdata/projects/split-schema"},
		// Run from a sub-folder of a project nested in a monorepo.
		"monorepo":          {dir: "../testdata/projects/monorepo/packages/web/src/components"},
		"multi-env-by-flag": {dir: "../testdata/projects/legacy-v1", args: []string{"--env", "staging", "--profile", "ops"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, stderr, err := runApp(t, tc.dir, nil, append([]string{"plan", "--json"}, tc.args...)...)
			if err != nil {
				t.Fatalf("plan: %v\n%s", err, stderr)
			}
			root, err := filepath.Abs(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			// The golden files hold the project root as <ROOT>.
			for !fileExists(filepath.Join(root, "amplify/.config/project-config.json")) {
				root = filepath.Dir(root)
			}
			got := strings.ReplaceAll(out, root, "<ROOT>")
			testenv.Golden(t, filepath.Join("testdata", "golden", "plan-"+name+".json"), got, *update)
		})
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// planJSON is the part of the plan --json shape later steps rely on.
type planJSON struct {
	ProjectRoot string `json:"projectRoot"`
	ProjectName string `json:"projectName"`
	Env         string `json:"env"`
	Region      string `json:"region"`
	Profile     string `json:"profile"`
	Auth        []struct {
		Resource   string `json:"resource"`
		UserPoolID string `json:"userPoolId"`
		Imported   bool   `json:"imported"`
	} `json:"auth"`
	APIs []struct {
		Name               string `json:"name"`
		APIID              string `json:"apiId"`
		TransformerVersion int    `json:"transformerVersion"`
		AuthResource       string `json:"authResource"`
		Models             []struct {
			Type       string `json:"type"`
			Table      string `json:"table"`
			PrimaryKey struct {
				Partition string `json:"partition"`
				Sort      string `json:"sort"`
			} `json:"primaryKey"`
			OwnerFields []struct {
				Field string   `json:"field"`
				Claim string   `json:"claim"`
				List  bool     `json:"list"`
				KeyOf []string `json:"keyOf"`
				Remap bool     `json:"remap"`
			} `json:"ownerFields"`
		} `json:"models"`
	} `json:"apis"`
	Warnings []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"warnings"`
}

func decodePlan(t *testing.T, out string) planJSON {
	t.Helper()
	var p planJSON
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decode plan JSON: %v\n%s", err, out)
	}
	return p
}

// TestPlanNotesApp states the example project's facts one by one, so a
// golden file regenerated carelessly cannot hide a wrong result.
func TestPlanNotesApp(t *testing.T) {
	out, _, err := runApp(t, "../examples/notes-app", nil, "plan", "--json")
	if err != nil {
		t.Fatal(err)
	}
	p := decodePlan(t, out)
	if p.ProjectName != "notesapp" || p.Env != "dev" || p.Region != "us-east-1" || p.Profile != "notes-dev" {
		t.Errorf("project facts: got name=%q env=%q region=%q profile=%q", p.ProjectName, p.Env, p.Region, p.Profile)
	}
	if len(p.Auth) != 1 || p.Auth[0].Resource != "notesappauth" || p.Auth[0].UserPoolID != "us-east-1_NotesOld1" {
		t.Fatalf("auth: got %+v", p.Auth)
	}
	if len(p.APIs) != 1 {
		t.Fatalf("apis: got %d", len(p.APIs))
	}
	api := p.APIs[0]
	if api.APIID != "n0tesapi1d" || api.TransformerVersion != 2 || api.AuthResource != "notesappauth" {
		t.Errorf("api: got id=%q v=%d auth=%q", api.APIID, api.TransformerVersion, api.AuthResource)
	}
	type of struct {
		claim string
		list  bool
		keyOf string
	}
	want := map[string]of{
		"Note.owner":       {"sub::username", false, ""},
		"Vehicle.userID":   {"sub", false, "byUser"},
		"Notebook.owner":   {"sub::username", false, ""},
		"Notebook.editors": {"username", true, ""},
		"Profile.userId":   {"sub", false, "primary"},
		"Task.owner":       {"sub::username", false, "byProject"},
	}
	got := map[string]of{}
	tables := map[string]string{}
	for _, m := range api.Models {
		tables[m.Type] = m.Table
		for _, f := range m.OwnerFields {
			got[m.Type+"."+f.Field] = of{f.Claim, f.List, strings.Join(f.KeyOf, ",")}
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %+v, want %+v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("owner fields: got %v, want exactly %v", got, want)
	}
	if tables["Profile"] != "UserProfile-n0tesapi1d-dev" || tables["Note"] != "Note-n0tesapi1d-dev" {
		t.Errorf("tables: got %v", tables)
	}
	if _, ok := tables["Draft"]; ok {
		t.Error("the commented-out Draft model was found")
	}
	if len(tables) != 6 {
		t.Errorf("models: got %d (%v), want 6", len(tables), tables)
	}
}

func TestPlanErrors(t *testing.T) {
	cases := map[string]struct {
		dir     string
		args    []string
		env     map[string]string
		wantErr string
		code    int
	}{
		"no project": {dir: "../testdata", wantErr: "no Amplify project found", code: 1},
		"malformed JSON names the file": {
			dir: "../testdata/projects/broken-json", args: []string{"--env", "dev"},
			wantErr: "amplify/backend/backend-config.json: invalid character", code: 1,
		},
		"unknown flag":   {dir: "../examples/notes-app", args: []string{"--bogus"}, wantErr: "unknown flag: --bogus", code: 2},
		"stray argument": {dir: "../examples/notes-app", args: []string{"extra"}, wantErr: "plan takes no arguments", code: 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := runApp(t, tc.dir, tc.env, append([]string{"plan"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
			if c := ExitCode(err); c != tc.code {
				t.Errorf("exit code %d, want %d", c, tc.code)
			}
		})
	}
}

// TestPlanPrecedence checks flag > POOLMIGRATE_* > project files.
func TestPlanPrecedence(t *testing.T) {
	dir := "../testdata/projects/legacy-v1"
	cases := map[string]struct {
		env        map[string]string
		args       []string
		wantEnv    string
		wantRegion string
	}{
		"project files":          {wantEnv: "prod", wantRegion: "eu-central-1"},
		"environment variables":  {env: map[string]string{"POOLMIGRATE_ENV": "staging"}, wantEnv: "staging", wantRegion: "eu-west-1"},
		"flag beats environment": {env: map[string]string{"POOLMIGRATE_ENV": "staging", "POOLMIGRATE_REGION": "us-west-1"}, args: []string{"--env", "prod"}, wantEnv: "prod", wantRegion: "us-west-1"},
		"region flag":            {args: []string{"--region", "sa-east-1"}, wantEnv: "prod", wantRegion: "sa-east-1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, _, err := runApp(t, dir, tc.env, append([]string{"plan", "--json"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			p := decodePlan(t, out)
			if p.Env != tc.wantEnv || p.Region != tc.wantRegion {
				t.Errorf("got env=%q region=%q, want env=%q region=%q", p.Env, p.Region, tc.wantEnv, tc.wantRegion)
			}
		})
	}
}

func TestPlanProjectFlagAcceptsSubfolder(t *testing.T) {
	out, _, err := runApp(t, "..", nil, "plan", "--json", "--project", "testdata/projects/monorepo/packages/web/src")
	if err != nil {
		t.Fatal(err)
	}
	if p := decodePlan(t, out); p.ProjectName != "crm" {
		t.Errorf("got project %q, want crm", p.ProjectName)
	}
}

func decodeInto(out string, v any) error {
	return json.NewDecoder(strings.NewReader(out)).Decode(v)
}

// With several envs and none chosen, plan shows what it can and says how
// to choose; commands that need the env refuse with the same words.
func TestPlanSeveralEnvsNoneChosen(t *testing.T) {
	out, stderr, err := runApp(t, "../testdata/projects/multi-env", nil, "plan", "--json")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, stderr)
	}
	if w := warningCodes(decodePlan(t, out))["ENV_UNKNOWN"]; !strings.Contains(w, "lists 2 environments (dev, prod); pass --env NAME") {
		t.Errorf("ENV_UNKNOWN: %q", w)
	}
	_, _, err = runApp(t, "../testdata/projects/multi-env", nil, "backup")
	if err == nil || !strings.Contains(err.Error(), "lists 2 environments (dev, prod); pass --env NAME") || ExitCode(err) != 1 {
		t.Errorf("backup: %v", err)
	}
}

// TestPlanInAFreshClone: before `amplify pull` (no local-env-info.json, no
// team-provider-info.json, no amplify-meta.json) plan shows everything the
// committed files hold, tables unknown, warns ENV_UNKNOWN and exits 0;
// commands that need the env keep their error.
func TestPlanInAFreshClone(t *testing.T) {
	dir := copyProject(t, "../examples/notes-app")
	for _, f := range []string{"amplify/.config/local-env-info.json", "amplify/team-provider-info.json", "amplify/backend/amplify-meta.json"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, err := runApp(t, dir, nil, "plan", "--json")
	if err != nil {
		t.Fatalf("plan in a fresh clone: %v\n%s", err, stderr)
	}
	p := decodePlan(t, out)
	if p.Env != "" || len(p.Auth) != 1 || p.Auth[0].Resource != "notesappauth" || len(p.APIs) != 1 || len(p.APIs[0].Models) < 5 {
		t.Errorf("plan: env %q auth %+v apis %d", p.Env, p.Auth, len(p.APIs))
	}
	owners := 0
	for _, m := range p.APIs[0].Models {
		if m.Table != "" {
			t.Errorf("model %s: table %q, want unknown", m.Type, m.Table)
		}
		owners += len(m.OwnerFields)
	}
	if owners < 5 {
		t.Errorf("%d owner fields found, want the example's", owners)
	}
	codes := warningCodes(p)
	if !strings.Contains(codes["ENV_UNKNOWN"], "amplify pull") || codes["REGION_UNKNOWN"] != "" {
		t.Errorf("warnings: %v", codes)
	}
	if _, _, err := runApp(t, dir, nil, "backup"); err == nil || !strings.Contains(err.Error(), "pass --env") {
		t.Errorf("backup without an env: %v", err)
	}
	if _, _, err := runApp(t, dir, nil, "plan", "--live"); err == nil || !strings.Contains(err.Error(), "--env") {
		t.Errorf("plan --live without an env: %v", err)
	}
}
