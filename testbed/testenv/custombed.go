package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
)

// CustomAuthBed is a Cognito shim of a test's own, in front of the test
// bed's cognito-local, that runs the custom authentication flow: it signs
// tokens with cognito-local's key (so they verify against the pool's JWKS)
// and invokes the pool's auth-challenge triggers under the Lambda Runtime
// Interface Emulator (RunFunction). Its clock is the test's (Clock.Add
// moves it; Lambda's own delays are off).
type CustomAuthBed struct {
	Shim    *cognitoshim.Server
	URL     string
	Config  aws.Config
	Cognito *cip.Client
	Lambda  *lambda.Client
	IAM     *iam.Client
	Clock   *Clock
	// Local is cognito-local's endpoint (its JWKS:
	// Local/<pool>/.well-known/jwks.json).
	Local string
}

// Clock is a test's clock, starting at the real time.
type Clock struct {
	mu  sync.Mutex
	off time.Duration
}

// Now is the real time moved by Add.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// Add moves the clock.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// CognitoLocalTokenKey is the key file cognito-local signs its tokens with.
func CognitoLocalTokenKey(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "testbed", "emulators", "node_modules", "cognito-local", "lib", "keys", "cognitoLocal.private.json"))
	if err != nil {
		Skip(t, "cognito-local is not installed: run testbed/testbed.sh up")
	}
	return data
}

// CustomAuthBed starts the test's shim.
func (e *Env) CustomAuthBed(t *testing.T) *CustomAuthBed {
	t.Helper()
	b := &CustomAuthBed{Clock: &Clock{}, Local: e.LocalEndpoint}
	b.Shim = cognitoshim.New(e.LocalEndpoint, cognitoshim.WithTokenKey(CognitoLocalTokenKey(t)), cognitoshim.WithLogger(t.Logf),
		cognitoshim.WithClock(b.Clock.Now), cognitoshim.WithLambdaTiming(cognitoshim.LambdaTiming{}))
	srv := httptest.NewServer(b.Shim)
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	if err != nil {
		t.Fatal(err)
	}
	b.Config = cfg
	b.Cognito = cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(srv.URL); o.Retryer = PatientRetryer() })
	b.Lambda = lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	b.IAM = iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return b
}

// RunFunction runs the shim's Lambda function name under the emulator: its
// code the bootstrap built for this machine, its environment the one the
// function was given (read back through the shim's Lambda API). It returns
// the function's output.
func (b *CustomAuthBed) RunFunction(t *testing.T, rie, name, bootstrap string) func() string {
	t.Helper()
	url, logs := StartRuntime(t, b.Lambda, rie, name, bootstrap)
	b.Shim.RunFunction(name, url)
	return logs
}

// RunSharedFunction is RunFunction for the test bed's own shim (the one
// testbed.sh started), which learns where the code runs over HTTP.
func (e *Env) RunSharedFunction(t *testing.T, rie, name, bootstrap string) func() string {
	t.Helper()
	l := lambda.NewFromConfig(e.Config)
	url, logs := StartRuntime(t, l, rie, name, bootstrap)
	shim := os.Getenv("AWS_ENDPOINT_URL_LAMBDA")
	body, _ := json.Marshal(map[string]string{"function": name, "endpoint": url})
	resp, err := http.Post(shim+"/_testbed/lambda/runtime", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("register the runtime of %s with the shim: HTTP %d", name, resp.StatusCode)
	}
	return logs
}

// StartRuntime runs function name (as l reports it) under the emulator
// until the test ends; it returns the emulator's endpoint and the
// function's output.
func StartRuntime(t *testing.T, l *lambda.Client, rie, name, bootstrap string) (string, func() string) {
	t.Helper()
	fn, err := l.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("function %s: %v", name, err)
	}
	riePort, apiPort := FreePort(t), FreePort(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", riePort),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), bootstrap)
	cmd.Env = append(os.Environ(), "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local")
	if env := fn.Configuration.Environment; env != nil {
		for k, v := range env.Variables {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d", riePort)
	WaitHTTP(t, url+"/", 20*time.Second, logs.String)
	return url, logs.String
}
