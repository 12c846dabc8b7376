// Package lambdaown holds what the deploys of the tool's own Lambda
// functions share (the user migration trigger, trigger/deploy; the token
// trio, tokenmint/deploy): the role such a function runs as (trusted by
// Lambda only, with the one inline policy the deploy writes, tagged as the
// tool's), the reads that find what of the deploy's names exists already
// and whether its tags mark it as the tool's (role, function, log group,
// app clients by name), and the retries and waits Lambda needs after a
// change. Each deploy keeps its own rules for what it accepts and its own
// messages; this package only reads and says why.
package lambdaown

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	lgtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// Ptr is a pointer to v, for the SDK's optional input members.
func Ptr[T any](v T) *T { return &v }

// Deref is *s, "" for nil.
func Deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Ours says why a resource's tags do not mark it as the deploy's own (""
// when they do).
type Ours func(tags map[string]string) string

// GetFunction reads the function name; nil (and no error) when no function
// has that name.
func GetFunction(ctx context.Context, l lambda.GetFunctionAPIClient, name string) (*lambda.GetFunctionOutput, error) {
	out, err := l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &name})
	var rnf *ltypes.ResourceNotFoundException
	switch {
	case errors.As(err, &rnf):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read function %s: %w", name, err)
	}
	return out, nil
}

// LogTags is the part of the CloudWatch Logs API InspectLogGroup uses.
type LogTags interface {
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
}

// InspectLogGroup says why the log group name (ARN arn), when it exists,
// is not the deploy's own by ours ("" when it is, or does not exist).
func InspectLogGroup(ctx context.Context, lg LogTags, name, arn string, ours Ours) (string, error) {
	out, err := lg.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: &arn})
	var rnf *lgtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &rnf):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read the tags of log group %s: %w", name, err)
	}
	return ours(out.Tags), nil
}

// NamedClients lists the ids of the pool's app clients named name (app
// clients cannot be tagged: the deploys know theirs by name and settings).
func NamedClients(ctx context.Context, c cip.ListUserPoolClientsAPIClient, pool, name string) ([]string, error) {
	var ids []string
	p := cip.NewListUserPoolClientsPaginator(c, &cip.ListUserPoolClientsInput{UserPoolId: &pool, MaxResults: Ptr(int32(60))})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, cl := range out.UserPoolClients {
			if Deref(cl.ClientName) == name {
				ids = append(ids, Deref(cl.ClientId))
			}
		}
	}
	return ids, nil
}

// RetryLambda retries what Lambda refuses for a while after a change, for
// up to wait: a role IAM has just made ("cannot be assumed", until IAM has
// propagated it) and an update while another is in progress or the
// function is still being created (ResourceConflictException).
func RetryLambda[T any](ctx context.Context, wait time.Duration, f func() (T, error)) (T, error) {
	deadline := time.Now().Add(wait)
	delay := 500 * time.Millisecond
	for {
		v, err := f()
		var ae smithy.APIError
		if err == nil || !errors.As(err, &ae) || time.Now().After(deadline) {
			return v, err
		}
		roleNotYet := ae.ErrorCode() == "InvalidParameterValueException" && strings.Contains(ae.ErrorMessage(), "cannot be assumed")
		if !roleNotYet && ae.ErrorCode() != "ResourceConflictException" {
			return v, err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return v, ctx.Err()
		}
		delay = min(delay*2, 10*time.Second)
	}
}

// WaitReady waits up to wait until Lambda has finished creating or
// updating function (State Active, LastUpdateStatus Successful), with the
// SDK's waiters.
func WaitReady(ctx context.Context, l lambda.GetFunctionAPIClient, function string, wait time.Duration) error {
	in := &lambda.GetFunctionInput{FunctionName: &function}
	opt := func(lo, hi *time.Duration) { *lo, *hi = 500*time.Millisecond, 5*time.Second }
	err := lambda.NewFunctionActiveV2Waiter(l, func(w *lambda.FunctionActiveV2WaiterOptions) { opt(&w.MinDelay, &w.MaxDelay) }).Wait(ctx, in, wait)
	if err == nil {
		err = lambda.NewFunctionUpdatedV2Waiter(l, func(w *lambda.FunctionUpdatedV2WaiterOptions) { opt(&w.MinDelay, &w.MaxDelay) }).Wait(ctx, in, wait)
	}
	if err != nil {
		why := err.Error()
		if out, gerr := l.GetFunction(ctx, in); gerr == nil && out.Configuration != nil {
			c := out.Configuration
			why = fmt.Sprintf("state %s %s, last update %s %s", c.State, Deref(c.StateReason), c.LastUpdateStatus, Deref(c.LastUpdateStatusReason))
		}
		return fmt.Errorf("function %s is not ready: %s", function, why)
	}
	return nil
}
