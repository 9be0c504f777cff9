package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseErrorBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        APIError
		is          error
	}{
		{"mlflow json not found", 404, "application/json", `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run with id=abc not found"}`,
			APIError{StatusCode: 404, Code: "RESOURCE_DOES_NOT_EXIST", Message: "Run with id=abc not found"}, ErrNotFound},
		{"already exists is 400", 400, "application/json", `{"error_code":"RESOURCE_ALREADY_EXISTS","message":"Experiment(name=x) already exists."}`,
			APIError{StatusCode: 400, Code: "RESOURCE_ALREADY_EXISTS", Message: "Experiment(name=x) already exists."}, ErrAlreadyExists},
		{"invalid parameter with extra fields", 400, "application/json", `{"error_code":"INVALID_PARAMETER_VALUE","message":"bad","sqlstate":"22000","error_class":"X"}`,
			APIError{StatusCode: 400, Code: "INVALID_PARAMETER_VALUE", Message: "bad"}, ErrInvalidParameter},
		{"multi-line message collapsed", 400, "application/json", `{"error_code":"BAD_REQUEST","message":"line one\nline two\r\n  three"}`,
			APIError{StatusCode: 400, Code: "BAD_REQUEST", Message: "line one line two three"}, ErrInvalidParameter},
		{"flask html 500", 500, "text/html; charset=utf-8", "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>",
			APIError{StatusCode: 500, Message: "500 Internal Server Error"}, ErrInternal},
		{"plain-text 403 host check", 403, "text/plain", "Invalid Host header - possible DNS rebinding attack detected\n",
			APIError{StatusCode: 403, Message: "Invalid Host header - possible DNS rebinding attack detected"}, ErrPermissionDenied},
		{"empty 502", 502, "", "", APIError{StatusCode: 502, Message: "Bad Gateway"}, ErrUnavailable},
		{"truncated json", 500, "application/json", `{"error_code":"INTERNAL_ERR`, APIError{StatusCode: 500, Message: `{"error_code":"INTERNAL_ERR`}, ErrInternal},
		{"json without code uses status", 401, "application/json", `{"detail":"nope"}`, APIError{StatusCode: 401, Message: `{"detail":"nope"}`}, ErrUnauthenticated},
		{"unknown code falls back to status", 429, "application/json", `{"error_code":"SOMETHING_NEW","message":"slow down"}`,
			APIError{StatusCode: 429, Code: "SOMETHING_NEW", Message: "slow down"}, ErrRateLimited},
		{"code wins over status", 500, "application/json", `{"error_code":"TEMPORARILY_UNAVAILABLE","message":"m"}`,
			APIError{StatusCode: 500, Code: "TEMPORARILY_UNAVAILABLE", Message: "m"}, ErrUnavailable},
		{"html 404 route", 404, "text/html", "<html><head><title>404 Not Found</title></head></html>", APIError{StatusCode: 404, Message: "404 Not Found"}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseErrorBody(tt.status, tt.contentType, []byte(tt.body), "GET", "/api/2.0/mlflow/runs/get")
			tt.want.Method, tt.want.Endpoint = "GET", "/api/2.0/mlflow/runs/get"
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("APIError mismatch (-want +got):\n%s", diff)
			}
			if !errors.Is(got, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", got, tt.is)
			}
			if strings.ContainsAny(got.Error(), "\r\n") {
				t.Errorf("Error() has several lines: %q", got.Error())
			}
		})
	}
}

func TestAPIErrorIsExclusive(t *testing.T) {
	t.Parallel()
	sentinels := []error{ErrNotFound, ErrAlreadyExists, ErrInvalidParameter, ErrUnauthenticated, ErrPermissionDenied, ErrRateLimited, ErrUnavailable, ErrInternal}
	for code, want := range codeSentinels {
		e := &APIError{StatusCode: 500, Code: code}
		for _, s := range sentinels {
			if got := errors.Is(e, s); got != (s == want) {
				t.Errorf("code %s: errors.Is(%v) = %v", code, s, got)
			}
		}
	}
}

func TestAPIErrorString(t *testing.T) {
	t.Parallel()
	e := &APIError{StatusCode: 404, Code: "RESOURCE_DOES_NOT_EXIST", Message: "Run not found", Method: "GET", Endpoint: "/api/2.0/mlflow/runs/get"}
	want := "client: GET /api/2.0/mlflow/runs/get: 404 RESOURCE_DOES_NOT_EXIST: Run not found"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("loading: %w", e)
	if !errors.Is(wrapped, ErrNotFound) {
		t.Error("wrapped APIError does not match ErrNotFound")
	}
}

func TestIsRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"503", &APIError{StatusCode: 503}, true},
		{"408", &APIError{StatusCode: 408}, true},
		{"429", &APIError{StatusCode: 429}, true},
		{"501", &APIError{StatusCode: 501}, false},
		{"404", &APIError{StatusCode: 404, Code: "RESOURCE_DOES_NOT_EXIST"}, false},
		{"validation", newValidationError("key", ruleKeyChars, "a!"), false},
		{"transport", &transportError{method: "GET", endpoint: "/x", err: errors.New("connection refused")}, true},
		{"canceled", fmt.Errorf("client: %w", context.Canceled), false},
		{"wrapped 500", fmt.Errorf("x: %w", &APIError{StatusCode: http.StatusInternalServerError}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsRetryable(tt.err); got != tt.want {
				t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestValidationError(t *testing.T) {
	t.Parallel()
	e := newValidationError("metrics[2].key", ruleKeyChars, "bad!key")
	if !errors.Is(e, ErrInvalidParameter) {
		t.Error("ValidationError does not match ErrInvalidParameter")
	}
	if !strings.HasPrefix(e.Error(), "client: invalid metrics[2].key \"bad!key\": names may only") {
		t.Errorf("Error() = %q", e.Error())
	}
	long := newValidationError("k", "r", strings.Repeat("é", 100))
	if got := len([]rune(long.Value)); got != 65 {
		t.Errorf("truncated value has %d runes, want 65", got)
	}
}
