// Package dynamo reads and rewrites the DynamoDB tables of an Amplify API:
// it lists and describes tables and (in later steps) remaps owner fields.
// Calls go through narrow interfaces that *dynamodb.Client satisfies.
package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableReader is the part of the DynamoDB API that table discovery needs.
type TableReader interface {
	ListTables(ctx context.Context, in *dynamodb.ListTablesInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ListTablesOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// Table is what discovery learns about one table.
type Table struct {
	Name      string               `json:"table"`
	Exists    bool                 `json:"exists"`
	Partition string               `json:"partition,omitempty"`
	Sort      string               `json:"sort,omitempty"`
	Indexes   map[string][2]string `json:"indexes,omitempty"`
	ItemCount int64                `json:"itemCount"`
	Stream    bool                 `json:"stream"`
}

// ListTableNames returns every table name in the account and region,
// following pagination.
func ListTableNames(ctx context.Context, api TableReader) ([]string, error) {
	var names []string
	p := dynamodb.NewListTablesPaginator(api, &dynamodb.ListTablesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		names = append(names, out.TableNames...)
	}
	return names, nil
}

// DescribeTable reads a table's keys and indexes. A missing table is not an
// error: Exists is false.
func DescribeTable(ctx context.Context, api TableReader, name string) (Table, error) {
	out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return Table{Name: name}, nil
		}
		return Table{}, fmt.Errorf("describe table %s: %w", name, err)
	}
	d := out.Table
	t := Table{Name: name, Exists: true, Indexes: map[string][2]string{}}
	if d.ItemCount != nil {
		t.ItemCount = *d.ItemCount
	}
	t.Stream = d.StreamSpecification != nil && d.StreamSpecification.StreamEnabled != nil && *d.StreamSpecification.StreamEnabled
	t.Partition, t.Sort = keyNames(d.KeySchema)
	for _, g := range d.GlobalSecondaryIndexes {
		h, r := keyNames(g.KeySchema)
		t.Indexes[*g.IndexName] = [2]string{h, r}
	}
	for _, l := range d.LocalSecondaryIndexes {
		h, r := keyNames(l.KeySchema)
		t.Indexes[*l.IndexName] = [2]string{h, r}
	}
	return t, nil
}

func keyNames(ks []types.KeySchemaElement) (hash, rng string) {
	for _, k := range ks {
		switch k.KeyType {
		case types.KeyTypeHash:
			hash = *k.AttributeName
		case types.KeyTypeRange:
			rng = *k.AttributeName
		}
	}
	return hash, rng
}
