package linefile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// DecodeJSON decodes one JSON record into v the way every reader of the
// file must see it. encoding/json matches object keys to struct fields
// without regard to case, and a later duplicate key wins, where other
// readers (gjson, jq, a person) take the first or the exact one: a record
// holding both "sub" and "SUB", or "sub" twice, would mean one thing to one
// reader and another to the next. So such a record is refused: a key twice
// in one object, or a key that is a struct field's name in another case.
// Bytes that are not UTF-8 are refused too (encoding/json reads them as
// U+FFFD). Nesting is bounded by encoding/json (10,000 levels), the line
// by Reader.
func DecodeJSON(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	// encoding/json reads a byte that is not UTF-8 as U+FFFD where other
	// readers keep it: two names would be one to it.
	if !utf8.Valid(data) {
		return errors.New("the line is not UTF-8 text")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	_, err := checkKeys(data, 0, reflect.TypeOf(v))
	return err
}

// checkKeys walks the value at data[i:] (JSON that encoding/json has
// validated, so at most 10,000 levels deep), knowing the Go type it
// decodes into (nil: none, encoding/json skips it), and returns the index
// after it.
func checkKeys(data []byte, i int, t reflect.Type) (int, error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	i = skipSpace(data, i)
	switch data[i] {
	case '"':
		_, end := stringAt(data, i)
		return end, nil
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		i = skipSpace(data, i+1)
		for data[i] != ']' {
			var err error
			if i, err = checkKeys(data, i, elem); err != nil {
				return 0, err
			}
			if i = skipSpace(data, i); data[i] == ',' {
				i++
			}
			i = skipSpace(data, i)
		}
		return i + 1, nil
	case '{':
		return checkObject(data, i, t)
	default: // a number, true, false or null
		for i < len(data) && !bytes.ContainsRune([]byte(",]} \t\r\n"), rune(data[i])) {
			i++
		}
		return i, nil
	}
}

func checkObject(data []byte, i int, t reflect.Type) (int, error) {
	var fields []field
	var elem reflect.Type
	switch {
	case t != nil && t.Kind() == reflect.Struct:
		fields = fieldsOf(t)
	case t != nil && t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	var seen keySet
	i = skipSpace(data, i+1)
	for data[i] != '}' {
		key, end := stringAt(data, i)
		if !seen.add(key) {
			return 0, fmt.Errorf("key %q appears twice in one object", key)
		}
		next := elem
		if t != nil && t.Kind() == reflect.Struct {
			next = nil
			for _, f := range fields {
				// encoding/json's own match: bytes.EqualFold.
				if strings.EqualFold(f.name, key) {
					if f.name != key {
						return 0, fmt.Errorf("key %q is %q in another case", key, f.name)
					}
					next = f.typ
					break
				}
			}
		}
		i = skipSpace(data, end) + 1 // the colon
		var err error
		if i, err = checkKeys(data, i, next); err != nil {
			return 0, err
		}
		if i = skipSpace(data, i); data[i] == ',' {
			i++
		}
		i = skipSpace(data, i)
	}
	return i + 1, nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

// stringAt reads the (valid) JSON string at data[i], returning its value
// and the index after it.
func stringAt(data []byte, i int) (string, int) {
	escaped := false
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			if !escaped {
				return string(data[i+1 : j]), j + 1
			}
			var s string
			json.Unmarshal(data[i:j+1], &s) // valid: checked by Unmarshal
			return s, j + 1
		}
	}
	return "", len(data)
}

type field struct {
	name string
	typ  reflect.Type
}

var fieldCache sync.Map // reflect.Type → []field

// fieldsOf lists a struct's JSON fields (an embedded struct's fields are
// not looked into: none is used in what poolmigrate decodes).
func fieldsOf(t reflect.Type) []field {
	if m, ok := fieldCache.Load(t); ok {
		return m.([]field)
	}
	var fields []field
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
		fields = append(fields, field{name: name, typ: sf.Type})
	}
	fieldCache.Store(t, fields)
	return fields
}

// keySet remembers an object's keys: a short list for the few keys of a
// record, a map past them.
type keySet struct {
	few  [16]string
	n    int
	many map[string]bool
}

// add adds a key, telling whether it was new.
func (s *keySet) add(key string) bool {
	if s.many != nil {
		if s.many[key] {
			return false
		}
		s.many[key] = true
		return true
	}
	for _, k := range s.few[:s.n] {
		if k == key {
			return false
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = key
		s.n++
		return true
	}
	s.many = map[string]bool{key: true}
	for _, k := range s.few {
		s.many[k] = true
	}
	return true
}
