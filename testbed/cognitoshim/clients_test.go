package cognitoshim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestListUserPoolClientsIsAWSShaped: like AWS, ListUserPoolClients pages
// by MaxResults (at most 60) and describes each client by id, name and
// pool only: WriteAttributes and the rest need DescribeUserPoolClient.
func TestListUserPoolClientsIsAWSShaped(t *testing.T) {
	env := testenv.Require(t)
	c, _ := inProcess(t, env)
	pool := env.NewPool(t, testenv.PoolOptions{})
	for _, name := range []string{"a", "b", "c"} {
		if _, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String(name), WriteAttributes: []string{"email"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: &pool, MaxResults: aws.Int32(61)}); err == nil {
		t.Error("MaxResults 61 accepted")
	}
	var names []string
	p := cip.NewListUserPoolClientsPaginator(c, &cip.ListUserPoolClientsInput{UserPoolId: &pool, MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.UserPoolClients) > 2 {
			t.Errorf("a page of %d clients for MaxResults 2", len(out.UserPoolClients))
		}
		for _, d := range out.UserPoolClients {
			names = append(names, *d.ClientName)
		}
	}
	if len(names) != 3 {
		t.Errorf("listed %v, want the three clients", names)
	}
	// The SDK's description type has no WriteAttributes; check the wire.
	srv := httptest.NewServer(cognitoshim.New(env.LocalEndpoint, cognitoshim.WithLogger(t.Logf)))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(`{"UserPoolId":"`+pool+`","MaxResults":60}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.ListUserPoolClients")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var wire struct{ UserPoolClients []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&wire); err != nil {
		t.Fatal(err)
	}
	raw := wire.UserPoolClients
	if len(raw) == 0 {
		t.Fatal("no clients listed")
	}
	for _, d := range raw {
		for k := range d {
			if k != "ClientId" && k != "ClientName" && k != "UserPoolId" {
				t.Errorf("the listing carries %s, which AWS leaves to DescribeUserPoolClient", k)
			}
		}
	}
}
