package amplifyproj

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/tidwall/gjson"
)

// readJSON reads a project JSON file. A missing file is not an error (many
// Amplify files are git-ignored); a malformed one is, and the error names the
// file and the byte offset so the user can fix it.
func readJSON(fsys fs.FS, path string) (gjson.Result, bool, error) {
	data, err := fs.ReadFile(fsys, path)
	if errors.Is(err, fs.ErrNotExist) {
		return gjson.Result{}, false, nil
	}
	if err != nil {
		return gjson.Result{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	if !gjson.ValidBytes(data) {
		var v any
		detail := "malformed JSON"
		var syn *json.SyntaxError
		if err := json.Unmarshal(data, &v); errors.As(err, &syn) {
			detail = fmt.Sprintf("%s at byte %d", syn.Error(), syn.Offset)
		}
		return gjson.Result{}, true, fmt.Errorf("read %s: %s; fix the file (or restore it with git) and run again", path, detail)
	}
	return gjson.ParseBytes(data), true, nil
}

// key escapes a JSON object key for use in a gjson path, since Amplify
// resource and env names may contain characters gjson treats as syntax.
func key(k string) string {
	return gjson.Escape(k)
}
