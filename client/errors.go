package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel errors. An *APIError matches one of them with errors.Is according to
// the MLflow error_code it carries (or, when the server sent no code, its HTTP
// status). A *ValidationError matches ErrInvalidParameter.
var (
	// ErrNotFound is matched by RESOURCE_DOES_NOT_EXIST, NOT_FOUND and
	// ENDPOINT_NOT_FOUND answers, and by HTTP 404 without a code.
	ErrNotFound = errors.New("client: not found")
	// ErrAlreadyExists is matched by RESOURCE_ALREADY_EXISTS (HTTP 400 in
	// MLflow) and ALREADY_EXISTS answers.
	ErrAlreadyExists = errors.New("client: already exists")
	// ErrInvalidParameter is matched by INVALID_PARAMETER_VALUE, BAD_REQUEST
	// and MALFORMED_REQUEST answers, HTTP 400 without a code, and every
	// *ValidationError.
	ErrInvalidParameter = errors.New("client: invalid parameter")
	// ErrUnauthenticated is matched by UNAUTHENTICATED and
	// CUSTOMER_UNAUTHORIZED answers and by HTTP 401 without a code.
	ErrUnauthenticated = errors.New("client: unauthenticated")
	// ErrPermissionDenied is matched by PERMISSION_DENIED answers and by HTTP
	// 403 without a code (for example MLflow's plain-text "Invalid Host header").
	ErrPermissionDenied = errors.New("client: permission denied")
	// ErrRateLimited is matched by REQUEST_LIMIT_EXCEEDED and
	// RESOURCE_EXHAUSTED answers and by HTTP 429 without a code.
	ErrRateLimited = errors.New("client: rate limited")
	// ErrUnavailable is matched by TEMPORARILY_UNAVAILABLE and
	// DEADLINE_EXCEEDED answers and by HTTP 502, 503 and 504 without a code.
	ErrUnavailable = errors.New("client: unavailable")
	// ErrInternal is matched by INTERNAL_ERROR, DATA_LOSS and INVALID_STATE
	// answers, by unknown codes sent with a 5xx status, and by HTTP 500
	// without a code (for example Flask's HTML error page).
	ErrInternal = errors.New("client: internal server error")
	// ErrClosed is returned by a batcher (or another background component of
	// this package) after it has been shut down.
	ErrClosed = errors.New("client: closed")
	// errNotImplemented marks a method body that is not written yet.
	errNotImplemented = errors.New("client: not implemented")
)

// codeSentinels maps MLflow error codes (mlflow/exceptions.py) onto sentinels.
var codeSentinels = map[string]error{
	"RESOURCE_DOES_NOT_EXIST": ErrNotFound,
	"NOT_FOUND":               ErrNotFound,
	"ENDPOINT_NOT_FOUND":      ErrNotFound,
	"RESOURCE_ALREADY_EXISTS": ErrAlreadyExists,
	"ALREADY_EXISTS":          ErrAlreadyExists,
	"INVALID_PARAMETER_VALUE": ErrInvalidParameter,
	"BAD_REQUEST":             ErrInvalidParameter,
	"MALFORMED_REQUEST":       ErrInvalidParameter,
	"UNAUTHENTICATED":         ErrUnauthenticated,
	"CUSTOMER_UNAUTHORIZED":   ErrUnauthenticated,
	"PERMISSION_DENIED":       ErrPermissionDenied,
	"REQUEST_LIMIT_EXCEEDED":  ErrRateLimited,
	"RESOURCE_EXHAUSTED":      ErrRateLimited,
	"TEMPORARILY_UNAVAILABLE": ErrUnavailable,
	"DEADLINE_EXCEEDED":       ErrUnavailable,
	"INTERNAL_ERROR":          ErrInternal,
	"DATA_LOSS":               ErrInternal,
	"INVALID_STATE":           ErrInternal,
}

// statusSentinel maps an HTTP status onto a sentinel when no (known) MLflow
// error code is present.
func statusSentinel(status int) error {
	switch {
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusBadRequest:
		return ErrInvalidParameter
	case status == http.StatusUnauthorized:
		return ErrUnauthenticated
	case status == http.StatusForbidden:
		return ErrPermissionDenied
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status == http.StatusBadGateway, status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		return ErrUnavailable
	case status >= 500:
		return ErrInternal
	}
	return nil
}

// APIError is a non-2xx answer from the tracking server. Code is MLflow's
// error_code when the body was MLflow JSON, otherwise it is empty and Message
// holds a short, single-line excerpt of the body (HTML pages are reduced to
// their title). Endpoint is the API path without host or query string, so an
// APIError never carries credentials.
type APIError struct {
	StatusCode int
	Code       string
	Message    string
	Method     string
	Endpoint   string
}

// Error returns a one-line description: "client: METHOD endpoint: status CODE: message".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("client: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Endpoint)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteByte(' ')
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Is reports whether target is the sentinel for e's error code, or for e's
// HTTP status when the code is empty or unknown.
func (e *APIError) Is(target error) bool {
	if s, ok := codeSentinels[e.Code]; ok {
		return s == target
	}
	s := statusSentinel(e.StatusCode)
	return s != nil && s == target
}

// Retryable reports whether the status is in MLflow's transient set
// (408, 429, 500, 502, 503, 504).
func (e *APIError) Retryable() bool { return transientStatus(e.StatusCode) }

// transientStatus is MLflow's _TRANSIENT_FAILURE_RESPONSE_CODES.
func transientStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// ValidationError reports input rejected before any request was sent. Field
// names the offending field (for example "metrics[3].key"), Rule the rule it
// broke, and Value a truncated copy of the value (empty for values that may be
// sensitive, such as param and tag values).
type ValidationError struct {
	Field string
	Rule  string
	Value string
}

// Error returns "client: invalid <field> "<value>": <rule>".
func (e *ValidationError) Error() string {
	if e.Value == "" {
		return "client: invalid " + e.Field + ": " + e.Rule
	}
	return "client: invalid " + e.Field + " " + strconv.Quote(e.Value) + ": " + e.Rule
}

// Is reports whether target is ErrInvalidParameter.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidParameter }

// newValidationError builds a ValidationError, truncating value to 64 runes.
func newValidationError(field, rule, value string) *ValidationError {
	return &ValidationError{Field: field, Rule: rule, Value: truncateRunes(value, 64)}
}

// truncateRunes cuts s to at most n runes, appending "…" when cut, and
// replaces invalid UTF-8.
func truncateRunes(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}

// IsRetryable reports whether err is worth retrying later: an *APIError with
// a transient status (408, 429, 500, 502, 503, 504) or a network error
// (timeouts, refused or reset connections). Validation errors, other API
// errors and context cancellation are not retryable.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Retryable()
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return false
	}
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// transportError wraps a failure to get any HTTP answer (connection refused,
// reset, timeout). It never includes the request URL's query or credentials.
type transportError struct {
	method, endpoint string
	err              error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("client: %s %s: %v", e.method, e.endpoint, e.err)
}

func (e *transportError) Unwrap() error { return e.err }
