package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
)

// TriggerBed is a Cognito of a test's own where users sign in through the
// user migration trigger, run for real: a cognito-local whose
// UserMigration trigger is the AWS Lambda Runtime Interface Emulator
// (cognito-local's triggers apply to all its pools, so the shared one
// cannot have it), behind a Cognito shim in this process. Until the test
// ends the environment's Cognito, Lambda, IAM, STS, CloudFormation and
// CloudWatch Logs endpoints point at that shim, so the commands a test
// runs (and PlantStack) reach it; DynamoDB stays the test bed's.
//
// cognito-local creates the user a trigger brings over without a sub,
// which AWS gives every user: between cognito-local and the emulator a
// proxy adds a fresh sub to the trigger's answer, as AWS assigns one.
type TriggerBed struct {
	*Env // Cognito: the shim; Local: the cognito-local behind it
	// Shim is the shim's endpoint.
	Shim             string
	rie              string
	riePort, apiPort int
}

// TriggerBed starts the test's own Cognito. rie is the emulator's binary
// (POOLMIGRATE_TESTBED_RIE).
func (e *Env) TriggerBed(t *testing.T, rie string) *TriggerBed {
	t.Helper()
	b := &TriggerBed{rie: rie, riePort: FreePort(t), apiPort: FreePort(t)}
	lambdaURL := serve(t, AssignSub(fmt.Sprintf("http://127.0.0.1:%d", b.riePort)))
	local := StartCognitoLocal(t, map[string]any{
		"TriggerFunctions": map[string]string{"UserMigration": "function"},
		"LambdaClient": map[string]any{"endpoint": lambdaURL, "region": "us-east-1",
			"credentials": map[string]string{"accessKeyId": "local", "secretAccessKey": "local"}},
	}, nil)
	b.Shim = serve(t, cognitoshim.New(local, cognitoshim.WithLogger(t.Logf)))
	for _, v := range []string{"COGNITO_IDENTITY_PROVIDER", "LAMBDA", "IAM", "STS", "CLOUDFORMATION", "CLOUDWATCH_LOGS"} {
		t.Setenv("AWS_ENDPOINT_URL_"+v, b.Shim)
	}
	cfg, err := config.LoadDefaultConfig(context.Background()) // the endpoints just set
	if err != nil {
		t.Fatal(err)
	}
	b.Env = &Env{
		Config:        cfg,
		Cognito:       cip.NewFromConfig(cfg),
		Local:         cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(local) }),
		LocalEndpoint: local,
		Dynamo:        e.Dynamo,
	}
	return b
}

// StartTrigger runs the trigger as it is deployed for pool: the function
// its LambdaConfig.UserMigration names, with the environment `trigger
// deploy` gave it (read back through the shim's Lambda API), its code the
// bootstrap built for this machine. It returns the emulator's log (the
// trigger's own lines included).
func (b *TriggerBed) StartTrigger(t *testing.T, pool, bootstrap string) func() string {
	t.Helper()
	ctx := context.Background()
	desc, err := b.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		t.Fatal(err)
	}
	var arn string
	if lc := desc.UserPool.LambdaConfig; lc != nil {
		arn = aws.ToString(lc.UserMigration)
	}
	_, name, ok := strings.Cut(arn, ":function:")
	if !ok {
		t.Fatalf("pool %s has no UserMigration trigger (LambdaConfig.UserMigration %q)", pool, arn)
	}
	return b.StartFunction(t, name, bootstrap)
}

// StartFunction runs the deployed function name (its environment read back
// through the shim's Lambda API) as the pool's user migration trigger, its
// code the bootstrap built for this machine. It returns the emulator's log.
func (b *TriggerBed) StartFunction(t *testing.T, name, bootstrap string) func() string {
	t.Helper()
	ctx := context.Background()
	fn, err := lambda.NewFromConfig(b.Config).GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("the deployed trigger %s: %v", name, err)
	}
	cmd := exec.Command(b.rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", b.riePort),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", b.apiPort), bootstrap)
	// The trigger reaches Cognito as in AWS, through the API (here the shim).
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
	WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", b.riePort), 20*time.Second, logs.String)
	return logs.String
}

// serve serves h on a loopback port until the test ends.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// AssignSub forwards cognito-local's Lambda invocations to the emulator at
// target and gives the user a migration trigger's answer creates a fresh
// sub (any the trigger sent is replaced: AWS assigns it). cognito-local
// creates that user without one, which AWS never does.
func AssignSub(target string) http.Handler {
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	// An emulator not yet up answers 502, which cognito-local retries.
	p.ErrorLog = log.New(io.Discard, "", 0)
	p.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var ev map[string]any
		if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Amz-Function-Error") == "" && json.Unmarshal(body, &ev) == nil {
			if r, ok := ev["response"].(map[string]any); ok {
				if attrs, ok := r["userAttributes"].(map[string]any); ok {
					attrs["sub"] = newUUID()
					body, _ = json.Marshal(ev)
				}
			}
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	// The emulator stands for one execution environment, which takes one
	// invocation at a time (a second at once makes it panic or drop the
	// connection); AWS would run it in another environment.
	var env sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.Lock()
		defer env.Unlock()
		p.ServeHTTP(w, r)
	})
}

// newUUID is a random (version 4) UUID, the form of Cognito's subs.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// syncBuffer is a log two processes' pipes write while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
