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
	if _, err := os.Stat(cognitoLocalStart()); err != nil {
		Skip(t, "cognito-local is not installed: run testbed/testbed.sh up")
	}
	endpoint, stop, err := StartCognitoLocalProcess(t.TempDir(), config, pools)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return endpoint
}

func cognitoLocalStart() string {
	return filepath.Join(repoRoot(), "testbed", "emulators", "node_modules", "cognito-local", "lib", "bin", "start.js")
}

// StartCognitoLocalProcess is StartCognitoLocal for programs (the demo):
// dir holds its data; stop ends it.
func StartCognitoLocalProcess(dir string, config map[string]any, pools map[string][]byte) (string, func(), error) {
	if config == nil {
		config = map[string]any{}
	}
	if _, ok := config["UserPoolDefaults"]; !ok {
		config["UserPoolDefaults"] = map[string]any{"UsernameAttributes": []string{}}
	}
	cfg, _ := json.Marshal(config)
	if err := os.MkdirAll(filepath.Join(dir, ".cognito", "db"), 0o755); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ".cognito", "config.json"), cfg, 0o644); err != nil {
		return "", nil, err
	}
	for id, data := range pools {
		if err := os.WriteFile(filepath.Join(dir, ".cognito", "db", id+".json"), data, 0o644); err != nil {
			return "", nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("node", cognitoLocalStart())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(endpoint+"/health", 30*time.Second); err != nil {
		stop()
		return "", nil, fmt.Errorf("%w:\n%s", err, logs.String())
	}
	return endpoint, stop, nil
}

func waitHTTP(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %s", url, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitHTTP waits until url answers anything.
func WaitHTTP(t testing.TB, url string, limit time.Duration, logs func() string) {
	t.Helper()
	if err := waitHTTP(url, limit); err != nil {
		t.Fatalf("%v:\n%s", err, logs())
	}
}
