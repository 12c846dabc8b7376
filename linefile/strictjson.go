package linefile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// DecodeJSON decodes one JSON record into v the way every reader of the
// file must see it. encoding/json matches object keys to struct fields
// without regard to case, and a later duplicate key wins, where other
// readers (gjson, jq, a person) take the first or the exact one: a record
// holding both "sub" and "SUB", or "sub" twice, would mean one thing to one
// reader and another to the next. So such a record is refused: a key twice
// in one object, or a key that is a struct field's name in another case.
// Nesting is bounded by encoding/json (10,000 levels), the line by Reader.
func DecodeJSON(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return checkKeys(dec, reflect.TypeOf(v))
}

// checkKeys walks the next value of dec, knowing the Go type it decodes
// into (nil: none, the value is skipped by encoding/json).
func checkKeys(dec *json.Decoder, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if d == '[' {
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := checkKeys(dec, elem); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	var fields map[string]field
	var elem reflect.Type
	switch {
	case t != nil && t.Kind() == reflect.Struct:
		fields = fieldsOf(t)
	case t != nil && t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		if seen[key] {
			return fmt.Errorf("key %q appears twice in one object", key)
		}
		seen[key] = true
		next := elem
		if fields != nil {
			f, ok := fields[fold(key)]
			switch {
			case ok && f.name != key:
				return fmt.Errorf("key %q is %q in another case", key, f.name)
			case ok:
				next = f.typ
			default:
				next = nil
			}
		}
		if err := checkKeys(dec, next); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

type field struct {
	name string
	typ  reflect.Type
}

var fieldCache sync.Map // reflect.Type → map[string]field

// fieldsOf lists a struct's JSON field names by their folded case (the
// fields poolmigrate decodes into have names distinct in any case; an
// embedded struct's fields are not looked into, none is used).
func fieldsOf(t reflect.Type) map[string]field {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]field)
	}
	m := map[string]field{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name := sf.Name
		if tag, _, _ := strings.Cut(sf.Tag.Get("json"), ","); tag == "-" {
			continue
		} else if tag != "" {
			name = tag
		}
		m[fold(name)] = field{name: name, typ: sf.Type}
	}
	fieldCache.Store(t, m)
	return m
}

// fold is encoding/json's folding of a key: two keys fold alike exactly
// when it takes them for the same field (bytes.EqualFold), so "ſub" (a
// long s) is "sub" too.
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			b.WriteRune(unicode.ToUpper(r))
			continue
		}
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		b.WriteRune(r)
	}
	return b.String()
}
