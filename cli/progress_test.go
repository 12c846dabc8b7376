package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Off a terminal (CI, a log file): nothing while a step runs, one line
// when it ends, with the count, the total and the percentage.
func TestProgressOneLinePerStepOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgressOn(&buf, false, "backup us-east-1_X", "users", 1000)
	for n := int64(0); n <= 600; n += 50 {
		p.set(n, 0, "users, 3/16 shards")
	}
	if buf.Len() != 0 {
		t.Fatalf("printed while the step ran: %q", buf.String())
	}
	p.phase("groups", "", 0)
	p.say("a note")
	p.done("12 groups")
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "backup us-east-1_X: 600 of 1,000 users (60%), ") || !strings.HasSuffix(lines[0], "; users, 3/16 shards") ||
		lines[1] != "a note" || !strings.HasPrefix(lines[2], "groups, ") || !strings.HasSuffix(lines[2], "; 12 groups") {
		t.Errorf("lines:\n%s", buf.String())
	}
}

// On a terminal: a bar with the percentage, the count of the total and
// the time elapsed and left; an estimate the count passes never shows
// more than 100%.
func TestProgressBarOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, tty: true} // no throttle: every update draws
	p.phase("remap", "items", 200)
	p.set(50, 0, "10 changed")
	out := buf.String()
	if !strings.Contains(out, "25%") || !strings.Contains(out, "(50/200") || !strings.Contains(out, "remap (10 changed)") || !strings.Contains(out, "[") {
		t.Errorf("bar: %q", out)
	}
	buf.Reset()
	p.set(250, 0, "")
	p.done("")
	if strings.Contains(buf.String(), "125%") || !strings.Contains(buf.String(), "100%") || !strings.Contains(buf.String(), "(250/250") {
		t.Errorf("past the estimate: %q", buf.String())
	}
}

// Without a total, a terminal gets a spinner, and the step ends with the
// count line a log gets, never a stale frame.
func TestProgressSpinnerEndsWithTheCount(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, tty: true, throttle: time.Hour} // draws only when it must
	p.phase("backup X", "users", 0)
	for n := int64(1); n <= 1500; n++ {
		p.set(n, 0, "")
	}
	p.done("")
	out := buf.String()
	if !strings.HasSuffix(out, "\n") || !strings.Contains(out[strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")+1:], "backup X: 1,500 users") {
		t.Errorf("last line: %q", out)
	}
}
