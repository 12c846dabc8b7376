// Package linefile reads the line files poolmigrate writes and reads back
// (backups, remap journals, line maps) as files it did not write: only
// regular files, lines of bounded length, JSON records decoded one way
// (duplicate and case-variant keys refused), and every refusal naming the
// file and the line.
package linefile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxLine is the longest line read: far above any record poolmigrate
// writes (a user, a journaled item of DynamoDB's 400 KB), far below what
// would exhaust memory.
const MaxLine = 64 << 20

// ErrTornLine is returned for a last line without its newline.
var ErrTornLine = errors.New("the file ends in the middle of a line")

// ErrNotRegular is returned for a path that is a folder, a device, a pipe
// or a socket.
var ErrNotRegular = errors.New("not a regular file")

// Open opens a file to read, refusing anything but a regular file before
// opening it (opening a pipe would wait for a writer, and a device can
// be endless). what names the file's role in the messages ("journal").
func Open(path, what string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, what, fi); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = regular(path, what, fi)
		}
		return nil, err
	}
	return f, nil
}

func regular(path, what string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	kind := "a device, pipe or socket"
	if fi.IsDir() {
		kind = "a folder"
	}
	return fmt.Errorf("%s %s is %s, %w: pass the %s file itself", what, path, kind, ErrNotRegular, what)
}

// Reader reads a file line by line, each at most max bytes long.
type Reader struct {
	r    *bufio.Reader
	max  int
	line int
	buf  []byte
}

// NewReader reads r's lines, each at most max bytes (MaxLine if max is 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = MaxLine
	}
	return &Reader{r: bufio.NewReaderSize(r, 1<<20), max: max}
}

// Line is the number of the line Next returned last (1 for the first).
func (r *Reader) Line() int { return r.line }

// Next returns the next line, its newline included; the slice is valid
// until the next call. At the end it returns io.EOF; a last line without
// its newline comes with ErrTornLine; a line longer than the maximum is
// refused (*TooLongError) without reading it whole. Any other error is the
// read's own.
func (r *Reader) Next() ([]byte, error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.r.ReadSlice('\n')
		if len(r.buf)+len(chunk) > r.max {
			r.line++
			return nil, &TooLongError{Max: r.max}
		}
		switch {
		case err == nil && len(r.buf) == 0:
			r.line++
			return chunk, nil
		case err == nil:
			r.line++
			r.buf = append(r.buf, chunk...)
			return r.buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			r.buf = append(r.buf, chunk...)
		case errors.Is(err, io.EOF):
			r.buf = append(r.buf, chunk...)
			if len(r.buf) == 0 {
				return nil, io.EOF
			}
			r.line++
			return r.buf, ErrTornLine
		default:
			return nil, err
		}
	}
}

// TooLongError refuses a line longer than the reader's maximum.
type TooLongError struct{ Max int }

func (e *TooLongError) Error() string {
	return fmt.Sprintf("the line is longer than %d MiB (no file poolmigrate writes has such lines)", e.Max>>20)
}

// Error is a refusal of one line of a file.
type Error struct {
	// What is the file's role ("journal", "backup", "line map").
	What, Path string
	Line       int
	Err        error
	// Hint says what to do.
	Hint string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s line %d: %v", e.What, e.Path, e.Line, e.Err)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }
