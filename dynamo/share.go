package dynamo

import (
	"fmt"
	"strconv"
	"strings"
)

// Share is one worker's part of a remap split across workers (processes,
// possibly on other machines) the way DynamoDB's parallel scan splits a
// table: of a table's N scan segments, worker K of M takes K, K+M, K+2M, …
// Workers count from 0, so the shares of 0/M … (M-1)/M are disjoint and
// cover the table. The zero Share is the whole table.
type Share struct {
	Worker int `json:"worker"`
	Of     int `json:"of"`
}

// ParseShare reads "K/M".
func ParseShare(s string) (Share, error) {
	k, m, ok := strings.Cut(s, "/")
	w, err1 := strconv.Atoi(k)
	of, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil {
		return Share{}, fmt.Errorf("--worker %q: want K/M, worker K of M counting from 0 (0/3, 1/3 and 2/3 split a remap in three)", s)
	}
	sh := Share{Worker: w, Of: of}
	if of < 1 || w < 0 || w >= of {
		return Share{}, fmt.Errorf("--worker %s: K must be at least 0 and less than M (workers count from 0: 0/%d … %d/%d)", s, max(of, 1), max(of, 1)-1, max(of, 1))
	}
	return sh, nil
}

// Whole tells whether the share is the whole table.
func (s Share) Whole() bool { return s.Of <= 1 }

func (s Share) String() string {
	if s.Whole() {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s.Worker, s.Of)
}

// check refuses a share that cannot split segments: every worker needs a
// segment of its own.
func (s Share) check(segments int) error {
	if s.Whole() {
		return nil
	}
	if s.Worker < 0 || s.Worker >= s.Of {
		return fmt.Errorf("worker %s: K must be less than M", s)
	}
	if s.Of > segments {
		return fmt.Errorf("worker %s: %d workers need at least %d scan segments (--segments %d gives some workers nothing)", s, s.Of, s.Of, segments)
	}
	return nil
}

// Segments lists the share's segments of a table split into n.
func (s Share) Segments(n int) []int {
	step, first := 1, 0
	if !s.Whole() {
		step, first = s.Of, s.Worker
	}
	var out []int
	for seg := first; seg < n; seg += step {
		out = append(out, seg)
	}
	return out
}
