package client

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"
)

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		uri  string
		opt  Option
		want string
	}{
		{"nil http client", "http://h", WithHTTPClient(nil), "nil *http.Client"},
		{"nil logger", "http://h", WithLogger(nil), "nil logger"},
		{"nil tracer provider", "http://h", WithTracerProvider(nil), "nil provider"},
		{"bad header name", "http://h", WithHeader("Bad Header", "v"), "invalid header name"},
		{"header value newline", "http://h", WithHeader("X-A", "a\r\nInjected: 1"), "control character"},
		{"empty user agent", "http://h", WithUserAgent(" "), "empty or invalid user agent"},
		{"retries over 10", "http://h", WithRetryPolicy(RetryPolicy{MaxRetries: 11}), "max retries 11"},
		{"negative retries", "http://h", WithRetryPolicy(RetryPolicy{MaxRetries: -1}), "max retries -1"},
		{"backoff over 120s", "http://h", WithRetryPolicy(RetryPolicy{BackoffFactor: 121 * time.Second}), "backoff factor"},
		{"negative jitter", "http://h", WithRetryPolicy(RetryPolicy{BackoffJitter: -1}), "negative backoff jitter"},
		{"zero timeout", "http://h", WithTimeout(0), "non-positive timeout"},
		{"empty token", "http://h", WithBearerToken(""), "empty or invalid token"},
		{"empty basic user", "http://h", WithBasicAuth("", "p"), "empty user"},
		{"nil tls", "http://h", WithTLSConfig(nil), "nil config"},
		{"nil signer", "http://h", WithRequestSigner(nil), "nil signer"},
		{"nil option", "http://h", nil, "nil option"},
		{"tls with custom transport", "http://h", func(s *settings) error {
			if err := WithHTTPClient(&http.Client{Transport: roundTripperFunc(nil)})(s); err != nil {
				return err
			}
			return WithTLSConfig(&tls.Config{})(s)
		}, "needs the HTTP client's Transport"},
		{"ftp scheme", "ftp://h", WithTimeout(time.Second), "not http or https"},
		{"no host", "http:///x", WithTimeout(time.Second), "no host"},
		{"query", "http://h/?a=b", WithTimeout(time.Second), "query or fragment"},
		{"wrong-shape arn", "arn:aws:sagemaker:us-east-1:123456789012:training-job/x", WithTimeout(time.Second), "arn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.uri, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "client: ") {
				t.Errorf("New error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewWithARN(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	arn := "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/prod"
	c, err := New(arn)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.TrackingURI(); got != "https://eu-west-1.experiments.sagemaker.aws" {
		t.Errorf("TrackingURI = %q", got)
	}
	if c.signer == nil || c.headers.Get("x-mlflow-sm-tracking-server-arn") != arn {
		t.Errorf("SigV4 signer or routing header missing: %v", c.headers)
	}
}

func TestWithHTTPClientCopies(t *testing.T) {
	t.Parallel()
	base := &http.Transport{}
	hc := &http.Client{Transport: base, Timeout: 3 * time.Second}
	c, err := New("https://h", WithHTTPClient(hc), WithTLSConfig(&tls.Config{ServerName: "x"}), WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if hc.Transport != base || hc.Timeout != 3*time.Second || (base.TLSClientConfig != nil && base.TLSClientConfig.ServerName != "") {
		t.Error("caller's client or transport mutated")
	}
	if c.httpClient == hc || c.httpClient.Transport == base {
		t.Error("client shares the caller's *http.Client or its transport despite TLS options")
	}
	if got := c.httpClient.Transport.(*http.Transport).TLSClientConfig.ServerName; got != "x" {
		t.Errorf("TLS config not applied: %q", got)
	}
	if c.apiHTTP.Timeout != time.Second || c.httpClient.Timeout != 3*time.Second {
		t.Errorf("timeouts: api %v raw %v", c.apiHTTP.Timeout, c.httpClient.Timeout)
	}
}

func TestDefaultsForNew(t *testing.T) {
	t.Parallel()
	c, err := New("http://127.0.0.1:5000")
	if err != nil {
		t.Fatal(err)
	}
	if c.Defaults() != (EnvDefaults{}) {
		t.Errorf("Defaults = %+v, want zero", c.Defaults())
	}
	if c.headers.Get("User-Agent") != "mlwatch-go/"+Version {
		t.Errorf("User-Agent %q", c.headers.Get("User-Agent"))
	}
	if c.logger == nil || c.logger.Enabled(t.Context(), 0) {
		t.Error("default logger is not silent")
	}
	// go-retryablehttp must never fall back to its default stderr logger.
	for _, rc := range []any{c.rcJSON.Logger, c.rcRaw.Logger} {
		if _, ok := rc.(slogLeveled); !ok {
			t.Errorf("retryablehttp logger is %T, want slogLeveled", rc)
		}
	}
}
