// Package gen2synth runs the real Amplify Gen 2 toolchain (pinned by
// testbed/gen2toolchain/package-lock.json, installed once by
// scripts/gen2-toolchain.sh into a cache outside the clone) offline on a
// copy of a Gen 2 project: `cdk synth --app "npx tsx amplify/backend.ts"`
// with the three context keys Amplify reads, and returns the CloudFormation
// templates and assets it writes. Tests and the demo use it; no AWS call is
// made.
package gen2synth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// Toolchain is an installed Gen 2 toolchain: Dir holds its node_modules.
type Toolchain struct {
	Dir string
}

// Find returns the toolchain: $POOLMIGRATE_GEN2_TOOLCHAIN, else the cache
// folder scripts/gen2-toolchain.sh installs into for this lock file.
func Find() (*Toolchain, error) {
	dir := os.Getenv("POOLMIGRATE_GEN2_TOOLCHAIN")
	if dir == "" {
		lock, err := os.ReadFile(filepath.Join(repoRoot(), "testbed", "gen2toolchain", "package-lock.json"))
		if err != nil {
			return nil, fmt.Errorf("read the toolchain's lock file: %w", err)
		}
		sum := sha256.Sum256(lock)
		cache := os.Getenv("POOLMIGRATE_CACHE")
		if cache == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, err
			}
			cache = filepath.Join(home, ".cache", "poolmigrate")
		}
		dir = filepath.Join(cache, "gen2-toolchain-"+hex.EncodeToString(sum[:])[:16])
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "cdk")); err != nil {
		return nil, fmt.Errorf("the Amplify Gen 2 toolchain is not installed in %s: run scripts/gen2-toolchain.sh (or set POOLMIGRATE_GEN2_TOOLCHAIN)", dir)
	}
	return &Toolchain{Dir: dir}, nil
}

// Require returns the toolchain for a test, or skips the test without it;
// under CI or POOLMIGRATE_REQUIRE_TESTBED=1 a missing toolchain fails it.
func Require(t testing.TB) *Toolchain {
	t.Helper()
	tc, err := Find()
	if err != nil {
		testenv.Skip(t, err.Error())
	}
	return tc
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Backend names the deployment the synthesis is for, as the three CDK
// context keys amplify-backend-namespace, -name and -type do.
type Backend struct {
	Namespace string // the app id (branch) or the project's name (sandbox)
	Name      string // the branch, or the sandbox's user name
	Type      string // "branch" or "sandbox"
}

// Assembly is what one synthesis wrote.
type Assembly struct {
	Dir string
	// Templates are the stacks' templates by file name.
	Templates map[string]Template
}

// Template is a CloudFormation template as JSON.
type Template struct {
	Resources map[string]Resource `json:"Resources"`
	Outputs   map[string]any      `json:"Outputs"`
}

// Resource is one template resource.
type Resource struct {
	Type                string         `json:"Type"`
	Properties          map[string]any `json:"Properties"`
	DeletionPolicy      string         `json:"DeletionPolicy"`
	UpdateReplacePolicy string         `json:"UpdateReplacePolicy"`
}

// Synth copies the project at dir (its amplify/ folder and package files)
// to a fresh folder with the toolchain's node_modules linked in, and
// synthesizes it offline.
func (tc *Toolchain) Synth(ctx context.Context, dir string, b Backend) (*Assembly, error) {
	work, err := os.MkdirTemp("", "gen2synth-*")
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"amplify", "package.json", "tsconfig.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			if err := copyTree(filepath.Join(dir, name), filepath.Join(work, name)); err != nil {
				return nil, err
			}
		}
	}
	out := filepath.Join(work, "cdk.out")
	// The same input synthesizes to the same assembly: a test process
	// synthesizes each input once (the Gen 2 e2e tests deploy the same
	// project for both import methods).
	key, err := inputKey(tc.Dir, work, b)
	if err != nil {
		return nil, err
	}
	m := memoFor(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files != nil {
		if err := writeFiles(out, m.files); err != nil {
			return nil, err
		}
		return readAssembly(out, dir, m.log)
	}
	if err := os.Symlink(filepath.Join(tc.Dir, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(tc.Dir, "node_modules", ".bin", "cdk"), "synth",
		"--app", "npx tsx amplify/backend.ts",
		"-c", "amplify-backend-namespace="+b.Namespace,
		"-c", "amplify-backend-name="+b.Name,
		"-c", "amplify-backend-type="+b.Type,
		"-o", out, "--quiet")
	testenv.DieWithTest(cmd)
	cmd.Dir = work
	// Fake credentials and a region: synthesis asks AWS nothing, but the
	// SDK's default chain must resolve. The toolchain's own .bin comes
	// first so `npx tsx` runs the pinned tsx without the network.
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Join(tc.Dir, "node_modules", ".bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=gen2synth", "AWS_SECRET_ACCESS_KEY=gen2synth", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "CDK_DISABLE_VERSION_CHECK=1", "npm_config_update_notifier=false",
		"npm_config_offline=true", "AMPLIFY_DISABLE_TELEMETRY=true")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("cdk synth of %s: %w\n%s", dir, err, tail(log.String(), 4000))
	}
	a, err := readAssembly(out, dir, log.String())
	if err != nil {
		return nil, err
	}
	if m.files, err = readFiles(out); err != nil {
		return nil, err
	}
	m.log = log.String()
	return a, nil
}

// readAssembly reads the templates synthesis wrote to out; log is its
// output, for the error.
func readAssembly(out, dir, log string) (*Assembly, error) {
	a := &Assembly{Dir: out, Templates: map[string]Template{}}
	files, _ := filepath.Glob(filepath.Join(out, "*.template.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var t Template
		if err := json.Unmarshal(data, &t); err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		a.Templates[filepath.Base(f)] = t
	}
	if len(a.Templates) == 0 {
		return nil, fmt.Errorf("cdk synth of %s wrote no template\n%s", dir, tail(log, 4000))
	}
	return a, nil
}

// Raw returns a template's file as written.
func (a *Assembly) Raw(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(a.Dir, name))
}

// Named is a resource with its template and logical id.
type Named struct {
	Template  string
	LogicalID string
	Resource
}

// OfType lists every resource of a type in every template, sorted.
func (a *Assembly) OfType(typ string) []Named {
	var out []Named
	for name, t := range a.Templates {
		for id, r := range t.Resources {
			if r.Type == typ {
				out = append(out, Named{Template: name, LogicalID: id, Resource: r})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Template != out[j].Template {
			return out[i].Template < out[j].Template
		}
		return out[i].LogicalID < out[j].LogicalID
	})
	return out
}

// RootTemplate is the name of the root stack's template.
func (a *Assembly) RootTemplate() string {
	for name := range a.Templates {
		if !strings.Contains(name, ".nested.") {
			return name
		}
	}
	return ""
}

// Asset returns the content of the first asset file with that base name
// (model-schema.graphql, modelIntrospectionSchema.json).
func (a *Assembly) Asset(base string) ([]byte, error) {
	matches, _ := filepath.Glob(filepath.Join(a.Dir, "asset.*", base))
	if len(matches) == 0 {
		return nil, fmt.Errorf("no asset %s in %s", base, a.Dir)
	}
	return os.ReadFile(matches[0])
}

// Remove deletes the synthesis folder.
func (a *Assembly) Remove() error {
	return os.RemoveAll(filepath.Dir(a.Dir))
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			if fi.Name() == "node_modules" || fi.Name() == ".poolmigrate" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, fi.Mode().Perm())
	})
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// ErrNoPool is returned when an assembly holds no user pool.
var ErrNoPool = errors.New("no AWS::Cognito::UserPool in the assembly")
