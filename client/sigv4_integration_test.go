//go:build integration

package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// sigPyVerify recomputes a SigV4 signature with botocore from the raw
// request the Go client sent. It uses only the headers the Authorization
// header lists as signed (what an AWS front end does), the request's
// X-Amz-Date, and checks X-Amz-Content-SHA256 against the body.
const sigPyVerify = `
import base64, hashlib, json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

req = json.load(sys.stdin)
h = {k.lower(): v for k, v in req["headers"].items()}
auth = h["authorization"]
algo, rest = auth.split(" ", 1)
parts = dict(p.strip().split("=", 1) for p in rest.split(","))
signed = parts["SignedHeaders"].split(";")
cred_scope = parts["Credential"].split("/")
body = base64.b64decode(req["body"])
headers = {name: h[name] for name in signed if name != "host"}
headers["host"] = h["host"]
r = AWSRequest(method=req["method"], url=req["url"], data=body, headers=headers)
r.context["timestamp"] = h["x-amz-date"]
signer = SigV4Auth(Credentials(req["access_key"], req["secret_key"], req["token"]), req["service"], req["region"])
canonical = signer.canonical_request(r)
string_to_sign = signer.string_to_sign(r, canonical)
expected = signer.signature(string_to_sign, r)
print(json.dumps({
    "algorithm": algo,
    "scope_service": cred_scope[3], "scope_region": cred_scope[2], "access_key": cred_scope[0],
    "signed_headers": signed,
    "expected": expected, "got": parts["Signature"],
    "body_sha256_ok": h.get("x-amz-content-sha256") == hashlib.sha256(body).hexdigest(),
    "canonical": canonical,
}))
`

type sigCaptured struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// TestSigV4BotocoreVerifierIntegration sends tracking requests for both
// SageMaker ARN kinds to a loopback server (SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT)
// and has botocore's SigV4Auth recompute each signature. The client is set
// up by awsTrackingHook, the function New and NewFromEnv call for arn: URIs.
func TestSigV4BotocoreVerifierIntegration(t *testing.T) {
	artEnv(t, "MLWATCH_TEST_PYTHON")
	kinds := []struct {
		arn, service, header string
	}{
		{"arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/team-a", "sagemaker-mlflow", "x-mlflow-sm-tracking-server-arn"},
		{"arn:aws:sagemaker:us-gov-west-1:123456789012:mlflow-app/app-1", "sagemaker", "x-sm-mlflow-app-arn"},
	}
	// Credentials come from the default AWS chain (here: the environment),
	// exactly as New/NewFromEnv resolve them through awsTrackingHook.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDMLWATCHTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "c2VjcmV0LWtleS1mb3ItdGVzdHM")
	t.Setenv("AWS_SESSION_TOKEN", "session-token-for-tests")
	for _, k := range kinds {
		t.Run(k.service, func(t *testing.T) {
			var (
				mu   sync.Mutex
				reqs []sigCaptured
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				hs := map[string]string{"host": r.Host}
				for name, v := range r.Header {
					hs[strings.ToLower(name)] = strings.Join(v, ",")
				}
				mu.Lock()
				reqs = append(reqs, sigCaptured{Method: r.Method, URL: "http://" + r.Host + r.RequestURI, Headers: hs, Body: base64.StdEncoding.EncodeToString(body)})
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				if strings.HasSuffix(r.URL.Path, "/experiments/get-by-name") {
					_, _ = io.WriteString(w, `{"experiment":{"experiment_id":"1","name":"my exp","lifecycle_stage":"active"}}`)
					return
				}
				_, _ = io.WriteString(w, `{}`)
			}))
			defer srv.Close()
			getenv := func(name string) string {
				if name == envSageMakerCustomEndpoint {
					return srv.URL
				}
				return ""
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			base, opts, err := awsTrackingHook(k.arn, getenv, nil)
			if err != nil {
				t.Fatal(err)
			}
			c, err := New(base, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetExperimentByName(ctx, "my exp+1"); err != nil {
				t.Fatal(err)
			}
			if err := c.SetTag(ctx, "0123456789abcdef", "k", "v with spaces"); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := append([]sigCaptured(nil), reqs...)
			mu.Unlock()
			if len(got) != 2 {
				t.Fatalf("server saw %d requests, want 2", len(got))
			}
			region := strings.Split(k.arn, ":")[3]
			for _, r := range got {
				in := map[string]any{
					"method": r.Method, "url": r.URL, "headers": r.Headers, "body": r.Body,
					"service": k.service, "region": region,
					"access_key": "AKIDMLWATCHTEST", "secret_key": "c2VjcmV0LWtleS1mb3ItdGVzdHM", "token": "session-token-for-tests",
				}
				payload, _ := json.Marshal(in)
				out := sigRunPython(t, sigPyVerify, payload)
				var v struct {
					Algorithm     string   `json:"algorithm"`
					ScopeService  string   `json:"scope_service"`
					ScopeRegion   string   `json:"scope_region"`
					AccessKey     string   `json:"access_key"`
					SignedHeaders []string `json:"signed_headers"`
					Expected      string   `json:"expected"`
					Got           string   `json:"got"`
					BodyOK        bool     `json:"body_sha256_ok"`
					Canonical     string   `json:"canonical"`
				}
				if err := json.Unmarshal(out, &v); err != nil {
					t.Fatalf("verifier output %q: %v", out, err)
				}
				if v.Expected != v.Got {
					t.Errorf("%s %s: botocore signature %s, Go sent %s\ncanonical request:\n%s", r.Method, r.URL, v.Expected, v.Got, v.Canonical)
				}
				if v.Algorithm != "AWS4-HMAC-SHA256" || v.ScopeService != k.service || v.ScopeRegion != region || v.AccessKey != "AKIDMLWATCHTEST" {
					t.Errorf("credential scope %s/%s/%s algorithm %s", v.AccessKey, v.ScopeRegion, v.ScopeService, v.Algorithm)
				}
				if !v.BodyOK {
					t.Errorf("%s %s: X-Amz-Content-SHA256 is not the body's sha256", r.Method, r.URL)
				}
				for _, h := range []string{k.header, "x-amz-content-sha256", "x-amz-date", "x-amz-security-token", "host"} {
					if !slices.Contains(v.SignedHeaders, h) {
						t.Errorf("%s %s: header %q not signed (signed: %v)", r.Method, r.URL, h, v.SignedHeaders)
					}
				}
				if r.Headers[k.header] != k.arn {
					t.Errorf("routing header %q = %q, want the ARN", k.header, r.Headers[k.header])
				}
			}
		})
	}
}

func sigRunPython(t testing.TB, script string, stdin []byte) []byte {
	t.Helper()
	py := artEnv(t, "MLWATCH_TEST_PYTHON")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script)
	cmd.Stdin = strings.NewReader(string(stdin))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("verifier failed: %v %s", err, stderr)
	}
	return out
}
