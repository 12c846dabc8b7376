package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// repoRoot is the repository's root, from this file's place in it.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// StartCognitoLocal starts a cognito-local of the test's own on a free
// loopback port, for what the shared one cannot do: a configuration of
// its own (Lambda triggers apply to every pool of a cognito-local) or
// pools planted as files (it loads pools only when it starts). pools maps
// a pool id to its file's JSON. It returns the endpoint; the process ends
// with the test.
func StartCognitoLocal(t testing.TB, config map[string]any, pools map[string][]byte) string {
	t.Helper()
	start := filepath.Join(repoRoot(), "testbed", "emulators", "node_modules", "cognito-local", "lib", "bin", "start.js")
	if _, err := os.Stat(start); err != nil {
		msg := "cognito-local is not installed: run testbed/testbed.sh up"
		if os.Getenv("CI") == "true" || os.Getenv("POOLMIGRATE_REQUIRE_TESTBED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	if config == nil {
		config = map[string]any{}
	}
	if _, ok := config["UserPoolDefaults"]; !ok {
		config["UserPoolDefaults"] = map[string]any{"UsernameAttributes": []string{}}
	}
	cfg, _ := json.Marshal(config)
	if err := os.MkdirAll(filepath.Join(dir, ".cognito", "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".cognito", "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	for id, data := range pools {
		if err := os.WriteFile(filepath.Join(dir, ".cognito", "db", id+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := FreePort(t)
	cmd := exec.Command("node", start)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	WaitHTTP(t, endpoint+"/health", 30*time.Second, func() string { return logs.String() })
	return endpoint
}

// WaitHTTP waits until url answers anything.
func WaitHTTP(t testing.TB, url string, limit time.Duration, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within %s:\n%s", url, limit, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
