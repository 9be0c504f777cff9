package clienttest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mlwatch/mlwatch/client"
)

// FastRetryPolicy is the retry policy of the client [NewServer] returns:
// three retries with millisecond backoff, so that tests injecting transient
// faults stay fast. Retry-After is honoured (capped at 50 ms).
func FastRetryPolicy() client.RetryPolicy {
	return client.RetryPolicy{
		MaxRetries:        3,
		BackoffFactor:     time.Millisecond,
		BackoffJitter:     time.Millisecond,
		MaxBackoff:        50 * time.Millisecond,
		RespectRetryAfter: true,
	}
}

// NewServer starts a fresh Server on a loopback httptest server and returns
// it with a client pointed at it. The client uses the httptest server's
// *http.Client and [FastRetryPolicy]; opts are applied after those and can
// override them. The server is closed by t.Cleanup. NewServer calls
// t.Fatal when the client cannot be built.
func NewServer(t testing.TB, opts ...client.Option) (*Server, *client.Client) {
	t.Helper()
	s := &Server{}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	s.mu.Lock()
	s.url = ts.URL
	s.mu.Unlock()
	all := append([]client.Option{client.WithHTTPClient(ts.Client()), client.WithRetryPolicy(FastRetryPolicy())}, opts...)
	c, err := client.New(ts.URL, all...)
	if err != nil {
		t.Fatalf("clienttest: creating client: %v", err)
	}
	return s, c
}
