// Package cognito talks to Amazon Cognito user pools: it reads a pool's
// configuration, and (in later steps) backs up, checks, exports and imports
// users. Every call goes through narrow interfaces that the SDK client
// satisfies, so tests can use the project's Cognito shim or fakes.
package cognito

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// PoolDescriber is the part of the Cognito API that DescribePool needs.
type PoolDescriber interface {
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
}

// Pool is the configuration of a user pool that decides what a migration may
// carry and how users sign in.
type Pool struct {
	ID                     string      `json:"userPoolId"`
	Name                   string      `json:"name"`
	UsernameAttributes     []string    `json:"usernameAttributes"`
	AliasAttributes        []string    `json:"aliasAttributes"`
	AutoVerifiedAttributes []string    `json:"autoVerifiedAttributes"`
	MFA                    string      `json:"mfaConfiguration"`
	CaseSensitive          *bool       `json:"caseSensitive"`
	EstimatedUsers         int32       `json:"estimatedNumberOfUsers"`
	Attributes             []Attribute `json:"attributes"`
	// Triggers are the pool's Lambda triggers (LambdaConfig): event name
	// (PostConfirmation, PreSignUp, ...) to function ARN.
	Triggers map[string]string `json:"triggers,omitempty"`
}

// TriggerFunction returns the function name of a Lambda ARN (or the value
// itself when it is not an ARN).
func TriggerFunction(arn string) string {
	if i := strings.Index(arn, ":function:"); i >= 0 {
		name := arn[i+len(":function:"):]
		if j := strings.IndexByte(name, ':'); j >= 0 {
			name = name[:j] // a version or alias
		}
		return name
	}
	return arn
}

// Attribute is one schema attribute of a pool ("email", "custom:prev_sub_id").
type Attribute struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
	Mutable  bool   `json:"mutable"`
}

// ErrPoolNotFound is returned when the pool does not exist in the region.
var ErrPoolNotFound = errors.New("user pool not found")

// DescribePool reads a pool's configuration.
func DescribePool(ctx context.Context, api PoolDescriber, id string) (Pool, error) {
	out, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return Pool{}, fmt.Errorf("describe user pool %s: %w (check the pool id and the region)", id, ErrPoolNotFound)
		}
		return Pool{}, fmt.Errorf("describe user pool %s: %w", id, err)
	}
	up := out.UserPool
	p := Pool{
		ID:                     id,
		Name:                   deref(up.Name),
		UsernameAttributes:     enumStrings(up.UsernameAttributes),
		AliasAttributes:        enumStrings(up.AliasAttributes),
		AutoVerifiedAttributes: enumStrings(up.AutoVerifiedAttributes),
		MFA:                    string(up.MfaConfiguration),
		EstimatedUsers:         up.EstimatedNumberOfUsers,
		Attributes:             []Attribute{},
	}
	if p.MFA == "" {
		p.MFA = string(types.UserPoolMfaTypeOff)
	}
	if up.UsernameConfiguration != nil && up.UsernameConfiguration.CaseSensitive != nil {
		cs := *up.UsernameConfiguration.CaseSensitive
		p.CaseSensitive = &cs
	}
	if lc := up.LambdaConfig; lc != nil {
		for event, arn := range map[string]*string{
			"PreSignUp": lc.PreSignUp, "PostConfirmation": lc.PostConfirmation, "PreAuthentication": lc.PreAuthentication,
			"PostAuthentication": lc.PostAuthentication, "CustomMessage": lc.CustomMessage, "DefineAuthChallenge": lc.DefineAuthChallenge,
			"CreateAuthChallenge": lc.CreateAuthChallenge, "VerifyAuthChallengeResponse": lc.VerifyAuthChallengeResponse,
			"PreTokenGeneration": lc.PreTokenGeneration, "UserMigration": lc.UserMigration,
		} {
			if arn != nil && *arn != "" {
				if p.Triggers == nil {
					p.Triggers = map[string]string{}
				}
				p.Triggers[event] = *arn
			}
		}
		if lc.CustomEmailSender != nil && lc.CustomEmailSender.LambdaArn != nil {
			p.Triggers["CustomEmailSender"] = *lc.CustomEmailSender.LambdaArn
		}
		if lc.CustomSMSSender != nil && lc.CustomSMSSender.LambdaArn != nil {
			p.Triggers["CustomSMSSender"] = *lc.CustomSMSSender.LambdaArn
		}
	}
	for _, a := range up.SchemaAttributes {
		name := deref(a.Name)
		p.Attributes = append(p.Attributes, Attribute{
			Name:     name,
			Type:     string(a.AttributeDataType),
			Required: a.Required != nil && *a.Required,
			Mutable:  a.Mutable == nil || *a.Mutable,
		})
	}
	return p, nil
}

// HasAttribute tells whether the pool's schema declares the attribute.
func (p Pool) HasAttribute(name string) bool {
	for _, a := range p.Attributes {
		if a.Name == name {
			return true
		}
	}
	return false
}

func enumStrings[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TriggerRef is one of a pool's triggers.
type TriggerRef struct {
	Event    string
	Function string
}

// UndeclaredTriggers lists the pool's triggers whose function is none of
// declared (function resource names; Amplify deploys <name>-<env>): ones
// attached by hand, which nothing carries to a new pool.
func (p Pool) UndeclaredTriggers(declared []string, env string) []TriggerRef {
	events := make([]string, 0, len(p.Triggers))
	for e := range p.Triggers {
		events = append(events, e)
	}
	sort.Strings(events)
	var out []TriggerRef
	for _, event := range events {
		fn := TriggerFunction(p.Triggers[event])
		known := false
		for _, d := range declared {
			known = known || fn == d || fn == d+"-"+env
		}
		if !known {
			out = append(out, TriggerRef{Event: event, Function: fn})
		}
	}
	return out
}
