package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestNewFromEnvDefaults(t *testing.T) {
	t.Parallel()
	c, err := newFromEnv(envMap(map[string]string{
		"MLFLOW_TRACKING_URI":    "http://127.0.0.1:5000/prefix",
		"MLFLOW_EXPERIMENT_NAME": "churn",
		"MLFLOW_EXPERIMENT_ID":   "4",
		"MLFLOW_RUN_ID":          "abc",
	}), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(DefaultRetryPolicy(), c.retry); diff != "" {
		t.Errorf("retry policy (-want +got):\n%s", diff)
	}
	if c.timeout != 120*time.Second || c.apiHTTP.Timeout != 120*time.Second {
		t.Errorf("timeout = %v", c.timeout)
	}
	if diff := cmp.Diff(EnvDefaults{ExperimentName: "churn", ExperimentID: "4", RunID: "abc"}, c.Defaults()); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if c.headers.Get("Authorization") != "" {
		t.Error("Authorization set without credentials")
	}
	if c.TrackingURI() != "http://127.0.0.1:5000/prefix" {
		t.Errorf("TrackingURI = %q", c.TrackingURI())
	}
}

func TestNewFromEnvValues(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".mlflow"), 0o700); err != nil {
		t.Fatal(err)
	}
	creds := "[other]\nmlflow_tracking_username = wrong\n[mlflow]\nmlflow_tracking_username = fileuser\nmlflow_tracking_password = filepass\n"
	if err := os.WriteFile(filepath.Join(home, ".mlflow", "credentials"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		home     string
		wantAuth string
		check    func(t *testing.T, c *Client)
	}{
		{"bearer", map[string]string{"MLFLOW_TRACKING_TOKEN": "t0k"}, "", "Bearer t0k", nil},
		{"basic wins over bearer", map[string]string{"MLFLOW_TRACKING_TOKEN": "t0k", "MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p"}, "", "Basic dTpw", nil},
		{"username alone is not basic", map[string]string{"MLFLOW_TRACKING_TOKEN": "t0k", "MLFLOW_TRACKING_USERNAME": "u"}, "", "Bearer t0k", nil},
		{"credentials file", map[string]string{}, home, "Basic ZmlsZXVzZXI6ZmlsZXBhc3M=", nil},
		{"env wins over file", map[string]string{"MLFLOW_TRACKING_USERNAME": "u"}, home, "Basic dTpmaWxlcGFzcw==", nil},
		{"retry vars", map[string]string{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "10", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "120",
			"MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5", "MLFLOW_HTTP_REQUEST_TIMEOUT": "7", "MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER": "False"}, "", "",
			func(t *testing.T, c *Client) {
				want := RetryPolicy{MaxRetries: 10, BackoffFactor: 120 * time.Second, BackoffJitter: 500 * time.Millisecond, MaxBackoff: 120 * time.Second}
				if diff := cmp.Diff(want, c.retry); diff != "" {
					t.Errorf("policy (-want +got):\n%s", diff)
				}
				if c.timeout != 7*time.Second {
					t.Errorf("timeout %v", c.timeout)
				}
			}},
		{"workspace header", map[string]string{"MLFLOW_WORKSPACE": "team-a"}, "", "", func(t *testing.T, c *Client) {
			if c.headers.Get("X-Mlflow-Workspace") != "team-a" {
				t.Errorf("workspace header %q", c.headers.Get("X-Mlflow-Workspace"))
			}
		}},
		{"insecure tls", map[string]string{"MLFLOW_TRACKING_INSECURE_TLS": "1"}, "", "", func(t *testing.T, c *Client) {
			tr := c.httpClient.Transport.(*http.Transport)
			if tr.TLSClientConfig == nil || !tr.TLSClientConfig.InsecureSkipVerify {
				t.Error("InsecureSkipVerify not set")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.env["MLFLOW_TRACKING_URI"] = "https://mlflow.internal"
			h := tt.home
			if h == "" {
				h = t.TempDir()
			}
			c, err := newFromEnv(envMap(tt.env), h, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.headers.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestNewFromEnvErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no uri", map[string]string{"MLFLOW_TRACKING_URI": ""}, "MLFLOW_TRACKING_URI is not set"},
		{"file uri", map[string]string{"MLFLOW_TRACKING_URI": "file:///tmp/mlruns"}, "not http or https"},
		{"retries over limit", map[string]string{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "11"}, "max retries 11"},
		{"retries not int", map[string]string{"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "many"}, "MLFLOW_HTTP_REQUEST_MAX_RETRIES"},
		{"backoff over limit", map[string]string{"MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "121"}, "backoff factor"},
		{"negative jitter", map[string]string{"MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "-1"}, "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"},
		{"zero timeout", map[string]string{"MLFLOW_HTTP_REQUEST_TIMEOUT": "0"}, "must be positive"},
		{"bad bool", map[string]string{"MLFLOW_TRACKING_INSECURE_TLS": "yes"}, "MLFLOW_TRACKING_INSECURE_TLS"},
		{"insecure with cert", map[string]string{"MLFLOW_TRACKING_INSECURE_TLS": "true", "MLFLOW_TRACKING_SERVER_CERT_PATH": "/x.pem"}, "cannot both be set"},
		{"missing cert", map[string]string{"MLFLOW_TRACKING_SERVER_CERT_PATH": "/does/not/exist.pem"}, "MLFLOW_TRACKING_SERVER_CERT_PATH"},
		{"missing client cert", map[string]string{"MLFLOW_TRACKING_CLIENT_CERT_PATH": "/does/not/exist.pem"}, "MLFLOW_TRACKING_CLIENT_CERT_PATH"},
		{"sigv4 not a bool", map[string]string{"MLFLOW_TRACKING_AWS_SIGV4": "maybe"}, "MLFLOW_TRACKING_AWS_SIGV4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, ok := tt.env["MLFLOW_TRACKING_URI"]; !ok {
				tt.env["MLFLOW_TRACKING_URI"] = "https://mlflow.internal"
			}
			_, err := newFromEnv(envMap(tt.env), t.TempDir(), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "client: ") {
				t.Errorf("error without package prefix: %v", err)
			}
		})
	}
}

func TestNewFromEnvOptionsOverride(t *testing.T) {
	t.Parallel()
	c, err := newFromEnv(envMap(map[string]string{"MLFLOW_TRACKING_URI": "http://h", "MLFLOW_TRACKING_TOKEN": "env"}), t.TempDir(),
		[]Option{WithTimeout(time.Second), WithBearerToken("opt")})
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != time.Second || c.headers.Get("Authorization") != "Bearer opt" {
		t.Errorf("options did not override: %v %q", c.timeout, c.headers.Get("Authorization"))
	}
}

// TestServerAndClientCertFromEnv runs a TLS server that requires a client
// certificate, with the CA and the client cert given by path.
func TestServerAndClientCertFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clientPEM := selfSignedPEM(t, "client")
	clientPath := filepath.Join(dir, "client.pem")
	if err := os.WriteFile(clientPath, clientPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "client" {
			http.Error(w, "no client cert", 403)
			return
		}
		writeJSON(w, 200, map[string]any{"experiment": map[string]any{"experiment_id": "1", "name": "x"}})
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	caPath := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	noRetry := []Option{WithRetryPolicy(RetryPolicy{})}
	tests := []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"ca and client cert", map[string]string{"MLFLOW_TRACKING_SERVER_CERT_PATH": caPath, "MLFLOW_TRACKING_CLIENT_CERT_PATH": clientPath}, true},
		{"ca without client cert", map[string]string{"MLFLOW_TRACKING_SERVER_CERT_PATH": caPath}, false},
		{"untrusted server", map[string]string{"MLFLOW_TRACKING_CLIENT_CERT_PATH": clientPath}, false},
		{"insecure with client cert", map[string]string{"MLFLOW_TRACKING_INSECURE_TLS": "true", "MLFLOW_TRACKING_CLIENT_CERT_PATH": clientPath}, true},
	}
	for _, tt := range tests {
		tt.env["MLFLOW_TRACKING_URI"] = srv.URL
		c, err := newFromEnv(envMap(tt.env), dir, noRetry)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		_, err = c.GetExperiment(context.Background(), "1")
		if (err == nil) != tt.ok {
			t.Errorf("%s: GetExperiment error = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func selfSignedPEM(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
}
