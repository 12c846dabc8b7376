package amplifygen2

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appsync"
	"github.com/aws/smithy-go"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/migration"
)

// APIReader is the part of AppSync that AddLive reads; *appsync.Client
// satisfies it.
type APIReader interface {
	ListGraphqlApis(ctx context.Context, in *appsync.ListGraphqlApisInput, optFns ...func(*appsync.Options)) (*appsync.ListGraphqlApisOutput, error)
	ListDataSources(ctx context.Context, in *appsync.ListDataSourcesInput, optFns ...func(*appsync.Options)) (*appsync.ListDataSourcesOutput, error)
}

// LiveClients are the AWS APIs AddLive reads.
type LiveClients struct {
	AppSync APIReader
	Cognito cognito.PoolDescriber
	Dynamo  dynamo.TableReader
	// Stacks, when set, finds the API id from the pool's stacks when
	// data.url does not (no amplify_outputs.json data section, or no API
	// has its URL): the root stack's awsAppsyncApiId output.
	Stacks StackWalker
}

// AddLive confirms a Gen 2 plan against AWS: the API id (the AppSync API
// whose GRAPHQL URI is amplify_outputs.json's data.url, else the
// awsAppsyncApiId output of the root stack that deployed the pool) when
// the files do not give it, each model's table as AppSync's <Model>Table data
// source names it (right for tables kept from Gen 1 too), that the tables
// exist with the keys the schema implies, and the pool's configuration.
func AddLive(ctx context.Context, pl *migration.Plan, c LiveClients) error {
	var known []migration.API
	for i := range pl.APIs {
		api := &pl.APIs[i]
		if api.APIID == "" {
			if err := findAPIID(ctx, pl, api, c.AppSync); err != nil {
				return err
			}
		}
		if api.APIID == "" && c.Stacks != nil {
			apiIDFromStacks(ctx, pl, api, c.Stacks)
		}
		if api.APIID == "" {
			continue
		}
		if err := tablesFromAppSync(ctx, pl, api, c.AppSync); err != nil {
			return err
		}
		known = append(known, *api)
	}
	// The tables and the pool are checked as for Gen 1, but the pool's
	// triggers are compared by event: Gen 2 names functions by its own
	// scheme, and defineAuth declares triggers by event.
	probe := *pl
	probe.APIs, probe.Auth = known, nil
	if err := probe.AddLive(ctx, migration.LiveClients{Cognito: c.Cognito, Dynamo: c.Dynamo}); err != nil {
		return err
	}
	pl.Warnings, pl.Live = probe.Warnings, probe.Live
	for _, a := range pl.Auth {
		if a.UserPoolID == "" {
			pl.Warnings = append(pl.Warnings, migration.Warning{Code: "POOL_ID_UNKNOWN", Message: "the user pool id is unknown (" + OutputsPath + " is missing): pass --pool to commands that read the pool"})
			continue
		}
		p, err := cognito.DescribePool(ctx, c.Cognito, a.UserPoolID)
		if errors.Is(err, cognito.ErrPoolNotFound) {
			pl.Warnings = append(pl.Warnings, migration.Warning{Code: "POOL_NOT_FOUND", Message: fmt.Sprintf("user pool %s does not exist in region %s; is %s stale (regenerate it with `npx ampx generate outputs`), or is the region wrong?", a.UserPoolID, pl.Region, OutputsPath)})
			continue
		}
		if err != nil {
			return err
		}
		pl.Live.Pools = append(pl.Live.Pools, p)
		events := make([]string, 0, len(p.Triggers))
		for e := range p.Triggers {
			events = append(events, e)
		}
		sort.Strings(events)
		for _, e := range events {
			if !declaresTrigger(a.Triggers, e) {
				pl.Warnings = append(pl.Warnings, migration.Warning{Code: "TRIGGER_NOT_IN_PROJECT", Message: fmt.Sprintf("pool %s invokes %s for %s, which amplify/auth/resource.ts does not declare (attached by hand?): the new pool will not get it; add it to defineAuth's triggers", p.ID, cognito.TriggerFunction(p.Triggers[e]), e)})
			}
		}
	}
	return nil
}

// declaresTrigger matches defineAuth's trigger keys (preSignUp) with the
// pool's LambdaConfig events (PreSignUp).
func declaresTrigger(declared []string, event string) bool {
	for _, d := range declared {
		if strings.EqualFold(d, event) {
			return true
		}
	}
	return false
}

func findAPIID(ctx context.Context, pl *migration.Plan, api *migration.API, c APIReader) error {
	if api.Endpoint == "" {
		pl.Warnings = append(pl.Warnings, migration.Warning{Code: "API_ID_NOT_FOUND", Message: fmt.Sprintf("data %s: no data.url in %s to find the API by: pass --api-id ID (the root stack's awsAppsyncApiId output)", api.Name, OutputsPath)})
		return nil
	}
	for p := appsync.NewListGraphqlApisPaginator(c, &appsync.ListGraphqlApisInput{MaxResults: 25}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list AppSync APIs: %w", err)
		}
		for _, g := range out.GraphqlApis {
			if g.Uris["GRAPHQL"] == api.Endpoint {
				setAPIID(pl, api, aws.ToString(g.ApiId), fmt.Sprintf("data %s: API id %s found by its GraphQL URL %s", api.Name, aws.ToString(g.ApiId), api.Endpoint))
				return nil
			}
		}
	}
	pl.Warnings = append(pl.Warnings, migration.Warning{Code: "API_ID_NOT_FOUND", Message: fmt.Sprintf("data %s: no AppSync API in region %s has the GraphQL URL %s (from %s): check --region, or pass --api-id ID", api.Name, pl.Region, api.Endpoint, OutputsPath)})
	return nil
}

// setAPIID records the API id AWS gave and the tables it names; the
// files' "unknown" and "not found" give way to what AWS said.
func setAPIID(pl *migration.Plan, api *migration.API, id, how string) {
	api.APIID = id
	for i := range api.Models {
		if api.Models[i].Table == "" {
			api.Models[i].Table = TableName(api.Models[i].Type, id)
		}
	}
	kept := pl.Warnings[:0]
	for _, w := range pl.Warnings {
		if w.Code != "API_ID_UNKNOWN" && w.Code != "API_ID_NOT_FOUND" {
			kept = append(kept, w)
		}
	}
	pl.Warnings = append(kept, migration.Warning{Code: "API_ID_DISCOVERED", Message: how})
}

// apiIDFromStacks asks CloudFormation when data.url found no API: the
// root stack that deployed the pool names its API. What it cannot tell
// is a warning beside the one findAPIID left, not a failure.
func apiIDFromStacks(ctx context.Context, pl *migration.Plan, api *migration.API, c StackWalker) {
	pool := ""
	for _, a := range pl.Auth {
		if a.UserPoolID != "" {
			pool = a.UserPoolID
			break
		}
	}
	if pool == "" {
		return
	}
	id, root, err := APIIDFromStacks(ctx, c, pool)
	if err != nil {
		pl.Warnings = append(pl.Warnings, migration.Warning{Code: "API_ID_NOT_FOUND", Message: fmt.Sprintf("data %s: nor from the stacks: %v; pass --api-id ID", api.Name, err)})
		return
	}
	setAPIID(pl, api, id, fmt.Sprintf("data %s: API id %s from the %s output of %s, the root stack that deployed user pool %s", api.Name, id, APIIDOutput, root, pool))
}

// tablesFromAppSync takes each model's table from the API's <Model>Table
// data source: AppSync knows the tables the resolvers really use.
func tablesFromAppSync(ctx context.Context, pl *migration.Plan, api *migration.API, c APIReader) error {
	tables := map[string]string{}
	for p := appsync.NewListDataSourcesPaginator(c, &appsync.ListDataSourcesInput{ApiId: aws.String(api.APIID), MaxResults: 25}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NotFoundException" {
			pl.Warnings = append(pl.Warnings, migration.Warning{Code: "API_NOT_FOUND", Message: fmt.Sprintf("data %s: AppSync has no API %s in region %s: check --api-id and --region", api.Name, api.APIID, pl.Region)})
			return nil
		}
		if err != nil {
			return fmt.Errorf("list the data sources of AppSync API %s: %w", api.APIID, err)
		}
		for _, ds := range out.DataSources {
			if ds.DynamodbConfig != nil {
				tables[aws.ToString(ds.Name)] = aws.ToString(ds.DynamodbConfig.TableName)
			}
		}
	}
	for i := range api.Models {
		m := &api.Models[i]
		t, ok := tables[m.Type+"Table"]
		switch {
		case !ok:
			pl.Warnings = append(pl.Warnings, migration.Warning{Code: "DATA_SOURCE_NOT_FOUND", Message: fmt.Sprintf("data %s: API %s has no data source %sTable: is model %s deployed?", api.Name, api.APIID, m.Type, m.Type)})
		case m.Table != "" && m.Table != t:
			pl.Warnings = append(pl.Warnings, migration.Warning{Code: "TABLE_FROM_APPSYNC", Message: fmt.Sprintf("model %s: AppSync's data source uses table %s, not %s as the files imply; the remap follows AppSync", m.Type, t, m.Table)})
			m.Table = t
		default:
			m.Table = t
		}
	}
	return nil
}
