package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// PathIn returns the path of rel (relative, slash-separated) inside root,
// refusing any that would lead outside it: an absolute path, a ".." that
// climbs out, or a symbolic link on the way (the file itself included)
// that resolves outside root or to nothing. Every file poolmigrate writes
// or removes in a project, and every path it builds from project data,
// goes through here: a hostile or damaged project file (a resource named
// "../../x", a folder replaced by a link to elsewhere) must not make it
// touch anything outside the project.
func PathIn(root, rel string) (string, error) {
	local := filepath.FromSlash(rel)
	if !filepath.IsLocal(local) {
		return "", &OutsideError{Root: root, Path: rel, Why: "it is not a path inside the project"}
	}
	full := filepath.Join(root, local)
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("resolve the project root %s: %w", root, err)
	}
	// Resolve the deepest part of the path that exists; what does not
	// exist yet is created under it.
	p, rest := full, ""
	for {
		resolved, err := filepath.EvalSymlinks(p)
		if err == nil {
			if !inside(realRoot, filepath.Join(resolved, rest)) {
				return "", &OutsideError{Root: root, Path: rel, Why: "a symbolic link on the way leads to " + resolved}
			}
			return full, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("resolve %s: %w", full, err)
		}
		if _, lerr := os.Lstat(p); lerr == nil {
			return "", &OutsideError{Root: root, Path: rel, Why: filepath.Base(p) + " is a symbolic link that leads nowhere"}
		}
		parent := filepath.Dir(p)
		if parent == p || !inside(root, parent) && parent != root {
			return "", &OutsideError{Root: root, Path: rel, Why: "the project root does not exist"}
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// inside tells whether path is root or lies under it (both cleaned).
func inside(root, path string) bool {
	r, err := filepath.Rel(root, path)
	return err == nil && (r == "." || filepath.IsLocal(r))
}

// OutsideError is a path that would lead outside the project root.
type OutsideError struct {
	Root, Path, Why string
	// Reading tells a refused read (FS) from a refused write (PathIn).
	Reading bool
}

func (e *OutsideError) Error() string {
	if e.Reading {
		return fmt.Sprintf("refusing to read %s: %s, and poolmigrate reads only files inside the project %s. Replace the link with the files themselves (or run poolmigrate in the project the link leads to) and run again", e.Path, e.Why, e.Root)
	}
	return fmt.Sprintf("refusing %s: %s, and poolmigrate writes and removes files only inside the project %s; nothing was written. Check the project's files (a resource name or a symbolic link) and run again", e.Path, e.Why, e.Root)
}
