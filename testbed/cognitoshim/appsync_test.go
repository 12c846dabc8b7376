package cognitoshim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appsync"
	"github.com/aws/aws-sdk-go-v2/service/appsync/types"
	"github.com/aws/smithy-go"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
)

// The shim's AppSync, through the real SDK client: pages to the end with
// nextToken, and refuses what AppSync refuses.
func TestAppSyncListsPageByPageAndRefusesStrictly(t *testing.T) {
	srv := httptest.NewServer(cognitoshim.New("http://127.0.0.1:1", cognitoshim.WithLogger(t.Logf)))
	defer srv.Close()
	plant := func(id string, sources int) {
		api := map[string]any{"apiId": id, "name": "amplifyData", "graphqlUrl": "https://" + id[:8] + ".appsync-api.us-east-1.amazonaws.com/graphql"}
		var ds []map[string]any
		for i := 0; i < sources; i++ {
			ds = append(ds, map[string]any{"name": fmt.Sprintf("Model%02dTable", i), "type": "AMAZON_DYNAMODB", "tableName": fmt.Sprintf("Model%02d-%s-NONE", i, id)})
		}
		ds = append(ds, map[string]any{"name": "NONE_DS", "type": "NONE"})
		api["dataSources"] = ds
		body, _ := json.Marshal(api)
		resp, err := http.Post(srv.URL+"/_testbed/appsync/apis", "application/json", bytes.NewReader(body))
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("plant %s: %v %v", id, err, resp)
		}
	}
	for i := 0; i < 23; i++ {
		plant(fmt.Sprintf("%026d", i), 0)
	}
	plant("abcdefghijklmnopqrstuvwxyz", 31)
	client := appsync.New(appsync.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("testbed", "testbed", ""),
	})
	ctx := context.Background()

	var apis []types.GraphqlApi
	pages := 0
	for p := appsync.NewListGraphqlApisPaginator(client, &appsync.ListGraphqlApisInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		apis = append(apis, out.GraphqlApis...)
	}
	if len(apis) != 24 || pages != 3 {
		t.Errorf("%d APIs in %d pages, want 24 in 3 (10 a page)", len(apis), pages)
	}
	if got := apis[23].Uris["GRAPHQL"]; got != "https://abcdefgh.appsync-api.us-east-1.amazonaws.com/graphql" {
		t.Errorf("GRAPHQL uri %q", got)
	}

	var tables []string
	for p := appsync.NewListDataSourcesPaginator(client, &appsync.ListDataSourcesInput{ApiId: aws.String("abcdefghijklmnopqrstuvwxyz"), MaxResults: 25}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ds := range out.DataSources {
			if ds.DynamodbConfig != nil {
				tables = append(tables, aws.ToString(ds.DynamodbConfig.TableName))
			}
		}
	}
	if len(tables) != 31 || tables[30] != "Model30-abcdefghijklmnopqrstuvwxyz-NONE" {
		t.Errorf("%d tables, last %v", len(tables), tables[len(tables)-1:])
	}

	refused := func(name, code string, err error) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code {
			t.Errorf("%s: %v, want %s", name, err, code)
		}
	}
	_, err := client.ListDataSources(ctx, &appsync.ListDataSourcesInput{ApiId: aws.String("zzzzzzzzzzzzzzzzzzzzzzzzzz")})
	refused("an unknown API", "NotFoundException", err)
	_, err = client.ListGraphqlApis(ctx, &appsync.ListGraphqlApisInput{MaxResults: 26})
	refused("26 a page", "BadRequestException", err)
	first, err := client.ListDataSources(ctx, &appsync.ListDataSourcesInput{ApiId: aws.String("abcdefghijklmnopqrstuvwxyz")})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	_, err = client.ListDataSources(ctx, &appsync.ListDataSourcesInput{ApiId: aws.String("abcdefghijklmnopqrstuvwxyz"), NextToken: aws.String(*first.NextToken + "x")})
	refused("a tampered token", "BadRequestException", err)
	_, err = client.ListDataSources(ctx, &appsync.ListDataSourcesInput{ApiId: aws.String("00000000000000000000000000"), NextToken: first.NextToken})
	refused("another API's token", "BadRequestException", err)
}
