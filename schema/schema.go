// Package schema reads an Amplify GraphQL schema and finds, for every @model
// type, its DynamoDB keys and the owner fields of its @auth rules together
// with the identity claim each field stores. It follows the v1 and v2
// transformers' rules; it parses with gqlparser and never with patterns, so
// commented-out types stay out.
package schema

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// Source is one schema file.
type Source struct {
	Name string
	Body string
}

// Options carry the transformer settings that change how a schema reads.
type Options struct {
	TransformerVersion int
	// DefaultClaim is stored by owner rules that name no identityClaim.
	DefaultClaim string
}

// Model is one @model type.
type Model struct {
	Name string
	// TableBase is the first part of the table name: the @mapsTo name when
	// the model was renamed, else the type name.
	TableBase  string
	PrimaryKey Key
	Indexes    []Index
	Fields     []Field
	OwnerRules []OwnerRule
}

// Field is a declared field of a model.
type Field struct {
	Name string
	Type string // GraphQL type as written, e.g. "[String]!"
	List bool
}

// Key is a DynamoDB key: a partition attribute and the model fields that form
// the sort key. Two or more sort fields are stored in one composite attribute
// named "a#b" whose value joins the fields with "#".
type Key struct {
	Partition  string
	SortFields []string
}

// SortAttribute returns the DynamoDB attribute name of the sort key.
func (k Key) SortAttribute() string {
	return strings.Join(k.SortFields, "#")
}

// Index is a secondary index of the model's table.
type Index struct {
	Name string
	Key
}

// OwnerRule is one `allow: owner` rule, from the type or from a field.
type OwnerRule struct {
	Field string // the owner field (ownerField, default "owner")
	// Claim is what the field stores: "sub", "username", "sub::username",
	// or the raw claim when it is something else ("custom:tenant").
	Claim    string
	Provider string // "userPools" unless the rule says otherwise
	// Operations as written; empty means all.
	Operations []string
	// On is the field the rule was declared on, empty for a type rule.
	On string
}

// Remappable tells whether the rule stores a Cognito user pool identity that
// changes when users move to a new pool.
func (r OwnerRule) Remappable() bool {
	return r.Provider == "userPools" && (r.Claim == "sub" || r.Claim == "username" || r.Claim == "sub::username")
}

// MaxSize bounds the sources of one schema, all files together. The
// parser holds about 45 bytes of memory per byte of schema (a 50 MB file
// took 2.7 GB and 30 s); real Amplify schemas stay well under a megabyte,
// so this leaves them ample room while a hostile or corrupt file stays
// under 200 MB. The parser bounds nesting itself (1,000 levels).
const MaxSize = 4 << 20

// Parse parses the schema sources (the files of one API's schema, which the
// CLI concatenates) without validation, since Amplify's directives are not
// declared in the files.
func Parse(sources []Source, opts Options) ([]Model, error) {
	srcs := make([]*ast.Source, len(sources))
	size := 0
	for i, s := range sources {
		srcs[i] = &ast.Source{Name: s.Name, Input: s.Body}
		if size += len(s.Body); size > MaxSize {
			return nil, &TooLargeError{Path: s.Name, Size: int64(size)}
		}
	}
	doc, err := parser.ParseSchemas(srcs...)
	if err != nil {
		return nil, fmt.Errorf("parse GraphQL schema: %w", err)
	}
	var models []Model
	for _, def := range doc.Definitions {
		if def.Kind != ast.Object || def.Directives.ForName("model") == nil {
			continue
		}
		m, err := readModel(def, opts)
		if err != nil {
			return nil, err
		}
		models = append(models, m)
	}
	return models, nil
}

func readModel(def *ast.Definition, opts Options) (Model, error) {
	m := Model{Name: def.Name, TableBase: def.Name}
	if d := def.Directives.ForName("mapsTo"); d != nil {
		if name := stringArg(d, "name"); name != "" {
			m.TableBase = name
		}
	}
	for _, f := range def.Fields {
		m.Fields = append(m.Fields, Field{Name: f.Name, Type: f.Type.String(), List: f.Type.Elem != nil})
	}

	var err error
	if opts.TransformerVersion >= 2 {
		m.PrimaryKey, m.Indexes, err = keysV2(def)
	} else {
		m.PrimaryKey, m.Indexes, err = keysV1(def)
	}
	if err != nil {
		return Model{}, err
	}

	for _, d := range def.Directives.ForNames("auth") {
		m.OwnerRules = append(m.OwnerRules, ownerRules(d, "", opts)...)
	}
	for _, f := range def.Fields {
		for _, d := range f.Directives.ForNames("auth") {
			m.OwnerRules = append(m.OwnerRules, ownerRules(d, f.Name, opts)...)
		}
	}
	return m, nil
}

// FieldByName returns a declared field.
func (m Model) FieldByName(name string) (Field, bool) {
	for _, f := range m.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// ownerRules reads the `allow: owner` rules of one @auth directive.
func ownerRules(d *ast.Directive, on string, opts Options) []OwnerRule {
	arg := d.Arguments.ForName("rules")
	if arg == nil || arg.Value == nil {
		return nil
	}
	var out []OwnerRule
	for _, item := range listItems(arg.Value) {
		if item.Kind != ast.ObjectValue || fieldRaw(item, "allow") != "owner" {
			continue
		}
		r := OwnerRule{
			Field:    fieldRaw(item, "ownerField"),
			Provider: fieldRaw(item, "provider"),
			On:       on,
		}
		if r.Field == "" {
			r.Field = "owner"
		}
		if r.Provider == "" {
			r.Provider = "userPools"
		}
		claim := fieldRaw(item, "identityClaim")
		if claim == "" {
			claim = fieldRaw(item, "identityField") // v1's deprecated spelling
		}
		r.Claim = normalizeClaim(claim, opts)
		if ops := item.Children.ForName("operations"); ops != nil {
			for _, op := range listItems(ops) {
				r.Operations = append(r.Operations, op.Raw)
			}
		}
		out = append(out, r)
	}
	return out
}

func normalizeClaim(claim string, opts Options) string {
	switch claim {
	case "":
		if opts.DefaultClaim != "" {
			return opts.DefaultClaim
		}
		return "username"
	case "cognito:username":
		return "username"
	}
	return claim
}

// listItems returns a list value's elements; GraphQL lets a single value
// stand for a one-element list.
func listItems(v *ast.Value) []*ast.Value {
	if v.Kind != ast.ListValue {
		return []*ast.Value{v}
	}
	out := make([]*ast.Value, 0, len(v.Children))
	for _, c := range v.Children {
		out = append(out, c.Value)
	}
	return out
}

func fieldRaw(obj *ast.Value, name string) string {
	if v := obj.Children.ForName(name); v != nil {
		return v.Raw
	}
	return ""
}

func stringArg(d *ast.Directive, name string) string {
	if a := d.Arguments.ForName(name); a != nil && a.Value != nil {
		return a.Value.Raw
	}
	return ""
}

// fieldListArg reads a directive argument that lists field names
// (@key's fields, sortKeyFields). Every item must be a non-empty name: an
// object, a list or an empty string there is a schema the transformer
// rejects, and a key built from it would have no attribute to read.
func fieldListArg(model string, d *ast.Directive, name string) ([]string, error) {
	a := d.Arguments.ForName(name)
	if a == nil || a.Value == nil {
		return nil, nil
	}
	var out []string
	for _, v := range listItems(a.Value) {
		if (v.Kind != ast.StringValue && v.Kind != ast.EnumValue) || v.Raw == "" {
			return nil, fmt.Errorf("model %s: @%s(%s:) must list field names, and %q is not one", model, d.Name, name, v.String())
		}
		out = append(out, v.Raw)
	}
	return out, nil
}

// TooLargeError is a schema larger than MaxSize; Path names the file
// that takes it over.
type TooLargeError struct {
	Path string
	Size int64 // the size counted when the limit was passed
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("read the GraphQL schema: it holds more than %d MiB (%d bytes counted up to %s), more than any Amplify schema; check that the schema files are the ones you deploy (stray or generated files in the schema folder count too) and run again", MaxSize>>20, e.Size, e.Path)
}
