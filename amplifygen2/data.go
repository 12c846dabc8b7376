package amplifygen2

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/schema"
)

// Data is what amplify/data/resource.ts declares with defineData.
type Data struct {
	// Name is the API's name (defineData's name, default amplifyData).
	Name   string
	Models []Model
	// TableMappings are migratedAmplifyGen1DynamoDbTableMappings: the Gen 1
	// tables an app moved from Gen 1 keeps, per branch.
	TableMappings []TableMapping
	// SDL is the model schema poolmigrate derived from the file, in the
	// GraphQL form the transformer reads (model-schema.graphql), or the
	// schema string the file gives defineData.
	SDL string
	// Routes are the AI Kit routes (a.conversation, a.generation); the
	// tables a conversation route makes are among Models.
	Routes []Route
}

// Model is a model with the owner fields the transformer adds.
type Model struct {
	schema.Model
	// Implicit are the owner fields the file does not declare, which the
	// transformer adds (owner: String, or [String] for ownersDefinedIn).
	Implicit map[string]bool
}

// TableMapping is one branch's Gen 1 table names by model.
type TableMapping struct {
	Branch string
	Tables map[string]string
}

// defaultDataName is the API name defineData uses when the file names none.
const defaultDataName = "amplifyData"

// readData interprets the recorded exports of data/resource.ts.
func readData(exports value) (*Data, error) {
	def := findNode(exports, "defineData")
	if def == nil {
		return nil, fmt.Errorf("no defineData(...) export")
	}
	props := def.arg(0)
	d := &Data{Name: defaultDataName}
	if n := props.str(); n != "" {
		d.Name = n
	}
	if n, ok := props.get("name"); ok && n.str() != "" {
		d.Name = n.str()
	}
	sch, ok := props.get("schema")
	if ok && sch.Node == nil && sch.str() != "" {
		// A schema written as a GraphQL string, which defineData accepts
		// too: read as the transformer reads it.
		d.SDL = sch.str()
		models, routes, err := readSDL(d.SDL)
		if err != nil {
			return nil, err
		}
		d.Models, d.Routes = models, routes
		return d, readTableMappings(d, props)
	}
	if !ok || sch.Node == nil {
		return nil, fmt.Errorf("defineData has no schema: neither a.schema(...) nor a GraphQL string")
	}
	var schemas []*node
	if sch.Node.Ctor == "a.combine" {
		for _, s := range sch.Node.arg(0).items() {
			if s.Node != nil {
				schemas = append(schemas, s.Node)
			}
		}
	} else {
		schemas = []*node{sch.Node}
	}
	var sdl strings.Builder
	implicit := map[string]map[string]bool{}
	var routeModels []Model
	for _, s := range schemas {
		if s.Ctor != "a.schema" {
			return nil, fmt.Errorf("defineData's schema is %s, not a.schema(...)", s.Ctor)
		}
		global := rules(s)
		for _, e := range s.arg(0).Entries {
			if e.Value.Node == nil {
				continue
			}
			if r, models, ok := recordedRoute(e.Key, e.Value.Node); ok {
				d.Routes = append(d.Routes, r)
				routeModels = append(routeModels, models...)
				continue
			}
			if e.Value.Node.Ctor != "a.model" {
				continue // custom types, enums, queries, mutations
			}
			implicit[e.Key] = writeModel(&sdl, e.Key, e.Value.Node, global)
		}
	}
	d.SDL = sdl.String()
	models, err := schema.Parse([]schema.Source{{Name: "amplify/data/resource.ts", Body: d.SDL}},
		schema.Options{TransformerVersion: 2, DefaultClaim: amplifyproj.ClaimSubUsername})
	if err != nil {
		return nil, fmt.Errorf("read the models: %w", err)
	}
	for _, m := range models {
		d.Models = append(d.Models, Model{Model: m, Implicit: implicit[m.Name]})
	}
	d.Models = append(d.Models, routeModels...)
	return d, readTableMappings(d, props)
}

// readTableMappings reads migratedAmplifyGen1DynamoDbTableMappings.
func readTableMappings(d *Data, props value) error {
	if mv, ok := props.get("migratedAmplifyGen1DynamoDbTableMappings"); ok {
		for _, item := range mv.items() {
			tm := TableMapping{Tables: map[string]string{}}
			if b, ok := item.get("branchName"); ok {
				tm.Branch = b.str()
			}
			if m, ok := item.get("modelNameToTableNameMapping"); ok {
				for _, e := range m.Entries {
					tm.Tables[e.Key] = e.Value.str()
				}
			}
			d.TableMappings = append(d.TableMappings, tm)
		}
	}
	return nil
}

// findNode finds an export (or the default export) built by ctor.
func findNode(exports value, ctor string) *node {
	for _, e := range exports.Entries {
		if e.Value.Node != nil && e.Value.Node.Ctor == ctor {
			return e.Value.Node
		}
	}
	return nil
}

// rule is one owner rule as written in the file.
type rule struct {
	field    string
	claim    string // "" = the default (sub::username)
	provider string
	multi    bool
	ops      []string
}

// rules reads the owner rules of a node's .authorization(allow => [...]).
func rules(n *node) []rule {
	args, ok := n.called("authorization")
	if !ok || len(args) == 0 {
		return nil
	}
	var out []rule
	for _, r := range args[0].items() {
		if r.Node == nil {
			continue
		}
		var ru rule
		switch r.Node.Ctor {
		case "owner":
			ru = rule{field: "owner", provider: r.Node.arg(0).str()}
		case "ownerDefinedIn":
			ru = rule{field: r.Node.arg(0).str(), provider: r.Node.arg(1).str()}
		case "ownersDefinedIn":
			ru = rule{field: r.Node.arg(0).str(), provider: r.Node.arg(1).str(), multi: true}
		default:
			continue // groups, authenticated, guest, publicApiKey, custom, resource
		}
		if ru.provider == "" {
			ru.provider = "userPools"
		}
		if c, ok := r.Node.called("identityClaim"); ok && len(c) > 0 {
			ru.claim = c[0].str()
		}
		if ops, ok := r.Node.called("to"); ok && len(ops) > 0 {
			ru.ops = ops[0].strings()
		}
		out = append(out, ru)
	}
	return out
}

// graphqlTypes maps a.<type>() to the GraphQL type the schema gets.
var graphqlTypes = map[string]string{
	"a.id": "ID", "a.string": "String", "a.integer": "Int", "a.float": "Float", "a.boolean": "Boolean",
	"a.date": "AWSDate", "a.time": "AWSTime", "a.datetime": "AWSDateTime", "a.timestamp": "AWSTimestamp",
	"a.email": "AWSEmail", "a.json": "AWSJSON", "a.phone": "AWSPhone", "a.url": "AWSURL", "a.ipAddress": "AWSIPAddress",
	"a.enum": "String", "a.ref": "String",
}

// writeModel writes one model as the GraphQL type the transformer reads
// and returns the owner fields it added because the file does not declare
// them.
func writeModel(b *strings.Builder, name string, m *node, global []rule) map[string]bool {
	fields := m.arg(0)
	ident := []string{"id"}
	if args, ok := m.called("identifier"); ok && len(args) > 0 && len(args[0].strings()) > 0 {
		ident = args[0].strings()
	}
	indexes := map[string][]string{}
	for _, args := range callsNamed(m, "secondaryIndexes") {
		if len(args) == 0 {
			continue
		}
		for _, ix := range args[0].items() {
			if ix.Node == nil {
				continue
			}
			field := ix.Node.arg(0).str()
			var parts []string
			if a, ok := ix.Node.called("name"); ok && len(a) > 0 {
				parts = append(parts, "name: "+strconv.Quote(a[0].str()))
			}
			if a, ok := ix.Node.called("sortKeys"); ok && len(a) > 0 {
				parts = append(parts, "sortKeyFields: "+quoteList(a[0].strings()))
			}
			indexes[field] = append(indexes[field], "@index"+argList(parts))
		}
	}
	owner := append(append([]rule{}, global...), rules(m)...)

	fmt.Fprintf(b, "type %s @model", name)
	writeAuth(b, owner)
	b.WriteString(" {\n")
	declared := map[string]bool{}
	write := func(field, typ string) {
		declared[field] = true
		fmt.Fprintf(b, "  %s: %s", field, typ)
		if field == ident[0] {
			b.WriteString(" @primaryKey")
			if len(ident) > 1 {
				b.WriteString("(sortKeyFields: " + quoteList(ident[1:]) + ")")
			}
		}
		for _, ix := range indexes[field] {
			b.WriteString(" " + ix)
		}
	}
	if ident[0] == "id" && !hasEntry(fields, "id") {
		write("id", "ID!")
		b.WriteString("\n")
	}
	for _, e := range fields.Entries {
		f := e.Value.Node
		if f == nil {
			continue
		}
		typ, ok := graphqlTypes[f.Ctor]
		if !ok {
			continue // relationships (a.hasMany, a.belongsTo, a.hasOne) are not stored
		}
		list := f.has("array")
		required := f.has("required")
		if list {
			typ = "[" + typ + "]"
		}
		if required || (e.Key == ident[0]) {
			typ += "!"
		}
		write(e.Key, typ)
		if fr := rules(f); len(fr) > 0 {
			writeAuth(b, fr)
		}
		b.WriteString("\n")
	}
	implicit := map[string]bool{}
	var extra []string
	for _, r := range owner {
		if declared[r.field] || implicit[r.field] {
			continue
		}
		implicit[r.field] = true
		typ := "String"
		if r.multi {
			typ = "[String]"
		}
		extra = append(extra, fmt.Sprintf("  %s: %s\n", r.field, typ))
	}
	sort.Strings(extra)
	for _, x := range extra {
		b.WriteString(x)
	}
	b.WriteString("}\n\n")
	return implicit
}

func writeAuth(b *strings.Builder, rs []rule) {
	if len(rs) == 0 {
		return
	}
	var items []string
	for _, r := range rs {
		parts := []string{"allow: owner", "ownerField: " + strconv.Quote(r.field), "provider: " + r.provider}
		if r.claim != "" {
			parts = append(parts, "identityClaim: "+strconv.Quote(r.claim))
		}
		if len(r.ops) > 0 {
			parts = append(parts, "operations: ["+strings.Join(r.ops, ", ")+"]")
		}
		items = append(items, "{"+strings.Join(parts, ", ")+"}")
	}
	b.WriteString(" @auth(rules: [" + strings.Join(items, ", ") + "])")
}

func callsNamed(n *node, name string) [][]value {
	var out [][]value
	for _, c := range n.Calls {
		if c.Name == name {
			out = append(out, c.Args)
		}
	}
	return out
}

func hasEntry(v value, key string) bool {
	_, ok := v.get(key)
	return ok
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func argList(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
