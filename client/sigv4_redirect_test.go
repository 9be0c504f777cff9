package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// TestClientRedirectKeepsAuthOnOrigin checks the client end to end: a
// tracking request signed with SigV4 (plus a bearer token) that is redirected
// to another origin (same host name, other port, like a presigned URL) reaches
// it without Authorization, X-Amz-* or routing headers.
func TestClientRedirectKeepsAuthOnOrigin(t *testing.T) {
	t.Parallel()
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k := range r.Header {
			if sensitiveOnRedirect(k) {
				leaked.Store(k)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"run":{"info":{"run_id":"r1","artifact_uri":"mlflow-artifacts:/1/r1/artifacts"}}}`))
	}))
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer origin.Close()
	c, err := New(origin.URL,
		WithHeader("x-mlflow-sm-tracking-server-arn", "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/x"),
		WithSigV4("sagemaker-mlflow", "us-east-1", credentials.NewStaticCredentialsProvider("AK", "SK", "TOKEN")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetRun(context.Background(), "r1"); err != nil {
		t.Fatal(err)
	}
	if k := leaked.Load(); k != nil {
		t.Fatalf("header %v followed the redirect to another origin", k)
	}
}
