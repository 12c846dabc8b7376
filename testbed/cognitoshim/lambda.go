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
)

// The shim answers the Lambda calls that deploy the user migration
// trigger (point AWS_ENDPOINT_URL_LAMBDA at it): GetFunction,
// CreateFunction, UpdateFunctionCode, UpdateFunctionConfiguration,
// DeleteFunction, AddPermission, GetPolicy, RemovePermission. It keeps the
// functions but runs none (the trigger's code runs under the Lambda
// Runtime Interface Emulator instead). It refuses what Lambda refuses: a
// role it cannot assume (not trusting lambda.amazonaws.com), a
// provided.* runtime whose zip has no executable bootstrap, a duplicate
// statement id, a Cognito permission whose source is not a user pool ARN.

const lambdaPrefix = "/2015-03-31/functions"

type lambdaFunction struct {
	Config map[string]any
	Policy []map[string]any
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
	switch {
	case rest == "" && r.Method == http.MethodPost:
		s.createFunction(w, in)
	case len(parts) == 1 && r.Method == http.MethodGet:
		f, ok := s.functions[parts[0]]
		if !ok {
			lambdaError(w, 404, "ResourceNotFoundException", "Function not found: "+s.functionArn(parts[0]))
			return
		}
		writeLambdaJSON(w, 200, map[string]any{"Configuration": f.Config, "Code": map[string]any{"RepositoryType": "S3"}})
	case len(parts) == 1 && r.Method == http.MethodDelete:
		if _, ok := s.functions[parts[0]]; !ok {
			lambdaError(w, 404, "ResourceNotFoundException", "Function not found: "+s.functionArn(parts[0]))
			return
		}
		delete(s.functions, parts[0])
		w.WriteHeader(204)
	case len(parts) == 2 && parts[1] == "code" && r.Method == http.MethodPut:
		f, ok := s.functions[parts[0]]
		if !ok {
			lambdaError(w, 404, "ResourceNotFoundException", "Function not found: "+s.functionArn(parts[0]))
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
		writeLambdaJSON(w, 200, f.Config)
	case len(parts) == 2 && parts[1] == "configuration" && r.Method == http.MethodPut:
		f, ok := s.functions[parts[0]]
		if !ok {
			lambdaError(w, 404, "ResourceNotFoundException", "Function not found: "+s.functionArn(parts[0]))
			return
		}
		if role, ok := in["Role"].(string); ok {
			if msg := s.lambdaRoleProblem(role); msg != "" {
				lambdaError(w, 400, "InvalidParameterValueException", msg)
				return
			}
		}
		for _, k := range []string{"Role", "Environment", "Timeout", "MemorySize", "Handler", "Runtime"} {
			if v, ok := in[k]; ok {
				f.Config[k] = v
			}
		}
		writeLambdaJSON(w, 200, f.Config)
	case len(parts) >= 2 && parts[1] == "policy":
		s.functionPolicy(w, r, parts, in)
	default:
		lambdaError(w, 400, "InvalidRequestContentException", "the test bed's Lambda answers only the calls that deploy a trigger")
	}
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
	if msg := s.lambdaRoleProblem(role); msg != "" {
		lambdaError(w, 400, "InvalidParameterValueException", msg)
		return
	}
	sum, msg := checkZip(in["Code"], runtime)
	if msg != "" {
		lambdaError(w, 400, "InvalidParameterValueException", msg)
		return
	}
	cfg := map[string]any{
		"FunctionName": name, "FunctionArn": s.functionArn(name), "Runtime": runtime, "Handler": handler, "Role": role,
		"CodeSha256": sum, "State": "Active", "LastUpdateStatus": "Successful", "PackageType": "Zip",
		"Architectures": []string{"x86_64"}, "Timeout": 3, "MemorySize": 128,
	}
	for _, k := range []string{"Architectures", "Environment", "Timeout", "MemorySize", "Description"} {
		if v, ok := in[k]; ok {
			cfg[k] = v
		}
	}
	s.functions[name] = &lambdaFunction{Config: cfg}
	writeLambdaJSON(w, 201, cfg)
}

// lambdaRoleProblem: Lambda assumes the role, which must exist and trust
// lambda.amazonaws.com.
func (s *Server) lambdaRoleProblem(arn string) string {
	for _, r := range s.roles {
		if r.Arn == arn {
			if !strings.Contains(r.Trust, "lambda.amazonaws.com") || !strings.Contains(r.Trust, "sts:AssumeRole") {
				return "The role defined for the function cannot be assumed by Lambda."
			}
			return ""
		}
	}
	return "The role defined for the function cannot be assumed by Lambda."
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
		st := map[string]any{"Sid": sid, "Effect": "Allow", "Principal": map[string]string{"Service": principal}, "Action": "lambda:InvokeFunction",
			"Resource": f.Config["FunctionArn"], "Condition": map[string]any{"ArnLike": map[string]string{"AWS:SourceArn": source}}}
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
