package cognito

import "bytes"

// UUIDKey is a canonical UUID (8-4-4-4-12 lowercase hex, as Cognito writes
// subs) in 16 bytes.
type UUIDKey [16]byte

// ParseUUID reads a canonical lowercase UUID; anything else (uppercase,
// braces, other ids) is not one, so String gives back exactly what was
// parsed.
func ParseUUID(s string) (UUIDKey, bool) {
	var k UUIDKey
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return k, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := hexVal(s[i])
		lo, ok2 := hexVal(s[i+1])
		if !ok1 || !ok2 {
			return k, false
		}
		k[j] = hi<<4 | lo
		j++
		i += 2
	}
	return k, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// String formats the key as a canonical UUID.
func (k UUIDKey) String() string {
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, v := range k {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[v>>4], hex[v&15]
		j += 2
	}
	return string(b[:])
}

// Less orders keys bytewise.
func (k UUIDKey) Less(o UUIDKey) bool { return bytes.Compare(k[:], o[:]) < 0 }

// Arena keeps strings back to back in one byte slice (or a spill file),
// so a million usernames cost their bytes, not a million string headers
// and allocations. Strings are added, then the arena is sealed and read.
type Arena struct {
	st *store[byte]
	b  []byte
	n  uint32
}

// NewArena starts an arena in the heap (dir "") or in a file of dir.
func NewArena(dir string) (*Arena, error) {
	st, err := newStore[byte](dir, "strings")
	if err != nil {
		return nil, err
	}
	return &Arena{st: st}, nil
}

// StrRef finds a string in an Arena.
type StrRef struct {
	Off uint32
	Len uint16
}

// Add stores s (at most 65,535 bytes; Cognito usernames have 128).
func (a *Arena) Add(s string) (StrRef, error) {
	if len(s) > 0xffff {
		s = s[:0xffff]
	}
	r := StrRef{Off: a.n, Len: uint16(len(s))}
	a.n += uint32(len(s))
	var err error
	if a.st.sp != nil {
		err = a.st.sp.addBytes([]byte(s))
	} else {
		a.st.mem = append(a.st.mem, s...)
	}
	return r, err
}

// Seal ends adding; the strings can be read from then on.
func (a *Arena) Seal() error {
	b, err := a.st.seal()
	a.b = b
	return err
}

// Close frees the arena's file.
func (a *Arena) Close() {
	if a != nil {
		a.st.close()
	}
}

// Get returns the string r refers to.
func (a *Arena) Get(r StrRef) string { return string(a.b[r.Off : r.Off+uint32(r.Len)]) }

// Equal compares the string r refers to with s without allocating.
func (a *Arena) Equal(r StrRef, s string) bool {
	return int(r.Len) == len(s) && string(a.b[r.Off:r.Off+uint32(r.Len)]) == s
}
