package linefile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// DropTornTail cuts a last line that a crash left half-written from the
// file at path (what names its role in the messages, "journal"), so the
// next record appended starts on a line of its own. The file is read
// backwards from its end to its last newline, a block at a time (a journal
// of millions of records is not read whole). A missing file is no error.
func DropTornTail(path, what string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read %s %s: %w", what, path, err)
	}
	end := fi.Size()
	buf := make([]byte, 64<<10)
	cut := int64(0)
	for pos := end; pos > 0; {
		start := max(pos-int64(len(buf)), 0)
		block := buf[:pos-start]
		if _, err := f.ReadAt(block, start); err != nil {
			return fmt.Errorf("read %s %s: %w", what, path, err)
		}
		if i := bytes.LastIndexByte(block, '\n'); i >= 0 {
			cut = start + int64(i) + 1
			break
		}
		pos = start
	}
	if cut == end {
		return nil
	}
	if err := os.Truncate(path, cut); err != nil {
		return fmt.Errorf("repair %s %s: %w", what, path, err)
	}
	return nil
}
