package cognitoshim

import (
	"sync"
	"time"
)

// limiter is a token bucket of one second's burst, like the per-second
// request quotas Cognito enforces per account.
type limiter struct {
	mu     sync.Mutex
	rps    float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newLimiter(rps float64, now func() time.Time) *limiter {
	return &limiter{rps: rps, tokens: rps, last: now(), now: now}
}

// allow takes one token, or reports that the quota is exceeded.
func (l *limiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	l.tokens += t.Sub(l.last).Seconds() * l.rps
	if l.tokens > l.rps {
		l.tokens = l.rps
	}
	l.last = t
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
