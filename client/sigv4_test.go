package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func sigTestSigner(t testing.TB) *sigV4Signer {
	t.Helper()
	s, err := newSigV4Signer("sagemaker-mlflow", "us-east-1", credentials.NewStaticCredentialsProvider("AKIDTEST", "secretkey", "tok"))
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.now = func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Second) }
	return s
}

func TestSigV4SignerPayloadHash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		req    func() *http.Request
		body   []byte
		want   string
		wantRQ string
	}{
		{"json body", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "https://h/api/2.0/mlflow/runs/set-tag", strings.NewReader("{}"))
		}, []byte("{}"), "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", ""},
		{"no body", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "https://h/api/2.0/mlflow/experiments/get-by-name?experiment_name=a+b", nil)
		}, nil, emptySHA256, "experiment_name=a%20b"},
		{"precomputed header", func() *http.Request {
			r := httptest.NewRequest(http.MethodPut, "https://h/x", strings.NewReader("abc"))
			r.Header.Set("X-Amz-Content-Sha256", "precomputed")
			return r
		}, nil, "precomputed", ""},
		{"stream", func() *http.Request {
			r := httptest.NewRequest(http.MethodPut, "https://h/x", io.MultiReader(strings.NewReader("abc")))
			r.ContentLength = -1
			return r
		}, nil, unsignedPayload, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sigTestSigner(t)
			r := tt.req()
			if err := s.SignRequest(context.Background(), r, tt.body); err != nil {
				t.Fatal(err)
			}
			if got := r.Header.Get("X-Amz-Content-Sha256"); got != tt.want {
				t.Errorf("X-Amz-Content-Sha256 = %q, want %q", got, tt.want)
			}
			if tt.wantRQ != "" && r.URL.RawQuery != tt.wantRQ {
				t.Errorf("query %q, want %q", r.URL.RawQuery, tt.wantRQ)
			}
			auth := r.Header.Get("Authorization")
			if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260102/us-east-1/sagemaker-mlflow/aws4_request") ||
				!strings.Contains(auth, "x-amz-content-sha256") || r.Header.Get("X-Amz-Security-Token") != "tok" {
				t.Errorf("Authorization %q, token %q", auth, r.Header.Get("X-Amz-Security-Token"))
			}
		})
	}
}

// TestSigV4SignsEveryAttempt checks that a retried call is re-signed with a
// fresh X-Amz-Date, and that the routing header is signed.
func TestSigV4SignsEveryAttempt(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		dates []string
		auths []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		dates = append(dates, r.Header.Get("X-Amz-Date"))
		auths = append(auths, r.Header.Get("Authorization"))
		first := len(dates) == 1
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	c, err := New(srv.URL,
		WithHeader("x-mlflow-sm-tracking-server-arn", "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/x"),
		WithRequestSigner(sigTestSigner(t)),
		WithRetryPolicy(RetryPolicy{MaxRetries: 2, BackoffFactor: time.Millisecond, MaxBackoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetTag(context.Background(), "run1", "k", "v"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dates) != 2 || dates[0] == dates[1] || dates[0] == "" {
		t.Fatalf("X-Amz-Date per attempt = %q, want two different dates", dates)
	}
	if auths[0] == auths[1] {
		t.Error("the retry reused the first signature")
	}
	if !strings.Contains(auths[1], "x-mlflow-sm-tracking-server-arn") {
		t.Errorf("routing header not signed: %s", auths[1])
	}
}

func TestStripCrossOriginAuth(t *testing.T) {
	t.Parallel()
	var seen atomic.Value
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Clone())
	}))
	defer target.Close()
	tests := []struct {
		name      string
		sameHost  bool
		wantStrip bool
	}{
		{"other origin (same host name, other port)", false, true},
		{"same origin", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var redirector *httptest.Server
			redirector = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/final" {
					seen.Store(r.Header.Clone())
					return
				}
				to := target.URL + "/presigned"
				if tt.sameHost {
					to = redirector.URL + "/final"
				}
				http.Redirect(w, r, to, http.StatusTemporaryRedirect)
			}))
			defer redirector.Close()
			hc := &http.Client{Transport: &http.Transport{}, CheckRedirect: stripCrossOriginAuth(nil)}
			req, _ := http.NewRequest(http.MethodGet, redirector.URL+"/api/2.0/mlflow-artifacts/artifacts/x", nil)
			req.Header.Set("x-sm-mlflow-app-arn", "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/x")
			if err := sigTestSigner(t).SignRequest(context.Background(), req, nil); err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := seen.Load().(http.Header)
			for _, k := range []string{"Authorization", "X-Amz-Security-Token", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Sm-Mlflow-App-Arn"} {
				if present := h.Get(k) != ""; present == tt.wantStrip {
					t.Errorf("header %s present=%v after redirect, want stripped=%v", k, present, tt.wantStrip)
				}
			}
		})
	}
}

type failingCreds struct{}

func (failingCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, errors.New("no credentials in chain")
}

func TestSigV4Errors(t *testing.T) {
	t.Parallel()
	s, err := newSigV4Signer("execute-api", "eu-west-1", failingCreds{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "https://h/x", nil)
	if err := s.SignRequest(context.Background(), req, nil); !errors.Is(err, ErrSigning) {
		t.Errorf("err = %v, want ErrSigning", err)
	}
	for _, tc := range []struct {
		svc, region string
		creds       aws.CredentialsProvider
	}{{"", "r", failingCreds{}}, {"s", "", failingCreds{}}, {"s", "r", nil}} {
		if _, err := New("https://h", WithSigV4(tc.svc, tc.region, tc.creds)); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("WithSigV4(%q, %q, %v): err = %v, want ErrInvalidParameter", tc.svc, tc.region, tc.creds, err)
		}
	}
}
