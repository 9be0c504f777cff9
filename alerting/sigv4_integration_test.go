//go:build integration

package alerting

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// botocoreSign recomputes the SigV4 signature of a captured request with
// botocore's SigV4Auth (the reference implementation used by the AWS CLI).
const botocoreSign = `
import base64, json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
d = json.load(sys.stdin)
req = AWSRequest(method=d["method"], url=d["url"], data=base64.b64decode(d["body"]), headers=d["headers"])
auth = SigV4Auth(Credentials(d["ak"], d["sk"], d["token"] or None), d["service"], d["region"])
req.context["timestamp"] = d["amzdate"]
canonical = auth.canonical_request(req)
print(auth.signature(auth.string_to_sign(req, canonical), req))
`

func TestSigV4AgainstBotocore(t *testing.T) {
	t.Parallel()
	py := mustEnv(t, "MLWATCH_TEST_PYTHON")
	for _, tc := range []struct{ name, token string }{{"static keys", ""}, {"session token", "FwoGZXIvYXdzEXAMPLETOKEN"}} {
		t.Run(tc.name, func(t *testing.T) {
			type captured struct {
				r    *http.Request
				body []byte
			}
			got := make(chan captured, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				select {
				case got <- captured{r.Clone(context.Background()), b}:
				default:
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			const ak, sk = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
			w, err := NewWriter(srv.URL+"/workspaces/ws-e2e/api/v1/remote_write",
				WithSigV4("eu-central-1", credentials.NewStaticCredentialsProvider(ak, sk, tc.token)))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := w.Push(ctx, Breached, testAlert()); err != nil {
				t.Fatal(err)
			}
			c := <-got
			auth := c.r.Header.Get("Authorization")
			signedList := strings.SplitN(strings.SplitN(auth, "SignedHeaders=", 2)[1], ",", 2)[0]
			sig := strings.SplitN(auth, "Signature=", 2)[1]
			headers := map[string]string{}
			for _, h := range strings.Split(signedList, ";") {
				switch h {
				case "host":
				case "content-length":
					headers[h] = strconv.FormatInt(c.r.ContentLength, 10)
				default:
					headers[h] = c.r.Header.Get(h)
				}
			}
			in, _ := json.Marshal(map[string]any{
				"method": c.r.Method, "url": srv.URL + c.r.URL.RequestURI(), "body": base64.StdEncoding.EncodeToString(c.body),
				"headers": headers, "ak": ak, "sk": sk, "token": tc.token, "service": "aps", "region": "eu-central-1",
				"amzdate": c.r.Header.Get("X-Amz-Date"),
			})
			cmd := exec.CommandContext(ctx, py, "-c", botocoreSign)
			cmd.Stdin = bytes.NewReader(in)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("botocore (%s): %v\n%s", py, err, out)
			}
			if want := strings.TrimSpace(string(out)); want != sig {
				t.Errorf("signature %s, botocore recomputed %s (signed headers %s)", sig, want, signedList)
			}
			if tc.token != "" && !strings.Contains(signedList, "x-amz-security-token") {
				t.Errorf("session token not signed: %s", signedList)
			}
		})
	}
}
