package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress prints a status line on stderr: rewritten in place on a
// terminal, every few seconds otherwise (so logs stay readable).
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	last  time.Time
	every time.Duration
	shown bool
}

func (a *App) newProgress() *progress {
	tty := false
	if f, ok := a.Stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	every := 5 * time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	return &progress{w: a.Stderr, tty: tty, every: every}
}

// update shows msg unless the last update was too recent; force shows it
// anyway.
func (p *progress) update(force bool, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !force && time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	msg := fmt.Sprintf(format, args...)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", msg)
		p.shown = true
		return
	}
	fmt.Fprintln(p.w, msg)
}

// done ends the in-place line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
		p.shown = false
	}
}
