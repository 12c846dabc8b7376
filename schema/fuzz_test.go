package schema

import "testing"

// FuzzParse parses the fuzzer's schema with both transformers' settings:
// Parse must return models or an error, never panic. The seed corpus in
// testdata/fuzz/FuzzParse holds the repo's fixture schemas.
func FuzzParse(f *testing.F) {
	f.Add("type Todo @model @auth(rules: [{allow: owner}]) { id: ID! owner: String }")
	f.Fuzz(func(t *testing.T, body string) {
		for _, opts := range []Options{v2, {TransformerVersion: 1, DefaultClaim: "username"}} {
			models, err := Parse([]Source{{Name: "schema.graphql", Body: body}}, opts)
			if err != nil {
				continue
			}
			for _, m := range models {
				if m.Name == "" || m.PrimaryKey.Partition == "" {
					t.Fatalf("model %+v has no name or no partition key", m)
				}
			}
		}
	})
}
