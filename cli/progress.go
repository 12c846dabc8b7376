package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows how far a long step is, on stderr (never stdout, which
// holds --json output). On a terminal it is a progressbar bar: percentage,
// count, rate and the time left when the total is known, a spinner with
// the count when not. Elsewhere (CI, a log file) it prints one line when
// a step ends, so a log holds one line per step. A run may go through
// several steps (phase).
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	bar     *progressbar.ProgressBar
	step    string
	unit    string
	started time.Time
	n       int64
	total   int64
	detail  string
	// throttle bounds how often the bar is drawn (10k updates a second
	// must not mean 10k redraws).
	throttle time.Duration
}

func (a *App) newProgress(step, unit string, total int64) *progress {
	return newProgressOn(a.Stderr, isTerminal(a.Stderr), step, unit, total)
}

func newProgressOn(w io.Writer, tty bool, step, unit string, total int64) *progress {
	p := &progress{w: w, tty: tty, throttle: 100 * time.Millisecond}
	p.phase(step, unit, total)
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// phase ends the current step (if any) and starts the next.
func (p *progress) phase(step, unit string, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLocked("")
	p.step, p.unit, p.total, p.n, p.detail, p.started = step, unit, total, 0, "", time.Now()
	if !p.tty {
		return
	}
	max := total
	if max <= 0 {
		max = -1 // unknown: a spinner with the count
	}
	p.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(step),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(p.throttle),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
}

// set reports n done of total (total <= 0 keeps the one known so far);
// detail is a short note shown with the step.
func (p *progress) set(n, total int64, detail string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n, p.detail = n, detail
	if total > 0 && total != p.total {
		p.total = total
		if p.bar != nil {
			p.bar.ChangeMax64(total)
		}
	}
	if p.total > 0 && n > p.total {
		// Totals are estimates (a pool's estimated users, a table's
		// item count updated every few hours): never show over 100%.
		p.total = n
		if p.bar != nil {
			p.bar.ChangeMax64(n)
		}
	}
	if p.bar != nil {
		desc := p.step
		if detail != "" {
			desc += " (" + detail + ")"
		}
		p.bar.Describe(desc) // both draw, within the bar's throttle
		_ = p.bar.Set64(n)
	}
}

// say prints a message line; on a terminal the bar is cleared first and
// drawn again on the next set.
func (p *progress) say(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// done ends the last step with a summary.
func (p *progress) done(summary string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLocked(summary)
	p.step = ""
}

func (p *progress) endLocked(summary string) {
	if p.step == "" {
		return
	}
	elapsed := time.Since(p.started).Round(time.Second)
	if p.bar != nil {
		if p.total > 0 {
			_ = p.bar.Finish()
			p.bar = nil
			if summary != "" {
				fmt.Fprintf(p.w, "%s: %s\n", p.step, summary)
			}
			return
		}
		// A spinner's last frame may be behind (drawing is throttled):
		// clear it and end with the line a log would get.
		_ = p.bar.Clear()
		p.bar = nil
	}
	line := fmt.Sprintf("%s: %s %s", p.step, thousands(p.n), p.unit)
	if p.total > 0 {
		line = fmt.Sprintf("%s: %s of %s %s (%d%%)", p.step, thousands(p.n), thousands(p.total), p.unit, p.n*100/p.total)
	}
	if p.unit == "" {
		line = p.step
	}
	line += ", " + elapsed.String()
	if summary != "" {
		line += "; " + summary
	} else if p.detail != "" {
		line += "; " + p.detail
	}
	fmt.Fprintln(p.w, line)
}
