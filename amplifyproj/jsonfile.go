package amplifyproj

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/statedir"
)

// MaxJSONSize bounds a project JSON file. amplify-meta.json, the largest
// the CLI writes, holds a few hundred kilobytes even for big apps; a file
// larger than this is not one the Amplify CLI wrote, and reading it whole
// could exhaust memory.
const MaxJSONSize = 32 << 20

// readJSON reads a project JSON file. A missing file is not an error (many
// Amplify files are git-ignored); a malformed one is, and the error names the
// file, line and column so the user can fix it.
func readJSON(fsys fs.FS, path string) (gjson.Result, bool, error) {
	data, err := ReadFile(fsys, path, MaxJSONSize)
	if errors.Is(err, fs.ErrNotExist) {
		return gjson.Result{}, false, nil
	}
	if err != nil {
		return gjson.Result{}, false, err
	}
	if err := CheckJSON(path, data); err != nil {
		return gjson.Result{}, true, fmt.Errorf("%w; fix the file (or restore it with git) and run again", err)
	}
	return gjson.ParseBytes(data), true, nil
}

// CheckJSON refuses data that is not one JSON value with a *JSONError
// naming the file (name), the line and the column. It must pass before
// gjson reads data: gjson's validator recurses once per nesting level, so
// a file of ten million "[" overflows the stack and kills the process,
// while encoding/json's scanner is iterative and stops at a depth of
// 10,000.
func CheckJSON(name string, data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var v any
	err := json.Unmarshal(data, &v)
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		return &JSONError{Path: name, Detail: "malformed JSON", Line: 1, Column: 1}
	}
	e := &JSONError{Path: name, Detail: syn.Error()}
	e.Line, e.Column = LineColumn(data, syn.Offset)
	if strings.HasSuffix(syn.Error(), "exceeded max depth") {
		e.Detail = "values nested more than 10,000 levels deep (no Amplify tool writes such a file)"
	}
	return e
}

// JSONError is a project file that is not JSON.
type JSONError struct {
	Path, Detail string
	Line, Column int
}

func (e *JSONError) Error() string {
	return fmt.Sprintf("read %s: %s, at line %d, column %d", e.Path, e.Detail, e.Line, e.Column)
}

// LineColumn turns a byte offset into data into a 1-based line and column
// (in bytes), for messages that point into a file.
func LineColumn(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 1 {
		return 1, 1
	}
	before := data[:offset-1]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// ReadFile reads the project file name through fsys, refusing what is not
// a regular file (a FIFO would block, a device never ends) and what holds
// more than limit bytes, without reading more than limit+1 of it. A
// missing file's error wraps fs.ErrNotExist.
func ReadFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	var outside *statedir.OutsideError
	if errors.As(err, &outside) {
		return nil, err // it names the file already
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: it is not a regular file (%s); replace it with the file itself and run again", name, fi.Mode().Type())
	}
	if fi.Size() > limit {
		return nil, &TooLargeError{Path: name, Size: fi.Size(), Limit: limit}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Path: name, Size: int64(len(data)), Limit: limit}
	}
	return data, nil
}

// TooLargeError is a project file larger than poolmigrate reads.
type TooLargeError struct {
	Path        string
	Size, Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("read %s: it holds %d bytes, more than the %d MiB poolmigrate reads of such a file; check that it is the file the Amplify tools wrote (restore it with git, or regenerate it) and run again", e.Path, e.Size, e.Limit>>20)
}

// key escapes a JSON object key for use in a gjson path, since Amplify
// resource and env names may contain characters gjson treats as syntax.
func key(k string) string {
	return gjson.Escape(k)
}
