package storage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/schema"
)

// Model is what identity-field checks need of a data model: its type,
// table, declared fields and owner fields.
type Model struct {
	Type        string
	Table       string
	Fields      []schema.Field
	OwnerFields []string
}

// FieldError is a --identity-field the schema refutes.
type FieldError struct {
	Spec, Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("--identity-field %s: %s", e.Spec, e.Reason)
}

// IdentityFields checks each "Type.field" of specs against the models
// and returns the fields, in the order given, each once. A field must be
// a declared String or ID (or a list of them) of a model, and not an
// owner field (those hold user pool identities, which remap rewrites).
func IdentityFields(specs []string, models []Model) ([]IdentityField, error) {
	out := []IdentityField{}
	seen := map[string]bool{}
	for _, spec := range specs {
		typ, field, ok := strings.Cut(spec, ".")
		if !ok || typ == "" || field == "" || strings.Contains(field, ".") {
			return nil, &FieldError{spec, "write it as Type.field (a model and one of its fields, e.g. Profile.identityId)"}
		}
		var m *Model
		var names []string
		for i := range models {
			names = append(names, models[i].Type)
			if models[i].Type == typ {
				m = &models[i]
			}
		}
		if m == nil {
			sort.Strings(names)
			if len(names) == 0 {
				return nil, &FieldError{spec, "the project's schema has no models"}
			}
			return nil, &FieldError{spec, fmt.Sprintf("the schema has no model %s (models: %s)", typ, strings.Join(names, ", "))}
		}
		var f *schema.Field
		var strs []string
		for i := range m.Fields {
			if stringField(m.Fields[i]) {
				strs = append(strs, m.Fields[i].Name)
			}
			if m.Fields[i].Name == field {
				f = &m.Fields[i]
			}
		}
		hint := "it has no String or ID field"
		if len(strs) > 0 {
			hint = "its String and ID fields: " + strings.Join(strs, ", ")
		}
		switch {
		case contains(m.OwnerFields, field):
			return nil, &FieldError{spec, fmt.Sprintf("%s.%s is an owner field: it holds a user pool identity (sub or username), which `remap` rewrites, not an identity id", typ, field)}
		case f == nil:
			return nil, &FieldError{spec, fmt.Sprintf("model %s declares no field %s (%s)", typ, field, hint)}
		case !stringField(*f):
			return nil, &FieldError{spec, fmt.Sprintf("%s.%s is of type %s; an identity id is a String (or ID, or a list of them): %s", typ, field, f.Type, hint)}
		}
		if seen[spec] {
			continue
		}
		seen[spec] = true
		out = append(out, IdentityField{Type: typ, Field: field, Table: m.Table, List: f.List})
	}
	return out, nil
}

// stringField tells whether a field can hold identity ids: String or ID,
// alone or in a list.
func stringField(f schema.Field) bool {
	t := strings.NewReplacer("[", "", "]", "", "!", "").Replace(f.Type)
	return t == "String" || t == "ID"
}

// ItemScanner is the part of DynamoDB that SampleIdentityValues reads;
// *dynamodb.Client satisfies it.
type ItemScanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// SampleSize is how many items of each table the check reads (one Scan
// page).
const SampleSize = 100

// CheckSampledValues reads up to SampleSize items of each model's table
// and warns for every string attribute whose values look like identity
// ids (REGION:GUID) and that is not among the plan's identity fields: an
// app that stores identity ids there needs them kept.
func (p *Plan) CheckSampledValues(ctx context.Context, api ItemScanner, models []Model) error {
	named := map[string]bool{}
	for _, f := range p.IdentityFields {
		named[f.Type+"."+f.Field] = true
	}
	for _, m := range models {
		if m.Table == "" {
			continue
		}
		out, err := api.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(m.Table), Limit: aws.Int32(SampleSize)})
		if err != nil {
			var nf *types.ResourceNotFoundException
			if errors.As(err, &nf) {
				continue // plan --live reports the missing table
			}
			return fmt.Errorf("sample table %s: %w", m.Table, err)
		}
		hits := map[string]int{}
		example := map[string]string{}
		for _, it := range out.Items {
			for attr, av := range it {
				for _, s := range stringsOf(av) {
					if LooksLikeIdentityID(s) {
						hits[attr]++
						if example[attr] == "" {
							example[attr] = s
						}
						break
					}
				}
			}
		}
		attrs := make([]string, 0, len(hits))
		for a := range hits {
			attrs = append(attrs, a)
		}
		sort.Strings(attrs)
		for _, a := range attrs {
			if named[m.Type+"."+a] {
				continue
			}
			p.warn("IDENTITY_FIELD_UNNAMED", "%s.%s (table %s) holds values like identity ids (%s) in %d of %d sampled items: if it stores Cognito identity ids (to build other users' file paths, say), name it with --identity-field %s.%s so the migration keeps it pointing at the user's files", m.Type, a, m.Table, Redact(example[a]), hits[a], len(out.Items), m.Type, a)
		}
	}
	return nil
}

// Redact shortens an identity id for messages: the region and the first
// four hex digits.
func Redact(id string) string {
	region, guid, ok := strings.Cut(id, ":")
	if !ok || len(guid) < 4 {
		return "…"
	}
	return region + ":" + guid[:4] + "…"
}

// stringsOf returns a string attribute's value, or a list's or string
// set's strings.
func stringsOf(av types.AttributeValue) []string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return []string{v.Value}
	case *types.AttributeValueMemberSS:
		return v.Value
	case *types.AttributeValueMemberL:
		var out []string
		for _, e := range v.Value {
			if s, ok := e.(*types.AttributeValueMemberS); ok {
				out = append(out, s.Value)
			}
		}
		return out
	}
	return nil
}
