package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/poolmigrate/poolmigrate/tokenmint/deploy"
	"github.com/poolmigrate/poolmigrate/trigger"
)

// tokenRuntimes runs, on the test bed, the code of the token function
// that `storage copy` and `storage link` put on each user pool for their
// run (AWS runs it as Lambda does; the test bed runs each function's code
// only where a runtime is registered with the shim). poolmigrate reaches
// Lambda through a proxy in front of the shim's Lambda API: when it grants
// Cognito the right to invoke a token function (AddPermission, once the
// function and its environment are in place and before the triggers are
// attached), the proxy starts the function's code, built for this machine,
// under the Lambda Runtime Interface Emulator with the function's
// environment and registers it with the shim before it answers; when the
// function is deleted, it stops it.
type tokenRuntimes struct {
	shim, rie, bootstrap string
	lambda               *lambda.Client
	url                  string
	mu                   sync.Mutex
	running              map[string]*tokenRuntime
	logs                 *os.File
}

// tokenRuntime is one function's code under the emulator, and the
// endpoint the shim invokes it at: the emulator runs one invocation at a
// time (a second one at once makes it crash), as one Lambda execution
// environment does, so invocations wait their turn.
type tokenRuntime struct {
	cmd *exec.Cmd
	ln  net.Listener
}

// startTokenRuntimes builds the token function for this machine into dir
// and starts the proxy in front of the shim at shimURL.
func startTokenRuntimes(ctx context.Context, shimURL, rie, dir string) *tokenRuntimes {
	if rie == "" {
		log.Fatal("demo: the Lambda Runtime Interface Emulator is missing (the test bed builds it: run scripts/demo.sh)")
	}
	src, err := trigger.FindSource(".")
	if err != nil {
		log.Fatal(err)
	}
	built, err := deploy.Build(ctx, src, filepath.Join(dir, "tokenmint"), runtime.GOARCH)
	if err != nil {
		log.Fatalf("demo: build the token function: %v", err)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	logs, err := os.OpenFile(filepath.Join(dir, "tokenmint.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	tr := &tokenRuntimes{shim: strings.TrimRight(shimURL, "/"), rie: rie, bootstrap: built.Bootstrap, running: map[string]*tokenRuntime{}, logs: logs,
		lambda: lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(shimURL) })}
	target, err := url.Parse(shimURL)
	if err != nil {
		log.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = tr.observe
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	tr.url = "http://" + ln.Addr().String()
	go func() { _ = http.Serve(ln, proxy) }()
	return tr
}

// env points a poolmigrate command's Lambda calls at the proxy.
func (tr *tokenRuntimes) env() []string { return []string{"AWS_ENDPOINT_URL_LAMBDA=" + tr.url} }

// observe starts a token function's runtime once Cognito may invoke it,
// and stops it when the function is deleted.
func (tr *tokenRuntimes) observe(resp *http.Response) error {
	if resp.StatusCode/100 != 2 {
		return nil
	}
	rest, ok := strings.CutPrefix(resp.Request.URL.Path, "/2015-03-31/functions/")
	if !ok {
		return nil
	}
	name, sub, _ := strings.Cut(rest, "/")
	if !strings.HasPrefix(name, "poolmigrate-tokenmint-") {
		return nil
	}
	switch {
	case resp.Request.Method == http.MethodPost && sub == "policy":
		if err := tr.start(resp.Request.Context(), name); err != nil {
			return fmt.Errorf("demo: run the token function %s: %w", name, err)
		}
	case resp.Request.Method == http.MethodDelete && sub == "":
		tr.stopOne(name)
	}
	return nil
}

func (tr *tokenRuntimes) start(ctx context.Context, name string) error {
	fn, err := tr.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		return err
	}
	tr.stopOne(name)
	ln1, ln2 := freePort(), freePort()
	cmd := exec.Command(tr.rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", ln1), "--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", ln2), tr.bootstrap)
	cmd.Env = append(os.Environ(), "AWS_REGION=us-east-1")
	if e := fn.Configuration.Environment; e != nil {
		for k, v := range e.Variables {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Stdout, cmd.Stderr = tr.logs, tr.logs
	dieWithDemo(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	rt := &tokenRuntime{cmd: cmd}
	tr.mu.Lock()
	tr.running[name] = rt
	tr.mu.Unlock()
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", ln1)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r, err := http.Get(endpoint + "/"); err == nil {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the emulator did not answer on %s", endpoint)
		}
	}
	rie, err := url.Parse(endpoint)
	if err != nil {
		return err
	}
	if rt.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return err
	}
	var turn sync.Mutex
	forward := httputil.NewSingleHostReverseProxy(rie)
	go func() {
		_ = http.Serve(rt.ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			turn.Lock()
			defer turn.Unlock()
			forward.ServeHTTP(w, r)
		}))
	}()
	body, _ := json.Marshal(map[string]string{"function": name, "endpoint": "http://" + rt.ln.Addr().String()})
	r, err := http.Post(tr.shim+"/_testbed/lambda/runtime", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNoContent {
		return fmt.Errorf("register its runtime with the shim: HTTP %d", r.StatusCode)
	}
	return nil
}

func (tr *tokenRuntimes) stopOne(name string) {
	tr.mu.Lock()
	rt := tr.running[name]
	delete(tr.running, name)
	tr.mu.Unlock()
	if rt != nil {
		if rt.ln != nil {
			rt.ln.Close()
		}
		_ = rt.cmd.Process.Kill()
		_ = rt.cmd.Wait()
	}
}

// stop stops every runtime still running.
func (tr *tokenRuntimes) stop() {
	tr.mu.Lock()
	names := make([]string, 0, len(tr.running))
	for n := range tr.running {
		names = append(names, n)
	}
	tr.mu.Unlock()
	for _, n := range names {
		tr.stopOne(n)
	}
	tr.logs.Close()
}
