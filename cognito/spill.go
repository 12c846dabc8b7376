package cognito

import (
	"bufio"
	"fmt"
	"os"
	"unsafe"
)

// spill is an append-only file of fixed-size, pointer-free records that,
// once written, is mapped into memory and seen as a []T: the records of a
// pool of millions take page cache, which the system can reclaim, rather
// than the Go heap, so poolmigrate's heap stays the same size whatever the
// pool. The file lives in the state folder (0600: subs and usernames are
// personal data) and is removed by close.
type spill[T any] struct {
	f    *os.File
	w    *bufio.Writer
	n    int
	mem  []byte
	size int
}

func newSpill[T any](dir, name string) (*spill[T], error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, name+"-*.bin")
	if err != nil {
		return nil, fmt.Errorf("create a spill file in %s: %w", dir, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	var zero T
	return &spill[T]{f: f, w: bufio.NewWriterSize(f, 1<<20), size: int(unsafe.Sizeof(zero))}, nil
}

func (s *spill[T]) add(v T) error {
	s.n++
	_, err := s.w.Write(unsafe.Slice((*byte)(unsafe.Pointer(&v)), s.size))
	return err
}

// addBytes appends raw bytes (a spill of bytes: an arena).
func (s *spill[T]) addBytes(b []byte) error {
	s.n += len(b) / s.size
	_, err := s.w.Write(b)
	return err
}

// slice maps the file and returns its records; they may be changed (the
// mapping is shared with the file), for example sorted in place.
func (s *spill[T]) slice() ([]T, error) {
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("write %s: %w", s.f.Name(), err)
	}
	if s.n == 0 {
		return nil, nil
	}
	mem, err := mapFile(s.f, s.n*s.size)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", s.f.Name(), err)
	}
	s.mem = mem
	return unsafe.Slice((*T)(unsafe.Pointer(&mem[0])), s.n), nil
}

func (s *spill[T]) close() {
	if s == nil {
		return
	}
	if s.mem != nil {
		_ = unmapFile(s.mem)
		s.mem = nil
	}
	name := s.f.Name()
	_ = s.f.Close()
	_ = os.Remove(name)
}

// Store collects fixed-size, pointer-free records in the heap, or in a
// spill file mapped into memory when it has a folder; records are added,
// then the store is sealed and its slice sorted and read in place.
type Store[T any] struct{ s *store[T] }

// NewStore starts a store (dir "": in the heap).
func NewStore[T any](dir, name string) (*Store[T], error) {
	s, err := newStore[T](dir, name)
	if err != nil {
		return nil, err
	}
	return &Store[T]{s}, nil
}

// Add appends a record.
func (s *Store[T]) Add(v T) error { return s.s.add(v) }

// Seal returns the records.
func (s *Store[T]) Seal() ([]T, error) { return s.s.seal() }

// Close frees the store's file.
func (s *Store[T]) Close() {
	if s != nil {
		s.s.close()
	}
}

// store collects records in the heap, or in a spill file when it has a
// folder.
type store[T any] struct {
	mem []T
	sp  *spill[T]
}

func newStore[T any](dir, name string) (*store[T], error) {
	if dir == "" {
		return &store[T]{}, nil
	}
	sp, err := newSpill[T](dir, name)
	if err != nil {
		return nil, err
	}
	return &store[T]{sp: sp}, nil
}

func (s *store[T]) add(v T) error {
	if s.sp != nil {
		return s.sp.add(v)
	}
	s.mem = append(s.mem, v)
	return nil
}

// seal returns the records, ready to be sorted in place and read.
func (s *store[T]) seal() ([]T, error) {
	if s.sp != nil {
		return s.sp.slice()
	}
	s.mem = append([]T(nil), s.mem...) // exact size
	return s.mem, nil
}

func (s *store[T]) close() {
	if s != nil && s.sp != nil {
		s.sp.close()
	}
}
