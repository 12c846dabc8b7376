package amplifygen2

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/schema"
)

// Route is an AI Kit route of the schema (a.conversation or a.generation).
type Route struct {
	Name string
	// Kind is "conversation" or "generation".
	Kind string
	// Claim is the identityClaim the route's owner rule names, "" for
	// none. The conversation transformer does not pass it on: the tables
	// store the default claim whatever it says.
	Claim string
	// Models are the models the transformer makes for the route: a
	// conversation's Conversation<Route> and ConversationMessage<Route>
	// tables; none for a generation, which only calls the AI model.
	Models []string
}

// conversationRoute is what the conversation transformer
// (@aws-amplify/graphql-conversation-transformer) makes for a route: two
// owner-auth models, each with its own table, their owner field "owner"
// filled with the default claim (its @auth rule names no identityClaim),
// and the indexes it gives them. Checked against the real toolchain's
// synthesized stacks by TestEveryConstructAgreesWithTheSynthesizedStacks.
func conversationRoute(name string) (Route, []Model) {
	route := upperFirst(name)
	conv, msg := "Conversation"+route, "ConversationMessage"+route
	owner := []schema.OwnerRule{{Field: "owner", Claim: amplifyproj.ClaimSubUsername, Provider: "userPools"}}
	implicit := map[string]bool{"owner": true}
	models := []Model{
		{Model: schema.Model{
			Name: conv, TableBase: conv,
			PrimaryKey: schema.Key{Partition: "id"},
			Indexes:    []schema.Index{{Name: "gsi-Conversation.typename.updatedAt", Key: schema.Key{Partition: "__typename", SortFields: []string{"updatedAt"}}}},
			Fields:     []schema.Field{{Name: "id", Type: "ID!"}, {Name: "name", Type: "String"}, {Name: "metadata", Type: "AWSJSON"}},
			OwnerRules: owner,
		}, Implicit: implicit},
		{Model: schema.Model{
			Name: msg, TableBase: msg,
			PrimaryKey: schema.Key{Partition: "id"},
			Indexes: []schema.Index{
				{Name: "gsi-" + conv + ".messages", Key: schema.Key{Partition: "conversationId"}},
				{Name: "gsi-ConversationMessage.conversationId.createdAt", Key: schema.Key{Partition: "conversationId", SortFields: []string{"createdAt"}}},
			},
			Fields:     []schema.Field{{Name: "id", Type: "ID!"}, {Name: "conversationId", Type: "ID!"}},
			OwnerRules: owner,
		}, Implicit: implicit},
	}
	return Route{Name: name, Kind: "conversation", Models: []string{conv, msg}}, models
}

// recordedRoute reads an a.conversation(...) or a.generation(...) entry
// of a.schema; ok is false for anything else.
func recordedRoute(name string, n *node) (Route, []Model, bool) {
	switch n.Ctor {
	case "a.conversation":
		r, models := conversationRoute(name)
		for _, ru := range rules(n) {
			if ru.claim != "" {
				r.Claim = ru.claim
			}
		}
		return r, models, true
	case "a.generation":
		return Route{Name: name, Kind: "generation"}, nil, true
	}
	return Route{}, nil, false
}

// readSDL reads a schema defineData was given as a GraphQL string: its
// models by the transformer v2 rules the Gen 1 reader applies, and the
// conversation routes its mutations declare (@conversation).
func readSDL(sdl string) ([]Model, []Route, error) {
	models, err := schema.Parse([]schema.Source{{Name: DataPath, Body: sdl}},
		schema.Options{TransformerVersion: 2, DefaultClaim: amplifyproj.ClaimSubUsername})
	if err != nil {
		return nil, nil, fmt.Errorf("read the schema string: %w", err)
	}
	var out []Model
	for _, m := range models {
		implicit := map[string]bool{}
		for _, r := range m.OwnerRules {
			if _, ok := m.FieldByName(r.Field); !ok {
				implicit[r.Field] = true
			}
		}
		out = append(out, Model{Model: m, Implicit: implicit})
	}
	doc, err := parser.ParseSchemas(&ast.Source{Name: DataPath, Input: sdl})
	if err != nil {
		return nil, nil, fmt.Errorf("read the schema string: %w", err)
	}
	var routes []Route
	for _, def := range append(append(ast.DefinitionList{}, doc.Definitions...), doc.Extensions...) {
		if def.Name != "Mutation" {
			continue
		}
		for _, f := range def.Fields {
			if f.Directives.ForName("conversation") == nil {
				continue
			}
			r, models := conversationRoute(f.Name)
			routes = append(routes, r)
			out = append(out, models...)
		}
	}
	return out, routes, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
