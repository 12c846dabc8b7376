// Package backendpatch changes an Amplify project's backend files for a user
// pool migration: it detaches every dependency on the old auth resource, so
// that `amplify remove auth` succeeds, and re-points the backend at the new
// auth resource afterwards. JSON is edited in place with sjson so each file
// keeps its formatting; every change is computed before anything is
// written, shown as a unified diff, written atomically with a copy of the
// original in the state folder, and can be undone.
package backendpatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// Change is one file's new content (nil: the file is deleted).
type Change struct {
	Path   string // relative to the project root, with slashes
	Old    []byte // nil: the file did not exist
	New    []byte
	Reason []string
}

// ChangeSet is every change of one operation.
type ChangeSet struct {
	Root    string
	Changes map[string]*Change
	// Notes are things the user must do by hand (function code reading the
	// old resource's environment variables, say).
	Notes []string
}

func newChangeSet(root string) *ChangeSet {
	return &ChangeSet{Root: root, Changes: map[string]*Change{}}
}

// load returns a file's current content in the change set (after earlier
// changes), or ok=false when it does not exist.
func (cs *ChangeSet) load(rel string) ([]byte, bool, error) {
	if c, ok := cs.Changes[rel]; ok {
		return c.New, c.New != nil, nil
	}
	full, err := cs.path(rel)
	if err != nil {
		return nil, false, err
	}
	data, err := os.ReadFile(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", rel, err)
	}
	return data, true, nil
}

// path is rel's place in the project; a path that leads outside the root
// (a resource name with "../", a folder linked elsewhere) is refused.
func (cs *ChangeSet) path(rel string) (string, error) {
	return statedir.PathIn(cs.Root, rel)
}

// loadJSON is load for a JSON file, refusing malformed JSON by name.
func (cs *ChangeSet) loadJSON(rel string) (string, bool, error) {
	data, ok, err := cs.load(rel)
	if err != nil || !ok {
		return "", ok, err
	}
	var bad *amplifyproj.JSONError
	if err := amplifyproj.CheckJSON(rel, data); errors.As(err, &bad) {
		return "", true, fmt.Errorf("%s is not valid JSON (%s, at line %d, column %d): fix it (or restore it with git) before patching; no file was changed", rel, bad.Detail, bad.Line, bad.Column)
	}
	return string(data), true, nil
}

// set records a file's new content.
func (cs *ChangeSet) set(rel string, content []byte, reason string) error {
	c, ok := cs.Changes[rel]
	if !ok {
		old, exists, err := cs.load(rel)
		if err != nil {
			return err
		}
		if !exists {
			old = nil
		}
		c = &Change{Path: rel, Old: old}
		cs.Changes[rel] = c
	}
	c.New = content
	c.Reason = append(c.Reason, reason)
	if c.New != nil && c.Old != nil && string(c.New) == string(c.Old) {
		delete(cs.Changes, rel)
	}
	return nil
}

// Empty tells whether there is nothing to change.
func (cs *ChangeSet) Empty() bool { return len(cs.Changes) == 0 }

// Paths lists the changed files in order.
func (cs *ChangeSet) Paths() []string {
	out := make([]string, 0, len(cs.Changes))
	for p := range cs.Changes {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Diff renders every change as a unified diff.
func (cs *ChangeSet) Diff() string {
	var b strings.Builder
	for _, p := range cs.Paths() {
		c := cs.Changes[p]
		b.WriteString(UnifiedDiff("a/"+p, "b/"+p, string(c.Old), string(c.New)))
	}
	return b.String()
}

// record is what Apply keeps in the state folder to undo an operation.
type record struct {
	Op      string          `json:"op"`
	Time    time.Time       `json:"time"`
	Files   []recordFile    `json:"files"`
	Extra   json.RawMessage `json:"extra,omitempty"`
	Applied bool            `json:"applied"`
}

type recordFile struct {
	Path    string `json:"path"`
	Existed bool   `json:"existed"`
	Copy    string `json:"copy,omitempty"` // the original, under the record's folder
	Deleted bool   `json:"deleted"`
}

// Apply keeps a copy of every file it touches under
// <stateDir>/patches/<time>-<op>/, then writes the changes atomically. A
// crash in between leaves the copies, so Undo can restore them.
func (cs *ChangeSet) Apply(stateDir, op string, extra any) (string, error) {
	// Every path is checked before anything is written.
	full := map[string]string{}
	for _, p := range cs.Paths() {
		f, err := cs.path(p)
		if err != nil {
			return "", err
		}
		full[p] = f
	}
	now := time.Now().UTC()
	dir := filepath.Join(stateDir, "patches", now.Format("20060102T150405.000000000Z")+"-"+op)
	rec := record{Op: op, Time: now}
	if extra != nil {
		data, err := json.Marshal(extra)
		if err != nil {
			return "", err
		}
		rec.Extra = data
	}
	for i, p := range cs.Paths() {
		c := cs.Changes[p]
		rf := recordFile{Path: p, Existed: c.Old != nil, Deleted: c.New == nil}
		if c.Old != nil {
			rf.Copy = fmt.Sprintf("files/%03d-%s", i, strings.ReplaceAll(p, "/", "__"))
			if err := statedir.WriteFile(filepath.Join(dir, rf.Copy), c.Old); err != nil {
				return "", err
			}
		}
		rec.Files = append(rec.Files, rf)
	}
	if err := writeRecord(dir, rec); err != nil {
		return "", err
	}
	for _, p := range cs.Paths() {
		c := cs.Changes[p]
		full := full[p]
		if c.New == nil {
			if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return dir, fmt.Errorf("delete %s: %w (undo restores the files changed so far)", p, err)
			}
			removeEmptyParents(cs.Root, filepath.Dir(full))
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return dir, fmt.Errorf("%w (undo restores the files changed so far)", err)
		}
		if err := writeKeepingMode(full, c.New); err != nil {
			return dir, fmt.Errorf("%w (undo restores the files changed so far)", err)
		}
	}
	rec.Applied = true
	return dir, writeRecord(dir, rec)
}

// removeEmptyParents removes dir and its parents while they are empty,
// up to the project root (a moved resource leaves no empty folders).
func removeEmptyParents(root, dir string) {
	for dir != root && strings.HasPrefix(dir, root) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

func writeRecord(dir string, rec record) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return statedir.WriteFile(filepath.Join(dir, "record.json"), data)
}

// writeKeepingMode writes a project file atomically, keeping its mode
// (project files are not private, unlike poolmigrate's state).
func writeKeepingMode(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	f, err := statedir.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// newestRecord finds the newest record of op in the state folder that
// want accepts.
func newestRecord(stateDir, op string, want func(record) bool) (string, record, bool, error) {
	dirs, _ := filepath.Glob(filepath.Join(stateDir, "patches", "*-"+op))
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		data, err := os.ReadFile(filepath.Join(dirs[i], "record.json"))
		if err != nil {
			continue // a folder a crash left before its record
		}
		var rec record
		if err := json.Unmarshal(data, &rec); err != nil {
			return "", rec, false, fmt.Errorf("read %s: %w", dirs[i], err)
		}
		if want(rec) {
			return dirs[i], rec, true, nil
		}
	}
	return "", record{}, false, nil
}

// Undo restores the files of the newest record of op (applied, or cut short
// by a crash) and marks the record undone. It returns the restored paths.
func Undo(root, stateDir, op string) ([]string, error) {
	dir, rec, ok, err := newestRecord(stateDir, op, func(record) bool { return true })
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("nothing to undo: no %s recorded in %s", op, filepath.Join(stateDir, "patches"))
	}
	// The record is a file like any other: its paths are checked, all of
	// them before anything is restored.
	full, copies := map[string]string{}, map[string]string{}
	for _, f := range rec.Files {
		if full[f.Path], err = statedir.PathIn(root, f.Path); err != nil {
			return nil, fmt.Errorf("undo %s: %w", dir, err)
		}
		if f.Existed {
			if copies[f.Path], err = statedir.PathIn(dir, f.Copy); err != nil {
				return nil, fmt.Errorf("undo %s: %w", dir, err)
			}
		}
	}
	var restored []string
	for _, f := range rec.Files {
		full := full[f.Path]
		if !f.Existed {
			if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return restored, fmt.Errorf("undo %s: %w", f.Path, err)
			}
			removeEmptyParents(root, filepath.Dir(full))
			restored = append(restored, f.Path)
			continue
		}
		orig, err := os.ReadFile(copies[f.Path])
		if err != nil {
			return restored, fmt.Errorf("undo %s: the copy is missing: %w", f.Path, err)
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return restored, err
		}
		if err := writeKeepingMode(full, orig); err != nil {
			return restored, err
		}
		restored = append(restored, f.Path)
	}
	if err := os.Rename(dir, dir+".undone"); err != nil {
		return restored, fmt.Errorf("mark %s undone: %w", dir, err)
	}
	return restored, nil
}

// lastExtra decodes the extra data of the newest record of op that has
// some.
func lastExtra(stateDir, op string, v any) (bool, error) {
	_, rec, ok, err := newestRecord(stateDir, op, func(r record) bool { return len(r.Extra) > 0 })
	if err != nil || !ok {
		return false, err
	}
	return true, json.Unmarshal(rec.Extra, v)
}
