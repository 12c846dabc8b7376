package gen2synth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// synthMemo holds, for each input a test process synthesized, the files
// cdk synth wrote (every one, as written: a later Synth of the same input
// gets a copy in its own folder; only the metadata's stack traces name
// the first synthesis's folder).
var synthMemo struct {
	mu      sync.Mutex
	entries map[string]*memoEntry
}

// memoEntry is one input's synthesis; mu is held while it runs, so a Synth
// of the same input at the same time waits for it instead of repeating it.
type memoEntry struct {
	mu    sync.Mutex
	files map[string]memoFile // by path under cdk.out; nil until a synthesis succeeds
	log   string
}

type memoFile struct {
	mode os.FileMode
	data []byte
}

func memoFor(key string) *memoEntry {
	synthMemo.mu.Lock()
	defer synthMemo.mu.Unlock()
	if synthMemo.entries == nil {
		synthMemo.entries = map[string]*memoEntry{}
	}
	m := synthMemo.entries[key]
	if m == nil {
		m = &memoEntry{}
		synthMemo.entries[key] = m
	}
	return m
}

// inputKey is a hash of everything a synthesis reads that can differ
// between two calls: the toolchain, the backend's three context keys, and
// every file of the project copy in work (path, mode and content).
func inputKey(toolchain, work string, b Backend) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "toolchain %q\nbackend %q %q %q\n", toolchain, b.Namespace, b.Name, b.Type)
	err := filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(work, p)
		fmt.Fprintf(h, "file %q %o %d\n", filepath.ToSlash(rel), info.Mode().Perm(), len(data))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

func readFiles(dir string) (map[string]memoFile, error) {
	files := map[string]memoFile{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel] = memoFile{mode: info.Mode().Perm(), data: data}
		return nil
	})
	return files, err
}

func writeFiles(dir string, files map[string]memoFile) error {
	for rel, f := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}
