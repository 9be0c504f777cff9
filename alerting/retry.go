package alerting

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds the retries of remote-write requests (5xx, network
// errors, 429) and webhook posts. Backoff grows exponentially from
// MinBackoff to MaxBackoff with jitter (each wait is uniformly drawn from
// [d/2, d]). A Retry-After on a 429/503 answer is honoured when it is at most
// MaxRetryAfter; a longer one ends the retries at once and the error is
// returned (no retry storms, no blocking for minutes). Waits never outlast
// the context.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt (0: none).
	MaxRetries int
	// MinBackoff is the first backoff; it doubles per retry.
	MinBackoff time.Duration
	// MaxBackoff caps the backoff.
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a longer one stops
	// the retries.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy returns 5 retries, backoff 250ms to 10s, Retry-After
// honoured up to 1 minute.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 5, MinBackoff: 250 * time.Millisecond, MaxBackoff: 10 * time.Second, MaxRetryAfter: time.Minute}
}

func (p RetryPolicy) validate() error {
	if p.MaxRetries < 0 || p.MinBackoff < 0 || p.MaxBackoff < p.MinBackoff || p.MaxRetryAfter < 0 {
		return &ConfigError{Option: "retry", Reason: "need MaxRetries >= 0 and 0 <= MinBackoff <= MaxBackoff, MaxRetryAfter >= 0"}
	}
	return nil
}

// backoff returns the jittered wait before retry number attempt (0-based).
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.MinBackoff
	for i := 0; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// parseRetryAfter reads a Retry-After header (seconds or HTTP date).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
