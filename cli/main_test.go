package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testBinaries.remove()
	os.Exit(code)
}

// testBinaries are the poolmigrate binaries the tests run as processes,
// each built once per test run (by its go build flags) instead of once a
// test: a link of the whole binary is seconds of CPU. Tests only run them.
var testBinaries builtBinaries

type builtBinaries struct {
	mu   sync.Mutex
	dir  string
	bins map[string]string // go build flags -> binary
}

// build returns the binary `go build <flags> ..` makes, building it on
// first use.
func (b *builtBinaries) build(t *testing.T, flags ...string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	key := strings.Join(flags, " ")
	if bin, ok := b.bins[key]; ok {
		return bin
	}
	if b.dir == "" {
		dir, err := os.MkdirTemp("", "poolmigrate-test-bin-")
		if err != nil {
			t.Fatal(err)
		}
		b.dir, b.bins = dir, map[string]string{}
	}
	// Named poolmigrate, as users run it (the completion test runs it by
	// name through PATH), one folder per build.
	sub := filepath.Join(b.dir, strconv.Itoa(len(b.bins)))
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(sub, "poolmigrate")
	args := append(append([]string{"build"}, flags...), "-o", bin, "..")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	b.bins[key] = bin
	return bin
}

func (b *builtBinaries) remove() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
