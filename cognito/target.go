package cognito

import (
	"context"
	"fmt"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// The custom attributes that carry a user's old identity into the new pool,
// so owner fields can be remapped from old to new sub.
const (
	PrevSubAttr      = "custom:prev_sub_id"
	PrevUsernameAttr = "custom:prev_username"
)

// TargetAPI is the part of the Cognito API that reads (and --fix changes)
// the pool users move to.
type TargetAPI interface {
	PoolDescriber
	GetCSVHeader(ctx context.Context, in *cip.GetCSVHeaderInput, optFns ...func(*cip.Options)) (*cip.GetCSVHeaderOutput, error)
	AddCustomAttributes(ctx context.Context, in *cip.AddCustomAttributesInput, optFns ...func(*cip.Options)) (*cip.AddCustomAttributesOutput, error)
}

// Target is the new pool as the import will see it.
type Target struct {
	Pool   Pool
	Header []string // GetCSVHeader, in its order
}

// ReadTarget reads the new pool's configuration and CSV header.
func ReadTarget(ctx context.Context, api TargetAPI, id string) (Target, error) {
	p, err := DescribePool(ctx, api, id)
	if err != nil {
		return Target{}, err
	}
	h, err := api.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &id})
	if err != nil {
		return Target{}, fmt.Errorf("get CSV header of pool %s: %w", id, err)
	}
	return Target{Pool: p, Header: h.CSVHeader}, nil
}

// HasColumn tells whether the import CSV has a column.
func (t Target) HasColumn(name string) bool {
	for _, h := range t.Header {
		if h == name {
			return true
		}
	}
	return false
}

// MissingPrevAttributes lists the custom attributes for the old identity
// that the target lacks.
func (t Target) MissingPrevAttributes() []string {
	var out []string
	for _, a := range []string{PrevSubAttr, PrevUsernameAttr} {
		if !t.Pool.HasAttribute(a) && !t.HasColumn(a) {
			out = append(out, a)
		}
	}
	return out
}

// AddPrevAttributes adds the missing old-identity attributes to the pool,
// immutable.
// Custom attributes can never be removed from a pool, so callers say so
// before calling.
func AddPrevAttributes(ctx context.Context, api TargetAPI, id string, names []string) error {
	var schema []types.SchemaAttributeType
	for _, n := range names {
		short := n[len("custom:"):]
		schema = append(schema, types.SchemaAttributeType{
			Name:              &short,
			AttributeDataType: types.AttributeDataTypeString,
			// Immutable: set once, when the import, the admin import or the
			// trigger creates the user; never changed by the user afterwards.
			Mutable: ptr(false),
			StringAttributeConstraints: &types.StringAttributeConstraintsType{
				MinLength: ptr("0"), MaxLength: ptr("256"),
			},
		})
	}
	if len(schema) == 0 {
		return nil
	}
	if _, err := api.AddCustomAttributes(ctx, &cip.AddCustomAttributesInput{UserPoolId: &id, CustomAttributes: schema}); err != nil {
		return fmt.Errorf("add custom attributes %v to pool %s: %w", names, id, err)
	}
	return nil
}

func (t Target) signsInBy(attr string) bool {
	for _, a := range t.Pool.UsernameAttributes {
		if a == attr {
			return true
		}
	}
	return false
}

func (t Target) aliases(attr string) bool {
	for _, a := range t.Pool.AliasAttributes {
		if a == attr {
			return true
		}
	}
	return false
}

// caseInsensitive tells whether the target folds case in usernames and
// their aliases. Pools made through the API without UsernameConfiguration
// are case-sensitive.
func (t Target) caseInsensitive() bool {
	return t.Pool.CaseSensitive != nil && !*t.Pool.CaseSensitive
}
