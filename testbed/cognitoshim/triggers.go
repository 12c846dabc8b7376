package cognitoshim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// How the shim runs a pool's Lambda triggers, as Cognito invokes them
// (customauth.go says which and when): the function's code runs in a
// Lambda Runtime Interface Emulator a test registered (RunFunction), and
// only if the shim's Lambda holds the function with a policy that lets
// Cognito invoke it for the pool.

// RunFunction says where the code of the shim's Lambda function name runs:
// a Lambda Runtime Interface Emulator at endpoint (http://127.0.0.1:PORT).
func (s *Server) RunFunction(name, endpoint string) {
	s.custom.mu.Lock()
	defer s.custom.mu.Unlock()
	if s.custom.runtimes == nil {
		s.custom.runtimes = map[string]string{}
	}
	s.custom.runtimes[name] = strings.TrimRight(endpoint, "/") + "/2015-03-31/functions/function/invocations"
}

// lambdaRuntimePath: POST {"function": NAME, "endpoint": "http://127.0.0.1:PORT"}
// says where function NAME's code runs (RunFunction), for processes that
// share the test bed's shim (the demo).
const lambdaRuntimePath = "/_testbed/lambda/runtime"

func (s *Server) serveLambdaRuntime(w http.ResponseWriter, r *http.Request) {
	var in struct{ Function, Endpoint string }
	if r.Method != http.MethodPost || json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in) != nil || !functionNameRE.MatchString(in.Function) {
		http.Error(w, `POST {"function": NAME, "endpoint": "http://127.0.0.1:PORT"}`, http.StatusBadRequest)
		return
	}
	u, err := url.Parse(in.Endpoint)
	if err != nil || u.Scheme != "http" || net.ParseIP(u.Hostname()) == nil || !net.ParseIP(u.Hostname()).IsLoopback() {
		http.Error(w, "the endpoint must be http on a loopback address", http.StatusBadRequest)
		return
	}
	s.RunFunction(in.Function, in.Endpoint)
	w.WriteHeader(http.StatusNoContent)
}

// invokeTrigger runs a trigger as Cognito does and decodes its response.
// The event's triggerSource is trigger_Authentication.
func (s *Server) invokeTrigger(ctx context.Context, arn, trigger, pool, clientID, username string, request map[string]any, response any) *apiError {
	return s.invokeAs(ctx, arn, trigger, trigger+"_Authentication", pool, clientID, username, request, response)
}

// invokeAs is invokeTrigger with the event's triggerSource given.
func (s *Server) invokeAs(ctx context.Context, arn, trigger, source, pool, clientID, username string, request map[string]any, response any) *apiError {
	_, name, ok := strings.Cut(arn, ":function:")
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	if !ok || name == "" {
		return errOf("UnexpectedLambdaException", "%s trigger %q is not a Lambda function ARN", trigger, arn)
	}
	if why := s.mayInvoke(name, pool); why != "" {
		return errOf("UnexpectedLambdaException", "Cognito cannot invoke the %s trigger %s: %s", trigger, arn, why)
	}
	s.custom.mu.Lock()
	url := s.custom.runtimes[name]
	env := s.custom.envs[url]
	if env == nil && url != "" {
		if s.custom.envs == nil {
			s.custom.envs = map[string]*sync.Mutex{}
		}
		env = &sync.Mutex{}
		s.custom.envs[url] = env
	}
	s.custom.mu.Unlock()
	if url == "" {
		return errOf("UnexpectedLambdaException", "the test bed runs no code for function %s (register its runtime with Server.RunFunction)", name)
	}
	env.Lock()
	defer env.Unlock()
	ev := map[string]any{"version": "1", "region": s.region(), "userPoolId": pool, "userName": username,
		"callerContext": map[string]string{"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": clientID},
		"triggerSource": source, "request": request, "response": map[string]any{}}
	body, _ := json.Marshal(ev)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second) // Cognito waits 5 seconds for a trigger
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return errInternal("invoke %s: %v", name, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return errOf("UnexpectedLambdaException", "%s trigger %s did not answer: %v", trigger, name, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		Response     json.RawMessage `json:"response"`
		ErrorMessage string          `json:"errorMessage"`
		ErrorType    string          `json:"errorType"`
	}
	if json.Unmarshal(data, &out) != nil || resp.StatusCode != http.StatusOK {
		return errOf("InvalidLambdaResponseException", "Invalid lambda response from %s (HTTP %d)", trigger, resp.StatusCode)
	}
	if out.ErrorMessage != "" || out.ErrorType != "" || resp.Header.Get("X-Amz-Function-Error") != "" {
		return errOf("UserLambdaValidationException", "%s failed with error %s.", trigger, out.ErrorMessage)
	}
	if len(out.Response) == 0 || json.Unmarshal(out.Response, response) != nil {
		return errOf("InvalidLambdaResponseException", "Invalid lambda response from %s", trigger)
	}
	return nil
}

// mayInvoke says why Cognito may not invoke function name for pool: the
// shim's Lambda must hold it and its policy let cognito-idp.amazonaws.com
// invoke it with the pool as the source ("" when it may).
func (s *Server) mayInvoke(name, pool string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.functions[name]
	if !ok {
		return "no such function"
	}
	for _, st := range f.Policy {
		who, _ := st["Principal"].(map[string]string)
		cond, _ := st["Condition"].(map[string]any)
		like, _ := cond["ArnLike"].(map[string]string)
		if st["Effect"] == "Allow" && who["Service"] == "cognito-idp.amazonaws.com" && strings.HasSuffix(like["AWS:SourceArn"], ":userpool/"+pool) {
			return ""
		}
	}
	return "its resource policy does not let cognito-idp.amazonaws.com invoke it for this pool"
}
