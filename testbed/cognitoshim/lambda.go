package cognitoshim

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// The shim answers the Lambda calls that deploy the user migration
// trigger (point AWS_ENDPOINT_URL_LAMBDA at it): GetFunction,
// CreateFunction, UpdateFunctionCode, UpdateFunctionConfiguration,
// DeleteFunction, AddPermission, GetPolicy, RemovePermission. It keeps the
// functions but runs none (the trigger's code runs under the Lambda
// Runtime Interface Emulator instead). It refuses what Lambda refuses: a
// role it cannot assume (one the shim's IAM did not create, not trusting
// lambda.amazonaws.com, or created too recently: IAM takes a moment to
// let Lambda assume a new role), a provided.* runtime whose zip has no
// executable bootstrap, a timeout or memory size out of range, a tag key
// starting with aws:, a duplicate statement id, a Cognito permission whose
// source is not a user pool ARN, and a code or configuration update while
// the function is still Pending after its creation or another update is
// InProgress (ResourceConflictException), as Lambda does; the timing is
// LambdaTiming, set by tests through lambdaControlPath.

const lambdaPrefix = "/2015-03-31/functions"

// lambdaControlPath: GET answers {"timing": LambdaTiming, "events": {function
// name: LambdaEvents}}; POST a LambdaTiming sets the timing.
const lambdaControlPath = "/_testbed/lambda"

// LambdaTiming is how long the shim's Lambda takes over what AWS does
// asynchronously. Short, so tests stay quick, but long enough that a
// deploy which neither waits nor retries fails.
type LambdaTiming struct {
	CreatePendingMS    int `json:"createPendingMs"`    // State Pending after CreateFunction
	UpdateInProgressMS int `json:"updateInProgressMs"` // LastUpdateStatus InProgress after an update
	RoleDelayMS        int `json:"roleDelayMs"`        // Lambda cannot assume a role this long after CreateRole
}

// DefaultLambdaTiming is the shim's timing until a test sets another.
var DefaultLambdaTiming = LambdaTiming{CreatePendingMS: 1000, UpdateInProgressMS: 1000, RoleDelayMS: 1000}

// LambdaEvents counts, per function name, what the shim's Lambda made a
// client ride out.
type LambdaEvents struct {
	Pending      int `json:"pending"`      // GetFunction answered State Pending
	InProgress   int `json:"inProgress"`   // GetFunction answered LastUpdateStatus InProgress
	Conflicts    int `json:"conflicts"`    // updates refused with ResourceConflictException
	RoleRefusals int `json:"roleRefusals"` // the role could not be assumed (yet)
}

// WithLambdaTiming sets the Lambda's timing (DefaultLambdaTiming otherwise).
func WithLambdaTiming(t LambdaTiming) Option { return func(s *Server) { s.lambdaTiming = t } }

type lambdaFunction struct {
	Config        map[string]any
	Tags          map[string]string
	Policy        []map[string]any
	pendingUntil  time.Time // State Pending until then
	updatingUntil time.Time // LastUpdateStatus InProgress until then
}

var functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)

func lambdaError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}

func (s *Server) serveLambda(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, lambdaPrefix), "/")
	parts := strings.Split(rest, "/")
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	if len(body) > 0 && json.Unmarshal(body, &in) != nil {
		lambdaError(w, 400, "InvalidRequestContentException", "Could not parse request body into json.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.functions == nil {
		s.functions = map[string]*lambdaFunction{}
	}
	if rest == "" && r.Method == http.MethodPost {
		s.createFunction(w, in)
		return
	}
	f, ok := s.functions[parts[0]]
	if !ok {
		lambdaError(w, 404, "ResourceNotFoundException", "Function not found: "+s.functionArn(parts[0]))
		return
	}
	s.refresh(f)
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		ev := s.events(parts[0])
		if f.Config["State"] == "Pending" {
			ev.Pending++
		}
		if f.Config["LastUpdateStatus"] == "InProgress" {
			ev.InProgress++
		}
		out := map[string]any{"Configuration": f.Config, "Code": map[string]any{"RepositoryType": "S3"}}
		if len(f.Tags) > 0 {
			out["Tags"] = f.Tags
		}
		writeLambdaJSON(w, 200, out)
	case len(parts) == 1 && r.Method == http.MethodDelete:
		delete(s.functions, parts[0])
		w.WriteHeader(204)
	case len(parts) == 2 && parts[1] == "code" && r.Method == http.MethodPut:
		if s.busy(w, parts[0], f) {
			return
		}
		sum, msg := checkZip(in, f.Config["Runtime"])
		if msg != "" {
			lambdaError(w, 400, "InvalidParameterValueException", msg)
			return
		}
		f.Config["CodeSha256"] = sum
		if a, ok := in["Architectures"]; ok {
			f.Config["Architectures"] = a
		}
		s.startUpdate(f)
		writeLambdaJSON(w, 200, f.Config)
	case len(parts) == 2 && parts[1] == "configuration" && r.Method == http.MethodPut:
		if s.busy(w, parts[0], f) {
			return
		}
		if role, ok := in["Role"].(string); ok {
			if msg := s.lambdaRoleProblem(role, parts[0]); msg != "" {
				lambdaError(w, 400, "InvalidParameterValueException", msg)
				return
			}
		}
		if msg := checkSettings(in); msg != "" {
			lambdaError(w, 400, "InvalidParameterValueException", msg)
			return
		}
		layers, msg := checkLayers(in)
		if msg != "" {
			lambdaError(w, 400, "InvalidParameterValueException", msg)
			return
		}
		for _, k := range []string{"Role", "Environment", "Timeout", "MemorySize", "Handler", "Runtime", "Description"} {
			if v, ok := in[k]; ok {
				f.Config[k] = v
			}
		}
		if _, ok := in["Layers"]; ok { // an empty list takes every layer off
			delete(f.Config, "Layers")
			if len(layers) > 0 {
				f.Config["Layers"] = layers
			}
		}
		s.startUpdate(f)
		writeLambdaJSON(w, 200, f.Config)
	case len(parts) >= 2 && parts[1] == "policy":
		s.functionPolicy(w, r, parts, in)
	default:
		lambdaError(w, 400, "InvalidRequestContentException", "the test bed's Lambda answers only the calls that deploy a trigger")
	}
}

func (s *Server) events(fn string) *LambdaEvents {
	if s.lambdaEvents == nil {
		s.lambdaEvents = map[string]*LambdaEvents{}
	}
	ev, ok := s.lambdaEvents[fn]
	if !ok {
		ev = &LambdaEvents{}
		s.lambdaEvents[fn] = ev
	}
	return ev
}

// refresh brings a function's State and LastUpdateStatus to the present.
func (s *Server) refresh(f *lambdaFunction) {
	now := s.now()
	if f.Config["State"] == "Pending" && !now.Before(f.pendingUntil) {
		f.Config["State"], f.Config["LastUpdateStatus"] = "Active", "Successful"
		delete(f.Config, "StateReason")
		delete(f.Config, "StateReasonCode")
	}
	if f.Config["LastUpdateStatus"] == "InProgress" && f.Config["State"] != "Pending" && !now.Before(f.updatingUntil) {
		f.Config["LastUpdateStatus"] = "Successful"
		delete(f.Config, "LastUpdateStatusReason")
		delete(f.Config, "LastUpdateStatusReasonCode")
	}
}

// busy refuses an update while the function is being created or updated,
// with Lambda's ResourceConflictException and its words.
func (s *Server) busy(w http.ResponseWriter, fn string, f *lambdaFunction) bool {
	msg := ""
	switch {
	case f.Config["State"] == "Pending":
		msg = "The operation cannot be performed at this time. The function is currently in the following state: Pending"
	case f.Config["LastUpdateStatus"] == "InProgress":
		msg = "The operation cannot be performed at this time. An update is in progress for resource: " + s.functionArn(fn)
	default:
		return false
	}
	s.events(fn).Conflicts++
	lambdaError(w, 409, "ResourceConflictException", msg)
	return true
}

func (s *Server) startUpdate(f *lambdaFunction) {
	f.updatingUntil = s.now().Add(time.Duration(s.lambdaTiming.UpdateInProgressMS) * time.Millisecond)
	f.Config["LastUpdateStatus"] = "InProgress"
	f.Config["LastUpdateStatusReason"] = "The function is being updated."
	f.Config["LastUpdateStatusReasonCode"] = "Updating"
	f.Config["LastModified"] = s.now().UTC().Format("2006-01-02T15:04:05.000-0700")
	s.refresh(f)
}

func (s *Server) functionArn(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.region(), TestbedAccount, name)
}

func (s *Server) region() string { return "us-east-1" }

func (s *Server) createFunction(w http.ResponseWriter, in map[string]any) {
	name, _ := in["FunctionName"].(string)
	if !functionNameRE.MatchString(name) {
		lambdaError(w, 400, "InvalidParameterValueException", "1 validation error detected: Value at 'functionName' failed to satisfy constraint")
		return
	}
	if _, ok := s.functions[name]; ok {
		lambdaError(w, 409, "ResourceConflictException", "Function already exist: "+name)
		return
	}
	runtime, _ := in["Runtime"].(string)
	handler, _ := in["Handler"].(string)
	role, _ := in["Role"].(string)
	if runtime == "" || handler == "" {
		lambdaError(w, 400, "InvalidParameterValueException", "Runtime and Handler are required for a .zip deployment package.")
		return
	}
	if msg := checkSettings(in); msg != "" {
		lambdaError(w, 400, "InvalidParameterValueException", msg)
		return
	}
	tags := map[string]string{}
	if t, ok := in["Tags"].(map[string]any); ok {
		for k, v := range t {
			sv, _ := v.(string)
			if strings.HasPrefix(strings.ToLower(k), "aws:") || !tagKeyRE.MatchString(k) || !tagValueRE.MatchString(sv) {
				lambdaError(w, 400, "InvalidParameterValueException", fmt.Sprintf("Tag %q is not valid: the aws: prefix is reserved; keys are 1-128, values 0-256 characters", k))
				return
			}
			tags[k] = sv
		}
	}
	if msg := s.lambdaRoleProblem(role, name); msg != "" {
		lambdaError(w, 400, "InvalidParameterValueException", msg)
		return
	}
	sum, msg := checkZip(in["Code"], runtime)
	if msg != "" {
		lambdaError(w, 400, "InvalidParameterValueException", msg)
		return
	}
	layers, msg := checkLayers(in)
	if msg != "" {
		lambdaError(w, 400, "InvalidParameterValueException", msg)
		return
	}
	cfg := map[string]any{
		"FunctionName": name, "FunctionArn": s.functionArn(name), "Runtime": runtime, "Handler": handler, "Role": role,
		// LastUpdateStatus is "first set to Successful after function
		// creation completes" (Lambda's API reference).
		"CodeSha256": sum, "State": "Pending", "StateReason": "The function is being created.", "StateReasonCode": "Creating", "PackageType": "Zip",
		"Architectures": []string{"x86_64"}, "Timeout": 3, "MemorySize": 128,
	}
	for _, k := range []string{"Architectures", "Environment", "Timeout", "MemorySize", "Description"} {
		if v, ok := in[k]; ok {
			cfg[k] = v
		}
	}
	if len(layers) > 0 {
		cfg["Layers"] = layers
	}
	f := &lambdaFunction{Config: cfg, Tags: tags, pendingUntil: s.now().Add(time.Duration(s.lambdaTiming.CreatePendingMS) * time.Millisecond)}
	s.functions[name] = f
	s.refresh(f)
	writeLambdaJSON(w, 201, cfg)
}

var layerVersionArnRE = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+$`)

// checkLayers reads a request's Layers (version ARNs, at most five) as
// the function's configuration reports them.
func checkLayers(in map[string]any) ([]map[string]any, string) {
	list, _ := in["Layers"].([]any)
	if len(list) > 5 {
		return nil, "1 validation error detected: Value at 'layers' failed to satisfy constraint: Member must have length less than or equal to 5"
	}
	var out []map[string]any
	for _, v := range list {
		arn, _ := v.(string)
		if !layerVersionArnRE.MatchString(arn) {
			return nil, "1 validation error detected: Value at 'layers' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular expression pattern: " + layerVersionArnRE.String() + "]"
		}
		out = append(out, map[string]any{"Arn": arn, "CodeSize": 0})
	}
	return out, ""
}

// checkSettings: Lambda's ranges for a function's timeout (1-900 s) and
// memory (128-10,240 MB).
func checkSettings(in map[string]any) string {
	if v, ok := in["Timeout"].(float64); ok && (v < 1 || v > 900) {
		return "1 validation error detected: Value at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900"
	}
	if v, ok := in["MemorySize"].(float64); ok && (v < 128 || v > 10240) {
		return "1 validation error detected: Value at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240"
	}
	return ""
}

// lambdaRoleProblem: Lambda assumes the role, which must be one the shim's
// IAM created, trust lambda.amazonaws.com, and be old enough for IAM to
// have made it usable. s.mu is held.
func (s *Server) lambdaRoleProblem(arn, fn string) string {
	role, ok := s.roleByArn(arn)
	if !ok || !trusts(role.Trust, "lambda.amazonaws.com") || s.now().Before(role.Created.Add(time.Duration(s.lambdaTiming.RoleDelayMS)*time.Millisecond)) {
		s.events(fn).RoleRefusals++
		return "The role defined for the function cannot be assumed by Lambda."
	}
	return ""
}

// serveLambdaControl lets tests read what the Lambda made clients ride out
// and set its timing.
func (s *Server) serveLambdaControl(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		writeLambdaJSON(w, 200, map[string]any{"timing": s.lambdaTiming, "events": s.lambdaEvents})
	case http.MethodPost:
		var t LambdaTiming
		if err := json.NewDecoder(r.Body).Decode(&t); err != nil || t.CreatePendingMS < 0 || t.UpdateInProgressMS < 0 || t.RoleDelayMS < 0 {
			http.Error(w, `POST {"createPendingMs", "updateInProgressMs", "roleDelayMs"}`, http.StatusBadRequest)
			return
		}
		s.lambdaTiming = t
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
	}
}

// checkZip reads a Code object's (or a code update's) ZipFile: a valid
// zip, and for provided.* runtimes an executable bootstrap at its root.
func checkZip(code any, runtime any) (string, string) {
	c, _ := code.(map[string]any)
	b64, _ := c["ZipFile"].(string)
	if b64 == "" {
		return "", "the test bed takes code as ZipFile only"
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", "Could not unzip uploaded file. Please check your file, then try to upload again."
	}
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", "Could not unzip uploaded file. Please check your file, then try to upload again."
	}
	if rt, _ := runtime.(string); strings.HasPrefix(rt, "provided") {
		ok := false
		for _, f := range z.File {
			ok = ok || (f.Name == "bootstrap" && f.Mode().Perm()&0o111 != 0)
		}
		if !ok {
			return "", "the deployment package of a provided runtime needs an executable file named bootstrap at its root"
		}
	}
	sum := sha256.Sum256(data)
	return base64.StdEncoding.EncodeToString(sum[:]), ""
}

var accountIDRE = regexp.MustCompile(`^\d{12}$`)

var userPoolArnRE = regexp.MustCompile(`^arn:aws:cognito-idp:[a-z0-9-]+:\d{12}:userpool/[\w-]+_[0-9a-zA-Z]+$`)

func (s *Server) functionPolicy(w http.ResponseWriter, r *http.Request, parts []string, in map[string]any) {
	f, ok := s.functions[parts[0]]
	if !ok {
		lambdaError(w, 404, "ResourceNotFoundException", "Function not found: "+s.functionArn(parts[0]))
		return
	}
	switch {
	case len(parts) == 2 && r.Method == http.MethodPost:
		sid, _ := in["StatementId"].(string)
		for _, st := range f.Policy {
			if st["Sid"] == sid {
				lambdaError(w, 409, "ResourceConflictException", "The statement id ("+sid+") provided already exists. Please provide a new statement id, or remove the existing statement.")
				return
			}
		}
		principal, _ := in["Principal"].(string)
		source, _ := in["SourceArn"].(string)
		if in["Action"] != "lambda:InvokeFunction" {
			lambdaError(w, 400, "InvalidParameterValueException", "the test bed grants lambda:InvokeFunction only")
			return
		}
		if principal == "cognito-idp.amazonaws.com" && !userPoolArnRE.MatchString(source) {
			lambdaError(w, 400, "InvalidParameterValueException", "SourceArn must be a Cognito user pool ARN for principal cognito-idp.amazonaws.com")
			return
		}
		// The principal as Lambda writes it: a service, everyone, or an
		// account (its root) or ARN.
		var who any = map[string]string{"Service": principal}
		switch {
		case principal == "*":
			who = "*"
		case accountIDRE.MatchString(principal):
			who = map[string]string{"AWS": "arn:aws:iam::" + principal + ":root"}
		case strings.HasPrefix(principal, "arn:"):
			who = map[string]string{"AWS": principal}
		case !strings.HasSuffix(principal, ".amazonaws.com"):
			lambdaError(w, 400, "InvalidParameterValueException", "The provided principal was invalid. Please check the principal and try again.")
			return
		}
		cond := map[string]any{}
		if source != "" {
			cond["ArnLike"] = map[string]string{"AWS:SourceArn": source}
		}
		if acct, _ := in["SourceAccount"].(string); acct != "" {
			cond["StringEquals"] = map[string]string{"AWS:SourceAccount": acct}
		}
		st := map[string]any{"Sid": sid, "Effect": "Allow", "Principal": who, "Action": "lambda:InvokeFunction", "Resource": f.Config["FunctionArn"]}
		if len(cond) > 0 {
			st["Condition"] = cond
		}
		f.Policy = append(f.Policy, st)
		data, _ := json.Marshal(st)
		writeLambdaJSON(w, 201, map[string]string{"Statement": string(data)})
	case len(parts) == 2 && r.Method == http.MethodGet:
		if len(f.Policy) == 0 {
			lambdaError(w, 404, "ResourceNotFoundException", "The resource you requested does not exist.")
			return
		}
		data, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": f.Policy})
		writeLambdaJSON(w, 200, map[string]string{"Policy": string(data), "RevisionId": "1"})
	case len(parts) == 3 && r.Method == http.MethodDelete:
		for i, st := range f.Policy {
			if st["Sid"] == parts[2] {
				f.Policy = append(f.Policy[:i], f.Policy[i+1:]...)
				w.WriteHeader(204)
				return
			}
		}
		lambdaError(w, 404, "ResourceNotFoundException", "Statement "+parts[2]+" is not found in resource policy.")
	default:
		lambdaError(w, 400, "InvalidRequestContentException", "unsupported policy call")
	}
}

func writeLambdaJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
