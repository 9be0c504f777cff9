package alerting

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// verifySigV4 recomputes a request's AWS Signature Version 4 with an
// implementation independent of aws-sdk-go-v2 (from the AWS documentation:
// canonical request, string to sign, derived key) and compares it.
func verifySigV4(r *http.Request, body []byte, secret, wantService, wantRegion string) error {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return fmt.Errorf("no SigV4 Authorization header")
	}
	parts := map[string]string{}
	for _, p := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	cred := strings.Split(parts["Credential"], "/")
	if len(cred) != 5 || cred[4] != "aws4_request" {
		return fmt.Errorf("bad credential scope %q", parts["Credential"])
	}
	date, region, service := cred[1], cred[2], cred[3]
	if service != wantService || region != wantRegion {
		return fmt.Errorf("scope %s/%s, want %s/%s", service, region, wantService, wantRegion)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if !strings.HasPrefix(amzDate, date) {
		return fmt.Errorf("x-amz-date %q does not match scope date %q", amzDate, date)
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	if !sort.StringsAreSorted(signed) {
		return fmt.Errorf("signed headers not sorted")
	}
	var canonHeaders strings.Builder
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			vals := r.Header.Values(h)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		canonHeaders.WriteString(h + ":" + v + "\n")
	}
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var qs []string
	for _, k := range keys {
		for _, v := range q[k] {
			qs = append(qs, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	sum := sha256.Sum256(body)
	canon := strings.Join([]string{r.Method, r.URL.EscapedPath(), strings.Join(qs, "&"), canonHeaders.String(), parts["SignedHeaders"], hex.EncodeToString(sum[:])}, "\n")
	ch := sha256.Sum256([]byte(canon))
	scope := strings.Join(cred[1:], "/")
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(ch[:])
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	k := mac(mac(mac(mac([]byte("AWS4"+secret), date), region), service), "aws4_request")
	if want := hex.EncodeToString(mac(k, sts)); want != parts["Signature"] {
		return fmt.Errorf("signature mismatch: got %s, recomputed %s", parts["Signature"], want)
	}
	return nil
}

type countingCreds struct {
	n     atomic.Int32
	creds aws.Credentials
}

func (c *countingCreds) Retrieve(context.Context) (aws.Credentials, error) {
	c.n.Add(1)
	cr := c.creds
	cr.CanExpire, cr.Expires = true, time.Now().Add(time.Hour)
	return cr, nil
}

func TestSigV4Transport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		creds  aws.Credentials
		secret string // the verifier's secret
		ok     bool
	}{
		{"static keys", aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", true},
		{"session token signed", aws.Credentials{AccessKeyID: "ASIA1", SecretAccessKey: "s3cr3t", SessionToken: "tok"}, "s3cr3t", true},
		{"wrong secret detected", aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "right"}, "wrong", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var verr atomic.Value
			var signedHeaders atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				err := verifySigV4(r, body, tt.secret, "aps", "eu-west-1")
				if err == nil && tt.creds.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != tt.creds.SessionToken {
					err = fmt.Errorf("session token not sent")
				}
				verr.Store(fmt.Sprint(err))
				signedHeaders.Store(r.Header.Get("Authorization"))
				if err != nil {
					http.Error(w, "signature mismatch", http.StatusForbidden)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			cc := &countingCreds{creds: tt.creds}
			w, err := NewWriter(srv.URL+"/workspaces/ws-1/api/v1/remote_write", WithSigV4("eu-west-1", cc), WithRetry(RetryPolicy{}))
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				err = w.Push(context.Background(), Breached, testAlert())
			}
			if got := verr.Load().(string); (got == "<nil>") != tt.ok {
				t.Fatalf("verifier: %s; want ok=%v", got, tt.ok)
			}
			if (err == nil) != tt.ok {
				t.Errorf("Push err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), tt.creds.SecretAccessKey) {
				t.Errorf("secret leaked into error: %v", err)
			}
			if n := cc.n.Load(); n != 1 {
				t.Errorf("credentials retrieved %d times for 3 requests, want 1 (cache)", n)
			}
			auth := signedHeaders.Load().(string)
			for _, h := range []string{"content-encoding", "content-type", "host", "x-amz-date", "x-prometheus-remote-write-version"} {
				if !slices.Contains(strings.Split(strings.SplitN(strings.SplitN(auth, "SignedHeaders=", 2)[1], ",", 2)[0], ";"), h) {
					t.Errorf("header %s not signed: %s", h, auth)
				}
			}
		})
	}
}

func TestSigV4TransportDoesNotModifyRequest(t *testing.T) {
	t.Parallel()
	var got http.Header
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		if string(b) != "payload" || r.ContentLength != 7 {
			return nil, fmt.Errorf("body %q len %d", b, r.ContentLength)
		}
		return &http.Response{StatusCode: 204, Body: http.NoBody}, nil
	})
	rt, err := NewSigV4Transport(next, "us-east-1", ServiceAPS, aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "A", SecretAccessKey: "S"}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write", bytes.NewReader([]byte("payload")))
	req.Header.Set("Content-Type", "application/x-protobuf")
	before := req.Header.Clone()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.Header.Get("Authorization") != "" || len(req.Header) != len(before) {
		t.Errorf("caller's request modified: %v", req.Header)
	}
	if got.Get("Authorization") == "" || got.Get("X-Amz-Date") == "" {
		t.Errorf("forwarded request not signed: %v", got)
	}
}

func TestSigV4TransportConfig(t *testing.T) {
	t.Parallel()
	p := aws.AnonymousCredentials{}
	for _, tc := range []struct {
		region, service string
		creds           aws.CredentialsProvider
	}{{"", "aps", p}, {"us-east-1", "", p}, {"us-east-1", "aps", nil}} {
		if _, err := NewSigV4Transport(nil, tc.region, tc.service, tc.creds); err == nil {
			t.Errorf("NewSigV4Transport(%q, %q, %v) = nil error", tc.region, tc.service, tc.creds)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestNewAMPWriter builds an AMP writer from the default credential chain
// (here: environment variables) and checks what it would send, without any
// network: the injected transport captures the signed request.
func TestNewAMPWriter(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	var got *http.Request
	var body []byte
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		body, _ = io.ReadAll(r.Body)
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})
	w, err := NewAMPWriter(context.Background(), "eu-west-1", "ws-abc", WithWriterHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Push(context.Background(), Breached, testAlert()); err != nil {
		t.Fatal(err)
	}
	if got.URL.String() != "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-abc/api/v1/remote_write" {
		t.Errorf("URL = %s", got.URL)
	}
	got.Host = got.URL.Host
	if err := verifySigV4(got, body, "env-secret", "aps", "eu-west-1"); err != nil {
		t.Errorf("signature: %v", err)
	}
	if !strings.Contains(got.Header.Get("Authorization"), "Credential=AKIDENV/") {
		t.Errorf("Authorization = %q, want the environment's key", got.Header.Get("Authorization"))
	}
	if _, err := NewAMPWriter(context.Background(), "eu-west-1", "not-a-workspace"); !errors.Is(err, ErrConfig) {
		t.Errorf("bad workspace: err = %v", err)
	}
}
