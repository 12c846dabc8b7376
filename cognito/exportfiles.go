package cognito

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// LineMapEntry is one line of a line map: CSV data line → old identity.
type LineMapEntry struct {
	Line        int
	OldSub      string
	OldUsername string
	NewUsername string
}

// ReadLineMap streams a line map.
func ReadLineMap(path string, fn func(LineMapEntry) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open line map: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		parts := SplitEscaped(sc.Text())
		if len(parts) != 4 {
			return fmt.Errorf("%s: malformed line %q", path, sc.Text())
		}
		n, err := strconv.Atoi(parts[0])
		if err != nil {
			return fmt.Errorf("%s: malformed line %q", path, sc.Text())
		}
		if err := fn(LineMapEntry{Line: n, OldSub: parts[1], OldUsername: parts[2], NewUsername: parts[3]}); err != nil {
			return err
		}
	}
	return sc.Err()
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
