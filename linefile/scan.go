package linefile

import (
	"errors"
	"fmt"
	"io"
)

// ScanJSON streams the JSON lines of the file at path (what names its role,
// as Open's does), each decoded strictly (DecodeJSON) into a T, checked by
// check and handed to fn. A last line cut short by a crash (ErrTornLine) is
// ignored. The first line that cannot be read, decoded or checked is
// refused as an *Error naming the file and line, with hint saying what to
// do. Open's own error (a missing file, one that is not regular) comes back
// as it is; fn's error ends the scan and comes back as it is.
func ScanJSON[T any](path, what, hint string, max int, check func(*T) error, fn func(T) error) error {
	return ScanRecords(path, what, "", hint, max, check, fn)
}

// ScanRecords is ScanJSON for a file whose lines are records of a kind
// named in the refusal of a line that does not decode ("not a <record>:
// ..."); record "" names none, as ScanJSON.
func ScanRecords[T any](path, what, record, hint string, max int, check func(*T) error, fn func(T) error) error {
	f, err := Open(path, what)
	if err != nil {
		return err
	}
	defer f.Close()
	r := NewReader(f, max)
	for {
		line, err := r.Next()
		switch {
		case err == io.EOF, errors.Is(err, ErrTornLine):
			return nil
		case err != nil:
			return &Error{What: what, Path: path, Line: r.Line(), Err: err, Hint: hint}
		}
		var v T
		err = DecodeJSON(line, &v)
		if err != nil && record != "" {
			err = fmt.Errorf("not a %s: %w", record, err)
		}
		if err == nil {
			err = check(&v)
		}
		if err != nil {
			return &Error{What: what, Path: path, Line: r.Line(), Err: err, Hint: hint}
		}
		if err := fn(v); err != nil {
			return err
		}
	}
}
