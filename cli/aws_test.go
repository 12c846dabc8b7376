package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestDynamoChecksumOffOnlyOnLoopback: the response checksum check is
// turned off for DynamoDB Local on this machine, and for nothing else
// (AWS's FIPS and VPC endpoints, a proxy elsewhere, another service's
// local endpoint).
func TestDynamoChecksumOffOnlyOnLoopback(t *testing.T) {
	cases := map[string]struct {
		env     map[string]string
		profile string // endpoint_url of the profile "p", used when set
		off     bool
	}{
		"AWS":                                 {},
		"DynamoDB Local on 127.0.0.1":         {env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, off: true},
		"127.0.0.0/8":                         {env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.1.2.3:8000"}, off: true},
		"localhost":                           {env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://LocalHost:8000/"}, off: true},
		"::1":                                 {env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://[::1]:8000"}, off: true},
		"every service local":                 {env: map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566"}, off: true},
		"the profile's endpoint_url":          {profile: "http://127.0.0.1:8000", off: true},
		"FIPS":                                {env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb-fips.us-east-1.amazonaws.com"}},
		"a VPC endpoint":                      {env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "https://vpce-0123456789abcdef0-abcdefgh.dynamodb.us-east-1.vpce.amazonaws.com"}},
		"a proxy on another machine":          {env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://10.0.0.5:8000"}},
		"a name that starts like it":          {env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://localhost.example.com:8000"}},
		"127 in another host's name":          {env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1.nip.io:8000"}},
		"only Cognito is local":               {env: map[string]string{"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": "http://127.0.0.1:9230"}},
		"a real DynamoDB beside local others": {env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.us-east-1.amazonaws.com"}},
		"a profile's FIPS endpoint_url":       {profile: "https://dynamodb-fips.us-east-1.amazonaws.com"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			config := filepath.Join(dir, "config")
			if err := os.WriteFile(config, []byte("[profile p]\nregion = us-east-1\nendpoint_url = "+c.profile+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("AWS_CONFIG_FILE", config)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			profile := ""
			if c.profile != "" {
				profile = "p"
			}
			a := &App{Getenv: os.Getenv}
			clients, err := a.newAWSClients(context.Background(), "us-east-1", profile)
			if err != nil {
				t.Fatal(err)
			}
			o := clients.dynamo.Options()
			if o.DisableValidateResponseChecksum != c.off {
				t.Errorf("endpoint %v: checksum check off %v, want %v", aws.ToString(o.BaseEndpoint), o.DisableValidateResponseChecksum, c.off)
			}
		})
	}
}
