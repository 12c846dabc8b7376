//go:build !unix

package cognito

import (
	"io"
	"os"
)

// Without mmap (Windows), the records are read into the heap.
func mapFile(f *os.File, size int) ([]byte, error) {
	b := make([]byte, size)
	_, err := io.ReadFull(io.NewSectionReader(f, 0, int64(size)), b)
	return b, err
}

func unmapFile([]byte) error { return nil }
