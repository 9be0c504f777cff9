package alerting

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors, usable with errors.Is.
var (
	// ErrInvalidAlert is matched by every *ValidationError about an Alert,
	// a label, a sample or a series.
	ErrInvalidAlert = errors.New("alerting: invalid alert")
	// ErrConfig is matched by *ConfigError: a constructor or option got an
	// unusable argument (missing topic ARN, region, URL, ...).
	ErrConfig = errors.New("alerting: invalid configuration")
	// ErrThrottled is matched by errors that report a receiver's rate
	// limiting (HTTP 429 or an SNS throttling error) after retries ran out.
	ErrThrottled = errors.New("alerting: throttled")
)

// ValidationError reports input rejected before any request was sent. It
// matches ErrInvalidAlert with errors.Is.
type ValidationError struct {
	// Field names the offending field or label.
	Field string
	// Rule says what was wrong.
	Rule string
	// Value is the offending value, truncated; empty when not useful.
	Value string
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("alerting: invalid %s: %s", e.Field, e.Rule)
	}
	return fmt.Sprintf("alerting: invalid %s %q: %s", e.Field, e.Value, e.Rule)
}

// Is reports whether target is ErrInvalidAlert.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidAlert }

// ConfigError reports an unusable constructor or option argument. It matches
// ErrConfig with errors.Is.
type ConfigError struct {
	// Option names the argument, e.g. "topic_arn" or "region".
	Option string
	// Reason says what was wrong.
	Reason string
}

// Error implements error.
func (e *ConfigError) Error() string { return "alerting: " + e.Option + ": " + e.Reason }

// Is reports whether target is ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// WriteError is a remote-write request the receiver answered with a non-2xx
// status that is not retried (4xx other than 429), or the last answer after
// retries ran out. Message is the receiver's response body, truncated to
// 512 bytes; it is for logging, not for parsing (the spec says so).
type WriteError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Message is the receiver's body, truncated.
	Message string
}

// Error implements error.
func (e *WriteError) Error() string {
	if e.Message == "" {
		return "alerting: remote write: status " + strconv.Itoa(e.StatusCode)
	}
	return fmt.Sprintf("alerting: remote write: status %d: %s", e.StatusCode, e.Message)
}

// Is reports whether target is ErrThrottled and the status was 429.
func (e *WriteError) Is(target error) bool {
	return target == ErrThrottled && e.StatusCode == 429
}

// Temporary reports whether the request might succeed if sent again later
// (5xx or 429).
func (e *WriteError) Temporary() bool { return e.StatusCode >= 500 || e.StatusCode == 429 }

// DeliveryError reports alerts that could not be delivered. Failed holds
// every alert that was not delivered (copies, in input order); Err the cause
// (the last one when several failed). Nothing is silently dropped: callers
// can retry Failed, persist it, or escalate.
type DeliveryError struct {
	// Failed are the alerts that were not delivered.
	Failed []Alert
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *DeliveryError) Error() string {
	return fmt.Sprintf("alerting: %d alert(s) not delivered: %v", len(e.Failed), e.Err)
}

// Unwrap returns the underlying error.
func (e *DeliveryError) Unwrap() error { return e.Err }

// joinErrors is errors.Join with a one-line message ("a; b"): error strings
// of this package stay on one line. nil errors are dropped; it returns nil
// when all are nil.
func joinErrors(errs ...error) error {
	var out multiError
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

type multiError []error

func (m multiError) Error() string {
	msgs := make([]string, len(m))
	for i, e := range m {
		msgs[i] = strings.ReplaceAll(e.Error(), "\n", "; ")
	}
	return strings.Join(msgs, "; ")
}

func (m multiError) Unwrap() []error { return m }
