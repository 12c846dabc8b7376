// Package statedir owns poolmigrate's state folder, <project root>/.poolmigrate:
// backups, CSVs, journals and copies of patched files, all of which hold
// personal data. Files are created 0600 in folders 0700 and committed
// atomically, so a crash never leaves a half-written file under its final
// name. The folder is kept out of git and out of amplify/, whose backend/ the
// Amplify CLI uploads on every push. PathIn keeps every file poolmigrate
// writes or removes inside the project root.
package statedir

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Name is the state folder's name inside the project root.
const Name = ".poolmigrate"

// Ensure creates <root>/.poolmigrate (0700) and makes sure the root's
// .gitignore ignores it. It returns the folder's path.
func Ensure(root string) (string, error) {
	dir := filepath.Join(root, Name)
	// A link would send backups (personal data) wherever it points: into
	// amplify/backend, which every push uploads, or to another user's
	// folder. The state folder must be a real folder in the root.
	if fi, err := os.Lstat(dir); err == nil && !fi.IsDir() {
		return "", fmt.Errorf("%s is not a folder (a symbolic link or a file): poolmigrate keeps backups and journals, which hold personal data, only in a real folder of the project; remove it (or move it aside) and run again", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create state folder %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("protect state folder %s: %w", dir, err)
	}
	if err := ignore(root); err != nil {
		return "", err
	}
	return dir, nil
}

// ignore appends "/.poolmigrate/" to root/.gitignore unless a line already
// ignores it.
func ignore(root string) error {
	path, err := PathIn(root, ".gitignore")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		switch strings.TrimSpace(sc.Text()) {
		case Name, Name + "/", "/" + Name, "/" + Name + "/":
			return nil
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("add %s to %s: %w", Name, path, err)
	}
	defer f.Close()
	prefix := ""
	if len(data) > 0 && !strings.HasSuffix(string(data), "\n") {
		prefix = "\n"
	}
	if _, err := fmt.Fprintf(f, "%s# poolmigrate's backups, CSVs and journals hold personal data\n/%s/\n", prefix, Name); err != nil {
		return fmt.Errorf("add %s to %s: %w", Name, path, err)
	}
	return nil
}

// File is a private file being written; nothing appears under its final
// name until Commit.
type File struct {
	*os.File
	final string
	done  bool
}

// Create starts writing a 0600 file that Commit will move to path.
func Create(path string) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create folder for %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &File{File: f, final: path}, nil
}

// Commit syncs the file and renames it to its final name.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("commit %s: already closed", f.final)
	}
	f.done = true
	if err := f.Sync(); err != nil {
		f.abort()
		return fmt.Errorf("write %s: %w", f.final, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.final, err)
	}
	if err := os.Rename(f.Name(), f.final); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.final, err)
	}
	return syncDir(filepath.Dir(f.final))
}

// Abort drops the file; it is safe after Commit.
func (f *File) Abort() {
	if !f.done {
		f.done = true
		f.abort()
	}
}

func (f *File) abort() {
	f.Close()
	os.Remove(f.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil // not all systems can open a folder; the rename stands
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

// WriteFile writes data to path atomically with mode 0600.
func WriteFile(path string, data []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}
