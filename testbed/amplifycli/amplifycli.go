// Package amplifycli runs the real Amplify CLI (@aws-amplify/cli-internal
// 11.1.0, installed by scripts/amplify-cli.sh) offline on a project, for
// tests and the demo: it makes a project look the way `amplify pull` leaves
// it, which the CLI insists on, and runs the commands that need no AWS
// account (status, remove auth, add auth --headless, api gql-compile).
package amplifycli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// Version is the CLI version the tests are pinned to.
const Version = "11.1.0"

// Profile is the AWS profile a pulled project names; the CLI only needs it
// to exist in ~/.aws/config, never to work.
const Profile = "default"

// CLI is the Amplify CLI with a private HOME, so ~/.amplify and ~/.aws of
// the person running the tests are never touched.
type CLI struct {
	Bin  string
	Home string
}

// Find returns the CLI's executable: $POOLMIGRATE_AMPLIFY_CLI, else the
// cache scripts/amplify-cli.sh installs into.
func Find() (string, bool) {
	if p := os.Getenv("POOLMIGRATE_AMPLIFY_CLI"); p != "" {
		_, err := os.Stat(p)
		return p, err == nil
	}
	cache := os.Getenv("POOLMIGRATE_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", false
		}
		cache = filepath.Join(home, ".cache", "poolmigrate")
	}
	p := filepath.Join(cache, "amplify-cli-"+Version, "node_modules", ".bin", "amplify")
	_, err := os.Stat(p)
	return p, err == nil
}

// Require returns the CLI for a test, or skips the test when it is not
// installed; under CI or POOLMIGRATE_REQUIRE_TESTBED=1 it fails instead.
func Require(t testing.TB) *CLI {
	t.Helper()
	bin, ok := Find()
	if !ok {
		testenv.Skip(t, "the Amplify CLI is not installed: run scripts/amplify-cli.sh (scripts/test.sh does)")
	}
	c, err := New(bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// New prepares home as the CLI's HOME: an AWS config naming Profile with
// made-up keys (the offline commands read it but never call AWS).
func New(bin, home string) (*CLI, error) {
	aws := filepath.Join(home, ".aws")
	if err := os.MkdirAll(aws, 0o700); err != nil {
		return nil, err
	}
	files := map[string]string{
		"config":      "[" + Profile + "]\nregion = us-east-1\n",
		"credentials": "[" + Profile + "]\naws_access_key_id = AKIAOFFLINEEXAMPLE00\naws_secret_access_key = offline-example-not-a-secret\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(aws, name), []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	return &CLI{Bin: bin, Home: home}, nil
}

// Run runs `amplify args...` in dir with stdin (closed when empty) and
// returns its combined output. A non-zero exit is an error carrying the
// output. Note that the CLI exits 0 for several refusals ("Auth has
// already been added"): callers check the files, not only the error.
func (c *CLI) Run(ctx context.Context, dir, stdin string, args ...string) (string, error) {
	return c.run(ctx, dir, stdin, false, args...)
}

// RunWithOverrides is Run with the CLI's scripting features on, which
// building an override needs (it runs npm install and tsc in
// amplify/backend).
func (c *CLI) RunWithOverrides(ctx context.Context, dir, stdin string, args ...string) (string, error) {
	return c.run(ctx, dir, stdin, true, args...)
}

func (c *CLI) run(ctx context.Context, dir, stdin string, scripts bool, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Bin, args...)
	testenv.DieWithTest(cmd)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HOME="+c.Home,
		"CI=true",
		"NO_UPDATE_NOTIFIER=1",
		"AMPLIFY_CLI_ENABLE_USAGE_DATA=false",
	)
	if !scripts {
		cmd.Env = append(cmd.Env, "AMPLIFY_CLI_DISABLE_SCRIPTING_FEATURES=1")
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("amplify %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), c.logTail())
	}
	return out.String(), nil
}

// logTail is the end of the CLI's newest log (~/.amplify/logs), where it
// records the causes it does not print (npm and tsc output of overrides).
func (c *CLI) logTail() string {
	logs, _ := filepath.Glob(filepath.Join(c.Home, ".amplify", "logs", "*.log"))
	if len(logs) == 0 {
		return ""
	}
	newest := logs[len(logs)-1]
	data, err := os.ReadFile(newest)
	if err != nil {
		return ""
	}
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return "\n--- " + newest + " (end):\n" + string(data)
}

// Pull makes the project at root look as `amplify pull` leaves it for env,
// then runs `amplify status` once (the CLI rewrites backend-config.json on
// its first run) and records that as the deployed state.
func (c *CLI) Pull(ctx context.Context, root, env string) error {
	if err := PullFiles(root, env); err != nil {
		return err
	}
	if _, err := c.Run(ctx, root, "", "status"); err != nil {
		return err
	}
	return syncCurrentCloudBackend(root)
}

// PullFiles writes what `amplify pull` leaves that a repository lacks:
// local-env-info.json with this machine's projectPath, local-aws-info.json
// (the SDK's default credential chain), amplify-meta.json (built from backend-config.json when
// missing) with the env's providers block (StackId included) copied from
// team-provider-info.json, and #current-cloud-backend/, a copy of backend/.
func PullFiles(root, env string) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	amp := filepath.Join(root, "amplify")
	tpi, err := os.ReadFile(filepath.Join(amp, "team-provider-info.json"))
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	provider := gjson.GetBytes(tpi, gjson.Escape(env)+".awscloudformation")
	if !provider.Get("StackId").Exists() {
		return fmt.Errorf("pull: team-provider-info.json has no %s.awscloudformation.StackId", env)
	}
	if err := os.MkdirAll(filepath.Join(amp, ".config"), 0o755); err != nil {
		return err
	}
	local := map[string]any{
		"local-env-info.json": map[string]string{"projectPath": root, "defaultEditor": "vscode", "envName": env},
		// "general": credentials from the SDK's default chain, as on a CI
		// machine, so poolmigrate reaches the test bed through the
		// AWS_ENDPOINT_URL_* variables rather than a profile.
		"local-aws-info.json": map[string]any{env: map[string]any{"configLevel": "general"}},
	}
	for name, v := range local {
		data, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(filepath.Join(amp, ".config", name), data, 0o644); err != nil {
			return err
		}
	}
	metaPath := filepath.Join(amp, "backend", "amplify-meta.json")
	meta, err := os.ReadFile(metaPath)
	if os.IsNotExist(err) {
		if meta, err = os.ReadFile(filepath.Join(amp, "backend", "backend-config.json")); err != nil {
			return fmt.Errorf("pull: %w", err)
		}
	} else if err != nil {
		return err
	}
	s, err := sjson.SetRaw(string(meta), "providers.awscloudformation", provider.Raw)
	if err != nil {
		return err
	}
	if err := os.WriteFile(metaPath, []byte(s), 0o644); err != nil {
		return err
	}
	return syncCurrentCloudBackend(root)
}

// syncCurrentCloudBackend copies backend/ to #current-cloud-backend/, as a
// push or pull leaves it.
func syncCurrentCloudBackend(root string) error {
	current := filepath.Join(root, "amplify", "#current-cloud-backend")
	if err := os.RemoveAll(current); err != nil {
		return err
	}
	return testenv.CopyTree(filepath.Join(root, "amplify", "backend"), current)
}
