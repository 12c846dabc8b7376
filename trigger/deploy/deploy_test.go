package deploy

import (
	"reflect"
	"strings"
	"testing"
	"time"

	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// updateSources names, for the members of UpdateUserPoolInput whose
// DescribeUserPool counterpart has another name, that counterpart.
var updateSources = map[string]string{"UserPoolId": "Id", "PoolName": "Name"}

// noSource are the members of UpdateUserPoolInput that DescribeUserPool
// does not report, each with the reason it is not sent. Keep it small: a
// member here is a setting deploy resets.
var noSource = map[string]string{}

// fill sets every exported field reachable from v to a non-zero value.
func fill(t *testing.T, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(1700000000, 0)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.String:
		v.SetString("x" + path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(7)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(t, s.Index(0), path+"[0]")
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, path+".key")
		fill(t, e, path+".value")
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Interface:
		// documents (smithy's document type): none in these shapes today
		t.Fatalf("%s: an interface member; teach fill about it", path)
	default:
		t.Fatalf("%s: a %s member; teach fill about it", path, v.Kind())
	}
}

// TestUpdateInputSendsEverySetting walks the SDK's UpdateUserPoolInput:
// every member must have a source in DescribeUserPool's UserPoolType (same
// name, or updateSources) of the same type, or a reason in noSource — and
// UpdateInput must copy it. UpdateUserPool resets what it is not sent, so
// an SDK upgrade that adds a setting fails here instead of silently
// resetting it on the user's pool.
func TestUpdateInputSendsEverySetting(t *testing.T) {
	var pool ctypes.UserPoolType
	fill(t, reflect.ValueOf(&pool).Elem(), "UserPool")
	in := reflect.ValueOf(UpdateInput(&pool)).Elem()
	src := reflect.ValueOf(pool)
	for i := 0; i < in.NumField(); i++ {
		f := in.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if reason, ok := noSource[f.Name]; ok {
			if reason == "" {
				t.Errorf("%s: an exception needs its reason", f.Name)
			}
			continue
		}
		name := f.Name
		if s, ok := updateSources[name]; ok {
			name = s
		}
		sf, ok := src.Type().FieldByName(name)
		if !ok {
			t.Errorf("UpdateUserPoolInput.%s has no source in DescribeUserPool's UserPoolType: deploy would reset it. Map it in updateSources, or document why it is not sent in noSource", f.Name)
			continue
		}
		if sf.Type != f.Type {
			t.Errorf("UpdateUserPoolInput.%s is a %s, UserPoolType.%s a %s: convert it in UpdateInput and here", f.Name, f.Type, name, sf.Type)
			continue
		}
		want := src.FieldByName(name).Interface()
		if f.Name == "AdminCreateUserConfig" {
			// The deprecated twin of Policies.PasswordPolicy.
			// TemporaryPasswordValidityDays: UpdateUserPool refuses both.
			c := *pool.AdminCreateUserConfig
			c.UnusedAccountValidityDays = 0
			want = &c
		}
		if got := in.Field(i).Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("UpdateInput does not send %s back: got %+v, want %+v", f.Name, got, want)
		}
	}
}

// The exception only drops the deprecated field when its successor is
// there: a pool without TemporaryPasswordValidityDays keeps it.
func TestUpdateInputKeepsUnusedAccountValidityAlone(t *testing.T) {
	p := &ctypes.UserPoolType{AdminCreateUserConfig: &ctypes.AdminCreateUserConfigType{UnusedAccountValidityDays: 9}}
	if got := UpdateInput(p).AdminCreateUserConfig.UnusedAccountValidityDays; got != 9 {
		t.Errorf("UnusedAccountValidityDays %d, want 9", got)
	}
	p.Policies = &ctypes.UserPoolPolicyType{PasswordPolicy: &ctypes.PasswordPolicyType{TemporaryPasswordValidityDays: 3}}
	in := UpdateInput(p)
	if in.AdminCreateUserConfig.UnusedAccountValidityDays != 0 || p.AdminCreateUserConfig.UnusedAccountValidityDays != 9 {
		t.Errorf("with its successor set: sent %d, the pool read changed to %d", in.AdminCreateUserConfig.UnusedAccountValidityDays, p.AdminCreateUserConfig.UnusedAccountValidityDays)
	}
}

func TestCheckCarry(t *testing.T) {
	str := func(s string) *string { return &s }
	pool := &ctypes.UserPoolType{Id: str("us-east-1_New"), SchemaAttributes: []ctypes.SchemaAttributeType{
		{Name: str("sub")}, {Name: str("email")}, {Name: str("identities")}, {Name: str("custom:prev_sub_id")}, {Name: str("custom:plan")}}}
	for _, tc := range []struct {
		name  string
		attrs []string
		want  string // "" when accepted
	}{
		{"standard and custom", []string{"email", "custom:plan"}, ""},
		{"none", nil, ""},
		{"sub", []string{"email", "sub"}, "may not carry sub"},
		{"cognito:username", []string{"cognito:username"}, "may not carry cognito:username"},
		{"cognito:user_status", []string{"cognito:user_status"}, "may not carry cognito:user_status"},
		{"identities", []string{"identities"}, "may not carry identities"},
		{"the old identity", []string{"custom:prev_sub_id"}, "may not carry custom:prev_sub_id"},
		{"a prev_ attribute the pool lacks", []string{"custom:prev_anything"}, "may not carry custom:prev_anything"},
		{"unknown custom", []string{"email", "custom:tenant"}, "has no attribute custom:tenant"},
		{"unknown standard-looking", []string{"emial"}, "has no attribute emial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCarry(tc.attrs, pool)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("CheckCarry(%v) = %v, want %q", tc.attrs, err, tc.want)
			}
		})
	}
}

func TestParseFunctionARN(t *testing.T) {
	for _, ok := range []string{
		"arn:aws:lambda:us-east-1:123456789012:function:poolmigrate-migration-us-east-1-Abc",
		"arn:aws:lambda:eu-central-1:123456789012:function:f_1:$LATEST",
		"arn:aws:lambda:us-east-1:123456789012:function:f:12",
		"arn:aws:lambda:us-east-1:123456789012:function:f:live",
		"arn:aws-cn:lambda:cn-north-1:123456789012:function:f",
		"arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f",
	} {
		a, err := ParseFunctionARN(ok)
		if err != nil || a.String() != ok {
			t.Errorf("%s: %v (%s)", ok, err, a)
		}
	}
	base := "arn:aws:lambda:us-east-1:123456789012:function:f"
	for name, bad := range map[string]string{
		"a quote":             base + "',userMigration:'x",
		"a double quote":      base + `"`,
		"a backtick":          base + "`",
		"an interpolation":    base + "${process.exit(1)}",
		"a line break":        base + "\nconsole.log(1)",
		"a space":             base + " x",
		"a backslash":         base + `\`,
		"an 11-digit account": "arn:aws:lambda:us-east-1:12345678901:function:f",
		"another service":     "arn:aws:iam::123456789012:role/f",
		"no name":             "arn:aws:lambda:us-east-1:123456789012:function:",
		"a name of 65":        base + strings.Repeat("x", 64),
		"no region":           "arn:aws:lambda::123456789012:function:f",
		"a made-up partition": "arn:evil:lambda:us-east-1:123456789012:function:f",
		"two qualifiers":      base + ":1:2",
		"empty":               "",
	} {
		if _, err := ParseFunctionARN(bad); err == nil {
			t.Errorf("%s (%q) was accepted", name, bad)
		}
	}
}

func TestOnlyLambdaTrusted(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		ok        bool
	}{
		{"deploy's", LambdaTrust, true},
		{"one statement, no list", `{"Statement":{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}}`, true},
		{"another service too", `{"Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}]}`, false},
		{"an account", `{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`, false},
		{"anyone", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`, false},
		{"tag session too", `{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`, false},
		{"cognito", `{"Statement":[{"Effect":"Allow","Principal":{"Service":"cognito-idp.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, false},
		{"nothing", `{"Statement":[]}`, false},
		{"not JSON", `{`, false},
	} {
		if why := onlyLambdaTrusted(tc.doc); (why == "") != tc.ok {
			t.Errorf("%s: %q", tc.name, why)
		}
	}
}

func TestClientProblem(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	good := func() *ctypes.UserPoolClientType {
		return &ctypes.UserPoolClientType{ExplicitAuthFlows: []ctypes.ExplicitAuthFlowsType{ctypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth, ctypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
			AccessTokenValidity: i32(5), IdTokenValidity: i32(5), RefreshTokenValidity: 60,
			TokenValidityUnits: &ctypes.TokenValidityUnitsType{AccessToken: ctypes.TimeUnitsTypeMinutes, IdToken: ctypes.TimeUnitsTypeMinutes, RefreshToken: ctypes.TimeUnitsTypeMinutes}}
	}
	if why := clientProblem(good()); why != "" {
		t.Fatalf("deploy's own client: %s", why)
	}
	for name, change := range map[string]func(*ctypes.UserPoolClientType){
		"a secret": func(c *ctypes.UserPoolClientType) { c.ClientSecret = new(string); *c.ClientSecret = "s" },
		"password auth": func(c *ctypes.UserPoolClientType) {
			c.ExplicitAuthFlows = append(c.ExplicitAuthFlows, ctypes.ExplicitAuthFlowsTypeAllowUserPasswordAuth)
		},
		"no admin auth":      func(c *ctypes.UserPoolClientType) { c.ExplicitAuthFlows = c.ExplicitAuthFlows[:1] },
		"OAuth":              func(c *ctypes.UserPoolClientType) { c.CallbackURLs = []string{"https://evil.example"} },
		"an identity prov.":  func(c *ctypes.UserPoolClientType) { c.SupportedIdentityProviders = []string{"Google"} },
		"day-long tokens":    func(c *ctypes.UserPoolClientType) { c.TokenValidityUnits.AccessToken = ctypes.TimeUnitsTypeDays },
		"no validity at all": func(c *ctypes.UserPoolClientType) { c.TokenValidityUnits = nil },
	} {
		c := good()
		change(c)
		if clientProblem(c) == "" {
			t.Errorf("a client with %s passes for deploy's", name)
		}
	}
}

// Options are checked before any call.
func TestValidate(t *testing.T) {
	base := Options{OldPool: "us-east-1_Old", TargetPool: "us-east-1_New"}
	base.Names()
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Options){
		"same pools":        func(o *Options) { o.TargetPool = o.OldPool },
		"a pool with ../":   func(o *Options) { o.OldPool = "../x" },
		"a function name":   func(o *Options) { o.Function = "a'b" },
		"a role name":       func(o *Options) { o.Role = "a/b" },
		"13 days of logs":   func(o *Options) { o.LogRetentionDays = 13 },
		"negative log days": func(o *Options) { o.LogRetentionDays = -1 },
	} {
		o := base
		change(&o)
		if o.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
