package schema

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/vektah/gqlparser/v2/ast"
)

// keysV2 reads @primaryKey and @index, which v2 puts on fields. Without
// @primaryKey the table's partition key is "id".
func keysV2(def *ast.Definition) (Key, []Index, error) {
	pk := Key{Partition: "id"}
	var seenPK bool
	var idx []Index
	for _, f := range def.Fields {
		for _, d := range f.Directives {
			switch d.Name {
			case "primaryKey":
				if seenPK {
					return Key{}, nil, fmt.Errorf("model %s: more than one @primaryKey", def.Name)
				}
				seenPK = true
				sort, err := fieldListArg(def.Name, d, "sortKeyFields")
				if err != nil {
					return Key{}, nil, err
				}
				pk = Key{Partition: f.Name, SortFields: sort}
			case "index":
				sort, err := fieldListArg(def.Name, d, "sortKeyFields")
				if err != nil {
					return Key{}, nil, err
				}
				k := Key{Partition: f.Name, SortFields: sort}
				name := stringArg(d, "name")
				if name == "" {
					name = defaultIndexName(def.Name, f.Name, k.SortFields)
				}
				idx = append(idx, Index{Name: name, Key: k})
			}
		}
	}
	return pk, idx, nil
}

// keysV1 reads @key on the type: without a name it is the primary key, with
// a name a secondary index. fields[0] is the partition key, the rest the sort
// key (composite when two or more).
func keysV1(def *ast.Definition) (Key, []Index, error) {
	pk := Key{Partition: "id"}
	var idx []Index
	for _, d := range def.Directives.ForNames("key") {
		fields, err := fieldListArg(def.Name, d, "fields")
		if err != nil {
			return Key{}, nil, err
		}
		if len(fields) == 0 {
			return Key{}, nil, fmt.Errorf("model %s: @key without fields", def.Name)
		}
		k := Key{Partition: fields[0], SortFields: fields[1:]}
		if name := stringArg(d, "name"); name != "" {
			idx = append(idx, Index{Name: name, Key: k})
		} else {
			pk = k
		}
	}
	return pk, idx, nil
}

// defaultIndexName mirrors the v2 index transformer's name for an @index
// without a name: lowerFirst(plural(model)) + "By" + upperFirst(fields) joined
// by "And". The transformer pluralises with the npm "pluralize" package; the
// common English rules below agree with it for regular nouns, and
// `plan --live` confirms the index against the real table.
func defaultIndexName(model, field string, sortFields []string) string {
	parts := make([]string, 0, 1+len(sortFields))
	for _, f := range append([]string{field}, sortFields...) {
		parts = append(parts, upperFirst(f))
	}
	return lowerFirst(plural(model)) + "By" + strings.Join(parts, "And")
}

func plural(s string) string {
	lower := strings.ToLower(s)
	switch {
	case strings.HasSuffix(lower, "s"), strings.HasSuffix(lower, "x"), strings.HasSuffix(lower, "z"),
		strings.HasSuffix(lower, "ch"), strings.HasSuffix(lower, "sh"):
		return s + "es"
	case len(lower) > 1 && strings.HasSuffix(lower, "y") && !strings.ContainsRune("aeiou", rune(lower[len(lower)-2])):
		return s[:len(s)-1] + "ies"
	}
	return s + "s"
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}
