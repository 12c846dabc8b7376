package statedir

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// FS returns the project at root for reading, as os.DirFS does, but no
// name may lead outside root: a symbolic link on the way (the file itself
// included) that resolves outside the project is refused with an
// *OutsideError naming the link, as PathIn refuses it for writes. A
// project file linked to /etc/passwd, or an amplify/backend linked to
// another app, would otherwise be read and its content shown. Links that
// stay inside the project are followed. Opens go through os.Root, so a
// link swapped in between a check and the read cannot slip through.
func FS(root string) fs.FS {
	return projectFS(root)
}

type projectFS string

var (
	_ fs.StatFS     = projectFS("")
	_ fs.ReadFileFS = projectFS("")
	_ fs.ReadDirFS  = projectFS("")
)

// with runs op on the project opened as an os.Root. Files it returns stay
// usable once the root is closed.
func (p projectFS) with(name string, op func(fs.FS) error) error {
	r, err := os.OpenRoot(string(p))
	if err != nil {
		return err
	}
	defer r.Close()
	if err := op(r.FS()); err != nil {
		return p.explain(name, err)
	}
	return nil
}

func (p projectFS) Open(name string) (f fs.File, err error) {
	err = p.with(name, func(fsys fs.FS) error { f, err = fsys.Open(name); return err })
	return f, err
}

func (p projectFS) Stat(name string) (fi fs.FileInfo, err error) {
	err = p.with(name, func(fsys fs.FS) error { fi, err = fs.Stat(fsys, name); return err })
	return fi, err
}

func (p projectFS) ReadFile(name string) (data []byte, err error) {
	err = p.with(name, func(fsys fs.FS) error { data, err = fs.ReadFile(fsys, name); return err })
	return data, err
}

func (p projectFS) ReadDir(name string) (entries []fs.DirEntry, err error) {
	err = p.with(name, func(fsys fs.FS) error { entries, err = fs.ReadDir(fsys, name); return err })
	return entries, err
}

// explain turns os.Root's "path escapes from parent" into an
// *OutsideError that names the link and where it leads. Other errors
// (a missing file above all) pass unchanged.
func (p projectFS) explain(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || !fs.ValidPath(name) {
		return err
	}
	root := string(p)
	realRoot, rerr := filepath.EvalSymlinks(root)
	if rerr != nil {
		return err
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		rel := path.Join(parts[:i+1]...)
		full := filepath.Join(root, filepath.FromSlash(rel))
		fi, lerr := os.Lstat(full)
		if lerr != nil || fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		target, _ := os.Readlink(full)
		if resolved, eerr := filepath.EvalSymlinks(full); eerr == nil {
			if inside(realRoot, resolved) {
				continue
			}
			target = resolved
		}
		return &OutsideError{Root: root, Path: name, Reading: true, Why: rel + " is a symbolic link to " + target + ", outside the project"}
	}
	if strings.Contains(err.Error(), "path escapes from parent") {
		return &OutsideError{Root: root, Path: name, Reading: true, Why: "a symbolic link on the way leads outside the project"}
	}
	return err
}
