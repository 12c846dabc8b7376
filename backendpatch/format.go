package backendpatch

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// setArray replaces the array at path with elems (raw JSON), laid out the
// way the file lays out its arrays: `[]` when empty, one line when the
// array was on one line, otherwise one element a line at the file's
// indentation. The rest of the file is untouched.
func setArray(content, path string, elems []string) (string, error) {
	cur := gjson.Get(content, path)
	if !cur.Exists() {
		return sjson.SetRaw(content, path, layoutArray(content, -1, elems, false))
	}
	if !cur.IsArray() || cur.Index <= 0 {
		return "", fmt.Errorf("%s is not an array", path)
	}
	inline := cur.Raw != "[]" && !strings.Contains(cur.Raw, "\n")
	return content[:cur.Index] + layoutArray(content, cur.Index, elems, inline) + content[cur.Index+len(cur.Raw):], nil
}

func layoutArray(content string, at int, elems []string, inline bool) string {
	if len(elems) == 0 {
		return "[]"
	}
	if inline {
		return "[" + strings.Join(elems, ", ") + "]"
	}
	indent := ""
	if at > 0 {
		lineStart := strings.LastIndexByte(content[:at], '\n') + 1
		line := content[lineStart:at]
		indent = line[:len(line)-len(strings.TrimLeft(line, " \t"))]
	}
	unit := indentUnit(content)
	var b strings.Builder
	b.WriteString("[\n")
	for i, e := range elems {
		b.WriteString(indent + unit + e)
		if i < len(elems)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(indent + "]")
	return b.String()
}

// indentUnit is the file's indentation step: a tab, or the spaces of its
// first indented line.
func indentUnit(content string) string {
	for _, line := range strings.Split(content, "\n")[1:] {
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || len(trimmed) == len(line) {
			continue
		}
		lead := line[:len(line)-len(trimmed)]
		if strings.HasPrefix(lead, "\t") {
			return "\t"
		}
		return lead
	}
	return "  "
}

// rawElems returns an array's elements as raw JSON.
func rawElems(arr gjson.Result) []string {
	var out []string
	for _, e := range arr.Array() {
		out = append(out, e.Raw)
	}
	return out
}
