package amplifygen2

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// StackReader is the part of CloudFormation that DeployedPool reads;
// *cloudformation.Client satisfies it.
type StackReader interface {
	DescribeStackResources(ctx context.Context, in *cfn.DescribeStackResourcesInput, optFns ...func(*cfn.Options)) (*cfn.DescribeStackResourcesOutput, error)
	GetTemplate(ctx context.Context, in *cfn.GetTemplateInput, optFns ...func(*cfn.Options)) (*cfn.GetTemplateOutput, error)
}

// DeployedPool is the user pool as its deployed auth stack declares it.
type DeployedPool struct {
	Stack               string
	LogicalID           string
	DeletionPolicy      string
	UpdateReplacePolicy string
}

// Retained tells whether the next deploy that removes or replaces the
// pool leaves it in place: CloudFormation applies the policies of the
// template it has deployed, not of the new one.
func (d DeployedPool) Retained() bool {
	return d.DeletionPolicy == "Retain" && d.UpdateReplacePolicy == "Retain"
}

// FindDeployedPool finds the stack that holds the pool (the Gen 2 auth
// stack, whose name carries a hash no file records) from the pool's id,
// and reads the pool's policies from the template CloudFormation holds.
func FindDeployedPool(ctx context.Context, api StackReader, poolID string) (DeployedPool, error) {
	var d DeployedPool
	var err error
	if d.Stack, d.LogicalID, err = poolStack(ctx, api, poolID); err != nil {
		return d, err
	}
	tmpl, err := api.GetTemplate(ctx, &cfn.GetTemplateInput{StackName: aws.String(d.Stack)})
	if err != nil {
		return d, fmt.Errorf("read the template of %s: %w", d.Stack, err)
	}
	var t struct {
		Resources map[string]struct {
			DeletionPolicy      string
			UpdateReplacePolicy string
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(tmpl.TemplateBody)), &t); err != nil {
		return d, fmt.Errorf("the template of %s is not JSON: %w", d.Stack, err)
	}
	r, ok := t.Resources[d.LogicalID]
	if !ok {
		return d, fmt.Errorf("the template of %s has no resource %s", d.Stack, d.LogicalID)
	}
	// CloudFormation's default for a user pool without a policy is Delete.
	d.DeletionPolicy, d.UpdateReplacePolicy = orDelete(r.DeletionPolicy), orDelete(r.UpdateReplacePolicy)
	return d, nil
}

func orDelete(s string) string {
	if s == "" {
		return "Delete"
	}
	return s
}
