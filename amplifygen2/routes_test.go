package amplifygen2

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestPlanOfAStringSchema: a schema given to defineData as a GraphQL
// string is read by the v2 rules (default claim sub::username, explicit
// claims, owners lists, @primaryKey and @index), as a.schema(...) is.
func TestPlanOfAStringSchema(t *testing.T) {
	pl := loadPlan(t, "testdata/sdl", Options{APIID: "api"})
	got := map[string][]owner{}
	tables := map[string]string{}
	for _, m := range pl.APIs[0].Models {
		got[m.Type] = ownersOf(m)
		tables[m.Type] = m.Table
	}
	want := map[string][]owner{
		"Todo":    {{"owner", "sub::username", false, true, "", false}},
		"Profile": {{"userId", "sub", false, true, "primary", true}},
		"Board":   {{"editors", "username", true, true, "", true}, {"owner", "sub::username", false, true, "", false}},
	}
	if len(got) != len(want) {
		t.Fatalf("models %v, want %v", got, want)
	}
	for model, w := range want {
		if len(got[model]) != len(w) {
			t.Errorf("%s: owners %+v, want %+v", model, got[model], w)
			continue
		}
		for i := range w {
			if got[model][i] != w[i] {
				t.Errorf("%s: owner %+v, want %+v", model, got[model][i], w[i])
			}
		}
		if tables[model] != model+"-api-NONE" {
			t.Errorf("%s: table %q", model, tables[model])
		}
	}
}

// TestPlanOfAIRoutes: a conversation route's two tables are models of
// the plan, owned by owner (sub::username, whatever identityClaim the
// route names), named in a warning; a generation route makes no table;
// and the models of both schemas a.combine joins are read.
func TestPlanOfAIRoutes(t *testing.T) {
	pl := loadPlan(t, "testdata/ai", Options{APIID: "api"})
	got := map[string][]owner{}
	for _, m := range pl.APIs[0].Models {
		got[m.Type] = ownersOf(m)
	}
	route := []owner{{"owner", "sub::username", false, true, "", false}}
	want := map[string][]owner{
		"Note":                       {{"owner", "sub::username", false, true, "", false}},
		"Ticket":                     {{"agent", "custom:agent_id", false, false, "", true}},
		"ConversationChat":           route,
		"ConversationMessageChat":    route,
		"ConversationSupport":        route,
		"ConversationMessageSupport": route,
	}
	if len(got) != len(want) {
		t.Fatalf("models %v, want %v", got, want)
	}
	for model, w := range want {
		if len(got[model]) != len(w) || got[model][0] != w[0] {
			t.Errorf("%s: owners %+v, want %+v", model, got[model], w)
		}
	}
	var messages []string
	for _, w := range pl.Warnings {
		if strings.HasPrefix(w.Code, "AI_") || w.Code == "OWNER_CLAIM_CUSTOM" {
			messages = append(messages, w.Code+": "+w.Message)
		}
	}
	all := strings.Join(messages, "\n")
	for _, want := range []string{
		"AI_CONVERSATION_ROUTE: conversation route chat keeps each user's conversations and messages in the models ConversationChat and ConversationMessageChat",
		"AI_CONVERSATION_ROUTE: conversation route support",
		"AI_CONVERSATION_CLAIM_IGNORED: conversation route support names identityClaim('sub')",
		"OWNER_CLAIM_CUSTOM: Ticket.agent",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no warning %q in\n%s", want, all)
		}
	}
	if strings.Contains(all, "summarize") {
		t.Errorf("the generation route is reported as keeping data:\n%s", all)
	}
}

// TestConversationRouteInAStringSchema: a mutation with @conversation in
// a schema string makes the same two tables.
func TestConversationRouteInAStringSchema(t *testing.T) {
	fsys := fstest.MapFS{
		"amplify/backend.ts": {Data: []byte("export {}\n")},
		"amplify/data/resource.ts": {Data: []byte("import { defineData } from '@aws-amplify/backend';\n" +
			"export const data = defineData({ schema: `type Todo @model @auth(rules: [{allow: owner}]) { content: String }\n" +
			"type Mutation { chat(conversationId: ID!): String @conversation(aiModel: \"m\", systemPrompt: \"p\", auth: {strategy: owner, provider: userPools}) }` });\n")},
	}
	p, err := Load(fsys, "/app")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range p.Data.Models {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, " "); got != "Todo ConversationChat ConversationMessageChat" {
		t.Errorf("models %s", got)
	}
}
