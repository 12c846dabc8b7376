package cognito

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/poolmigrate/poolmigrate/linefile"
)

// LineMapEntry is one line of a line map: CSV data line → old identity.
type LineMapEntry struct {
	Line        int
	OldSub      string
	OldUsername string
	NewUsername string
}

// lineMapHeader is a line map's first line.
const lineMapHeader = "line,oldSub,oldUsername,newUsername"

// ReadLineMap streams a line map. A file that does not start with the
// header, a line that is not an entry, a line longer than
// linefile.MaxLine, or a last line cut short is refused, naming the file
// and the line.
func ReadLineMap(path string, fn func(LineMapEntry) error) error {
	f, err := linefile.Open(path, "line map")
	if err != nil {
		if errors.Is(err, linefile.ErrNotRegular) {
			return err
		}
		return fmt.Errorf("open line map: %w", err)
	}
	defer f.Close()
	r := linefile.NewReader(f, 0)
	refuse := func(err error) error {
		return &linefile.Error{What: "line map", Path: path, Line: r.Line(), Err: err,
			Hint: "the export folder was altered or damaged: run `poolmigrate export` again"}
	}
	for {
		raw, err := r.Next()
		switch {
		case err == io.EOF:
			if r.Line() == 0 {
				return &linefile.Error{What: "line map", Path: path, Line: 1, Err: errors.New("the file is empty: no header"),
					Hint: "the export folder was altered or damaged: run `poolmigrate export` again"}
			}
			return nil
		case errors.Is(err, linefile.ErrTornLine):
			return refuse(errors.New("the file ends in the middle of a line"))
		case err != nil:
			var tl *linefile.TooLongError
			if !errors.As(err, &tl) {
				return fmt.Errorf("read line map %s line %d: %w", path, r.Line()+1, err)
			}
			return refuse(err)
		}
		text := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
		if r.Line() == 1 {
			if text != lineMapHeader {
				return refuse(fmt.Errorf("no header: the line map starts with %s, not %q", quoteShort(text), lineMapHeader))
			}
			continue
		}
		parts := SplitEscaped(text)
		n, err := 0, error(nil)
		if len(parts) == 4 {
			n, err = strconv.Atoi(parts[0])
		}
		if len(parts) != 4 || err != nil || n < 1 {
			return refuse(fmt.Errorf("malformed entry %s (want line,oldSub,oldUsername,newUsername)", quoteShort(text)))
		}
		if err := fn(LineMapEntry{Line: n, OldSub: parts[1], OldUsername: parts[2], NewUsername: parts[3]}); err != nil {
			return err
		}
	}
}

// quoteShort quotes the start of a line for a message.
func quoteShort(s string) string {
	if len(s) > 120 {
		return fmt.Sprintf("%q…", s[:120])
	}
	return fmt.Sprintf("%q", s)
}

// ReadCSVRows streams an import CSV's rows by column name.
func ReadCSVRows(path string, fn func(line int, r Row) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open CSV: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), MaxRowChars*4+1024)
	var header []string
	line := 0
	for sc.Scan() {
		if header == nil {
			header = strings.Split(sc.Text(), ",")
			continue
		}
		line++
		vals := SplitEscaped(sc.Text())
		if len(vals) != len(header) {
			return fmt.Errorf("%s line %d: %d values for %d columns", path, line, len(vals), len(header))
		}
		r := Row{}
		for i, h := range header {
			r[h] = vals[i]
		}
		if err := fn(line, r); err != nil {
			return err
		}
	}
	return sc.Err()
}

// SplitEscaped splits a line on commas not escaped as \,.
func SplitEscaped(line string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == ',':
			cur.WriteByte(',')
			i++
		case line[i] == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(out, cur.String())
}
