// Package gen2sim does on the test bed what deploying a synthesized
// Amplify Gen 2 backend does in AWS, the one step of a Gen 2 migration
// that cannot run offline: it creates the user pool (with its app client
// and groups) in cognito-local from the synthesized template's
// AWS::Cognito::UserPool properties, creates the model tables in DynamoDB
// Local, plants the AppSync API and the CloudFormation stacks in the shim,
// and writes amplify_outputs.json as `npx ampx sandbox` (or `ampx generate
// outputs`) would. Given the clients, it also deploys the identity pool in
// the shim's Cognito Identity (a pool swap updates it in place: the same
// id, its provider switched to the new user pool) and the storage buckets
// on the test bed's S3 server. A later deploy follows CloudFormation's rules for the
// pool: the same logical id is an update (a changed sign-in fails as
// Cognito refuses it); a new logical id creates a new pool, and the old
// one is deleted, or left in place when the template deployed before says
// Retain.
package gen2sim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/testbed/gen2synth"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// Clients reach the test bed: Cognito is cognito-local itself (pools are
// created there as CloudFormation would create them).
type Clients struct {
	Cognito *cip.Client
	Dynamo  *dynamodb.Client
	// Shim is the strict Cognito shim, which keeps identity providers
	// (cognito-local has none): needed when the template declares any.
	Shim *cip.Client
	// Identity is the shim's Cognito Identity: when set, the template's
	// identity pool is deployed there (else amplify_outputs.json names a
	// made-up one).
	Identity *cognitoidentity.Client
	// S3 is the test bed's S3 server (path-style): when set, the storage
	// buckets are created there and amplify_outputs.json lists them.
	S3 *s3.Client
}

// Deployment is a backend deployed on the test bed.
type Deployment struct {
	Backend       gen2synth.Backend
	Region        string
	APIID         string
	GraphQLURL    string
	RootStack     string
	AuthStack     string
	PoolID        string
	PoolLogicalID string
	ClientID      string
	// Template is the auth stack's template as deployed.
	Template gen2synth.Template
	// Orphaned are pools a deploy removed from the stack but kept (Retain).
	Orphaned []string
	// Deleted are pools a deploy deleted.
	Deleted []string
	// IdentityPoolID is the deployed identity pool (Clients.Identity).
	IdentityPoolID        string
	IdentityPoolLogicalID string
	// Buckets are the buckets' names by logical id, and Storage the
	// storage part of amplify_outputs.json (Clients.S3).
	Buckets map[string]string
	Storage map[string]any
}

// Deploy deploys the assembly over prev (nil for the first deploy) and
// writes amplify_outputs.json into the project at root.
func Deploy(ctx context.Context, c Clients, asm *gen2synth.Assembly, root string, b gen2synth.Backend, prev *Deployment) (*Deployment, error) {
	pools := asm.OfType("AWS::Cognito::UserPool")
	if len(pools) != 1 {
		return nil, fmt.Errorf("the assembly has %d user pools, want 1", len(pools))
	}
	pool := pools[0]
	d := &Deployment{Backend: b, Region: "us-east-1", PoolLogicalID: pool.LogicalID, Template: asm.Templates[pool.Template]}
	if prev != nil {
		d.APIID, d.GraphQLURL, d.RootStack, d.AuthStack = prev.APIID, prev.GraphQLURL, prev.RootStack, prev.AuthStack
		d.Orphaned, d.Deleted = prev.Orphaned, prev.Deleted
	} else {
		d.APIID = randomID(26)
		d.GraphQLURL = "https://" + randomID(26) + ".appsync-api.us-east-1.amazonaws.com/graphql"
		d.RootStack = fmt.Sprintf("amplify-%s-%s-%s-%s", b.Namespace, b.Name, b.Type, randomID(10))
		d.AuthStack = d.RootStack + "-auth179371D7-" + strings.ToUpper(randomID(12))
	}
	switch {
	case prev != nil && prev.PoolLogicalID == pool.LogicalID:
		// An update: Cognito refuses to change how users sign in.
		old := prev.Template.Resources[prev.PoolLogicalID].Properties
		for _, prop := range []string{"UsernameAttributes", "AliasAttributes"} {
			if !reflect.DeepEqual(old[prop], pool.Properties[prop]) {
				return nil, fmt.Errorf("UPDATE_FAILED %s: Updates are not allowed for property - %s", pool.LogicalID, prop)
			}
		}
		d.PoolID, d.ClientID = prev.PoolID, prev.ClientID
	default:
		id, client, err := createPool(ctx, c, asm, pool)
		if err != nil {
			return nil, err
		}
		d.PoolID, d.ClientID = id, client
		if prev != nil {
			// The old pool left the template: CloudFormation applies the
			// policy of the template deployed before.
			if prev.Template.Resources[prev.PoolLogicalID].DeletionPolicy == "Retain" {
				d.Orphaned = append(d.Orphaned, prev.PoolID)
			} else {
				if _, err := c.Cognito.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: aws.String(prev.PoolID)}); err != nil {
					return nil, fmt.Errorf("delete the old pool %s: %w", prev.PoolID, err)
				}
				d.Deleted = append(d.Deleted, prev.PoolID)
			}
		}
	}
	if err := d.deployBuckets(ctx, c.S3, asm, prev); err != nil {
		return nil, err
	}
	if err := d.deployIdentityPool(ctx, c.Identity, asm, prev); err != nil {
		return nil, err
	}
	tables, err := createTables(ctx, c.Dynamo, asm, d.APIID)
	if err != nil {
		return nil, err
	}
	if err := d.plant(asm, tables); err != nil {
		return nil, err
	}
	if err := d.writeOutputs(asm, root); err != nil {
		return nil, err
	}
	return d, nil
}

// createPool creates the pool, its app client and its groups from the
// template's properties.
func createPool(ctx context.Context, cs Clients, asm *gen2synth.Assembly, pool gen2synth.Named) (string, string, error) {
	c := cs.Cognito
	var in cip.CreateUserPoolInput
	if err := fromProperties(pool.Properties, &in); err != nil {
		return "", "", fmt.Errorf("read the pool's properties: %w", err)
	}
	in.PoolName = aws.String(fmt.Sprint(pool.Properties["UserPoolName"]))
	if pool.Properties["UserPoolName"] == nil {
		in.PoolName = aws.String(pool.LogicalID)
	}
	out, err := c.CreateUserPool(ctx, &in)
	if err != nil {
		return "", "", fmt.Errorf("create pool %s: %w", pool.LogicalID, err)
	}
	id := aws.ToString(out.UserPool.Id)
	var clientID string
	for _, r := range asm.OfType("AWS::Cognito::UserPoolClient") {
		var cin cip.CreateUserPoolClientInput
		if err := fromProperties(r.Properties, &cin); err != nil {
			return "", "", err
		}
		cin.UserPoolId, cin.ClientName = aws.String(id), aws.String(r.LogicalID)
		cin.AllowedOAuthFlows, cin.AllowedOAuthScopes, cin.AllowedOAuthFlowsUserPoolClient, cin.CallbackURLs, cin.SupportedIdentityProviders = nil, nil, false, nil, nil
		cout, err := c.CreateUserPoolClient(ctx, &cin)
		if err != nil {
			return "", "", fmt.Errorf("create app client %s: %w", r.LogicalID, err)
		}
		clientID = aws.ToString(cout.UserPoolClient.ClientId)
	}
	for _, r := range asm.OfType("AWS::Cognito::UserPoolGroup") {
		var gin cip.CreateGroupInput
		if err := fromProperties(r.Properties, &gin); err != nil {
			return "", "", err
		}
		gin.UserPoolId, gin.RoleArn = aws.String(id), nil
		if _, err := c.CreateGroup(ctx, &gin); err != nil {
			return "", "", fmt.Errorf("create group %v: %w", r.Properties["GroupName"], err)
		}
	}
	if err := createProviders(ctx, cs.Shim, asm, id); err != nil {
		return "", "", err
	}
	return id, clientID, nil
}

// createProviders creates the template's identity providers in the
// shim. A client id or secret the deploy would read from the backend's
// secrets (an intrinsic in the template) gets a stand-in value.
func createProviders(ctx context.Context, shim *cip.Client, asm *gen2synth.Assembly, pool string) error {
	providers := asm.OfType("AWS::Cognito::UserPoolIdentityProvider")
	if len(providers) == 0 {
		return nil
	}
	if shim == nil {
		return fmt.Errorf("the template declares %d identity providers, which only the shim keeps: set Clients.Shim", len(providers))
	}
	for _, r := range providers {
		var in cip.CreateIdentityProviderInput
		if err := fromProperties(r.Properties, &in); err != nil {
			return err
		}
		in.UserPoolId = aws.String(pool)
		if in.ProviderDetails == nil {
			in.ProviderDetails = map[string]string{}
		}
		for _, k := range []string{"client_id", "client_secret"} {
			if in.ProviderDetails[k] == "" {
				in.ProviderDetails[k] = "gen2sim-secret-" + k
			}
		}
		if _, err := shim.CreateIdentityProvider(ctx, &in); err != nil {
			return fmt.Errorf("create identity provider %v: %w", r.Properties["ProviderName"], err)
		}
	}
	return nil
}

// fromProperties fills an SDK input from template properties, whose names
// are the API's; intrinsic functions (Ref, Fn::GetAtt), which only a real
// deploy resolves, are left out.
func fromProperties(props map[string]any, v any) error {
	data, err := json.Marshal(dropIntrinsics(props))
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func dropIntrinsics(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if strings.HasPrefix(k, "Fn::") || k == "Ref" {
				return nil
			}
			if d := dropIntrinsics(e); d != nil {
				out[k] = d
			}
		}
		return out
	case []any:
		var out []any
		for _, e := range x {
			if d := dropIntrinsics(e); d != nil {
				out = append(out, d)
			}
		}
		return out
	}
	return v
}

// createTables creates each model table the data stacks declare (the same
// tables across deploys: a table that exists is left alone) and returns
// them by model.
func createTables(ctx context.Context, c *dynamodb.Client, asm *gen2synth.Assembly, apiID string) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range asm.OfType("Custom::AmplifyDynamoDBTable") {
		name := joinName(r.Properties["tableName"], apiID)
		model := strings.TrimSuffix(r.LogicalID, "Table")
		out[model] = name
		in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: ddbtypes.BillingModePayPerRequest}
		for _, a := range list(r.Properties["attributeDefinitions"]) {
			in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String(str(a, "attributeName")), AttributeType: ddbtypes.ScalarAttributeType(str(a, "attributeType"))})
		}
		in.KeySchema = keySchema(r.Properties["keySchema"])
		for _, g := range list(r.Properties["globalSecondaryIndexes"]) {
			in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
				IndexName:  aws.String(str(g, "indexName")),
				KeySchema:  keySchema(g.(map[string]any)["keySchema"]),
				Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
			})
		}
		if _, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}); err == nil {
			continue
		}
		if _, err := c.CreateTable(ctx, in); err != nil {
			return nil, fmt.Errorf("create table %s: %w", name, err)
		}
	}
	return out, nil
}

func keySchema(v any) []ddbtypes.KeySchemaElement {
	var out []ddbtypes.KeySchemaElement
	for _, k := range list(v) {
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: aws.String(str(k, "attributeName")), KeyType: ddbtypes.KeyType(str(k, "keyType"))})
	}
	return out
}

// joinName resolves the table name's Fn::Join, with the API id for the
// reference to the API.
func joinName(v any, apiID string) string {
	if s, ok := v.(string); ok {
		return s
	}
	j, _ := v.(map[string]any)["Fn::Join"].([]any)
	var b strings.Builder
	for _, p := range list(j[1]) {
		if s, ok := p.(string); ok {
			b.WriteString(s)
		} else {
			b.WriteString(apiID)
		}
	}
	return b.String()
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any, k string) string {
	s, _ := v.(map[string]any)[k].(string)
	return s
}

func (d *Deployment) plant(asm *gen2synth.Assembly, tables map[string]string) error {
	var sources []testenv.AppSyncDataSource
	for model, table := range tables {
		sources = append(sources, testenv.AppSyncDataSource{Name: model + "Table", Type: "AMAZON_DYNAMODB", TableName: table})
	}
	sources = append(sources, testenv.AppSyncDataSource{Name: "NONE_DS", Type: "NONE"})
	if err := testenv.PlantAppSyncAPI(d.APIID, "amplifyData", d.GraphQLURL, sources); err != nil {
		return err
	}
	body, err := json.Marshal(d.Template)
	if err != nil {
		return err
	}
	authArn := stackArn(d.AuthStack)
	resources := map[string]string{d.PoolLogicalID: d.PoolID}
	if err := testenv.PlantStackBody(d.AuthStack, authArn, map[string]string{}, resources, string(body)); err != nil {
		return err
	}
	outputs := map[string]string{"userPoolId": d.PoolID, "webClientId": d.ClientID, "awsAppsyncApiId": d.APIID, "awsAppsyncApiEndpoint": d.GraphQLURL, "region": d.Region}
	return testenv.PlantStackBody(d.RootStack, stackArn(d.RootStack), outputs, map[string]string{"auth179371D7": authArn}, "")
}

func stackArn(name string) string {
	return "arn:aws:cloudformation:us-east-1:" + testenvAccount + ":stack/" + name + "/" + randomID(8) + "-0000-4000-8000-" + randomID(12)
}

const testenvAccount = "000000000000"

// writeOutputs writes amplify_outputs.json from the root stack's outputs,
// the pool and the model introspection asset, as `ampx` writes it.
func (d *Deployment) writeOutputs(asm *gen2synth.Assembly, root string) error {
	ro := asm.Templates[asm.RootTemplate()].Outputs
	literal := func(name string) any {
		o, _ := ro[name].(map[string]any)
		s, ok := o["Value"].(string)
		if !ok {
			return nil
		}
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return s
		}
		return v
	}
	groups := literal("groups")
	if groups == nil {
		groups = []any{}
	}
	identityPool := d.IdentityPoolID
	if identityPool == "" {
		// Shaped as AWS shapes them (the readers check it): REGION:GUID.
		sum := sha256.Sum256([]byte(d.PoolID))
		identityPool = d.Region + ":00000000-0000-4000-8000-" + hex.EncodeToString(sum[:6])
	}
	auth := map[string]any{
		"user_pool_id":                       d.PoolID,
		"aws_region":                         d.Region,
		"user_pool_client_id":                d.ClientID,
		"identity_pool_id":                   identityPool,
		"mfa_methods":                        []any{},
		"standard_required_attributes":       literal("signupAttributes"),
		"username_attributes":                literal("usernameAttributes"),
		"user_verification_types":            literal("verificationMechanisms"),
		"groups":                             groups,
		"mfa_configuration":                  "NONE",
		"password_policy":                    map[string]any{"min_length": 8, "require_numbers": false, "require_lowercase": false, "require_uppercase": false, "require_symbols": false},
		"unauthenticated_identities_enabled": true,
	}
	data := map[string]any{
		"url":                        d.GraphQLURL,
		"aws_region":                 d.Region,
		"default_authorization_type": "AMAZON_COGNITO_USER_POOLS",
		"authorization_types":        []any{"AWS_IAM"},
	}
	if intro, err := asm.Asset("modelIntrospectionSchema.json"); err == nil {
		data["model_introspection"] = json.RawMessage(intro)
	}
	outputs := map[string]any{"version": "1.4", "auth": auth, "data": data}
	if d.Storage != nil {
		outputs["storage"] = d.Storage
	}
	out, err := json.MarshalIndent(outputs, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "amplify_outputs.json"), append(out, '\n'), 0o644)
}

func randomID(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
