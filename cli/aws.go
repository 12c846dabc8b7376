package cli

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// awsClients are the SDK clients a command uses, all built from one
// config.LoadDefaultConfig so profiles, SSO, AWS_REGION and
// AWS_ENDPOINT_URL_<SERVICE> behave as AWS users expect.
type awsClients struct {
	cfg     aws.Config
	cognito *cip.Client
	dynamo  *dynamodb.Client
}

// account returns the AWS account the credentials belong to, or why it is
// unknown; it is shown before anything is written.
func (c *awsClients) logs() *cloudwatchlogs.Client { return cloudwatchlogs.NewFromConfig(c.cfg) }

func (c *awsClients) iam() *iam.Client { return iam.NewFromConfig(c.cfg) }

func (c *awsClients) lambda() *lambda.Client { return lambda.NewFromConfig(c.cfg) }

func (c *awsClients) cloudformation() *cloudformation.Client {
	return cloudformation.NewFromConfig(c.cfg)
}

func (c *awsClients) account(ctx context.Context) string {
	id, err := c.accountID(ctx)
	if err != nil {
		return "unknown (sts:GetCallerIdentity failed)"
	}
	return id
}

func (c *awsClients) accountID(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := sts.NewFromConfig(c.cfg, func(o *sts.Options) { o.RetryMaxAttempts = 1 }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("find the AWS account (sts:GetCallerIdentity): %w", err)
	}
	if out.Account == nil {
		return "", fmt.Errorf("find the AWS account: sts:GetCallerIdentity returned none")
	}
	return *out.Account, nil
}

func (a *App) newAWSClients(ctx context.Context, region, profile string) (*awsClients, error) {
	// Cognito's quotas are low and shared with production traffic: retry
	// throttling patiently, and without the retry token bucket, which a
	// long run of throttles would drain into hard failures.
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 10
				o.MaxBackoff = 20 * time.Second
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil && profile != "" {
		return nil, fmt.Errorf("load AWS configuration with profile %q: %w (the profile comes from --profile, POOLMIGRATE_PROFILE or the env's entry in amplify/.config/local-aws-info.json; create it with `aws configure --profile %s` or pass another)", profile, err, profile)
	}
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("no AWS region: pass --region, set AWS_REGION, or give the profile a region")
	}
	return &awsClients{
		cfg:     cfg,
		cognito: cip.NewFromConfig(cfg),
		dynamo: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			// DynamoDB Local omits the x-amz-crc32 header on error
			// responses: the check is off for an endpoint on this machine
			// only, never for AWS's own, FIPS or VPC endpoints. The SDK has
			// resolved BaseEndpoint (AWS_ENDPOINT_URL_DYNAMODB,
			// AWS_ENDPOINT_URL, the profile's endpoint_url) by now.
			o.DisableValidateResponseChecksum = o.BaseEndpoint != nil && loopbackURL(*o.BaseEndpoint)
		}),
	}, nil
}

// loopbackURL reports whether an endpoint URL's host is this machine:
// localhost, 127.0.0.0/8 or ::1.
func loopbackURL(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
