package clienttest

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{
		"", "tags.team = 'ds'", "params.model = \"churn\"", "attributes.status = 'FINISHED'",
		"metrics.auc > 0.8 and metrics.loss <= 1e-3", "metrics.`précision/été` >= -1",
		"metrics.精度 != 0.5 AND tags.`mlflow.runName` LIKE 'a%_'", "name ILIKE 'x%'",
		"metrics.a > 1 or metrics.b < 2", "tags.a IN ('x')", "(metrics.a > 1)", "metrics.a >", "'unterminated",
		"metrics.`unterminated > 1", "start_time > 5", "dataset.name = 'x'",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		cs, err := parseFilter(filter)
		if err != nil {
			if fe := err.(*filterError); fe.invalidClause == "" && !strings.HasPrefix(fe.msg, "Unsupported filter") {
				t.Fatalf("error %q lacks the prefix", err)
			}
			return
		}
		for _, c := range cs {
			if _, ok := kindPrefixes[c.kind]; !ok {
				t.Fatalf("clause kind %q", c.kind)
			}
			if c.op == "" {
				t.Fatalf("clause without comparator: %+v", c)
			}
		}
		_ = checkClauses(filter, cs, runAttrs, true)
	})
}

func FuzzJSONNumbers(f *testing.F) {
	for _, seed := range []string{`1.5`, `"NaN"`, `"Infinity"`, `"-Infinity"`, `"1.5"`, `"nan"`, `1e400`, `null`, `"x"`, `true`, `"9223372036854775807"`, `1e3`, `-0`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fl jfloat
		if err := fl.UnmarshalJSON(b); err == nil {
			out, err := fl.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON(%v): %v", fl, err)
			}
			var back jfloat
			if err := back.UnmarshalJSON(out); err != nil {
				t.Fatalf("re-reading %s: %v", out, err)
			}
			if back != fl && !(math.IsNaN(float64(back)) && math.IsNaN(float64(fl))) {
				t.Fatalf("round trip %v -> %s -> %v", fl, out, back)
			}
		}
		var i jint
		_ = i.UnmarshalJSON(b)
	})
}

func FuzzPageToken(f *testing.F) {
	f.Add("")
	f.Add(pageToken(2))
	f.Add("eyJvZmZzZXQiOiAyfQ==")
	f.Add("eyJvZmZzZXQiOiAtMX0=")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, tok string) {
		off, err := parsePageToken(tok)
		if err == nil && off < 0 {
			t.Fatalf("negative offset %d from %q", off, tok)
		}
		if err != nil && err.status != http.StatusBadRequest {
			t.Fatalf("status %d", err.status)
		}
	})
}

// FuzzRequests feeds arbitrary bodies to the JSON endpoints: the fake must
// answer (200, 400, 404 or the HTML 500 of a non-JSON body), never panic.
func FuzzRequests(f *testing.F) {
	f.Add("runs/log-batch", `{"run_id":"r","metrics":[{"key":"a","value":"NaN","timestamp":1}]}`)
	f.Add("runs/search", `{"experiment_ids":["0"],"filter":"metrics.a > 1","order_by":["metrics.a DESC"],"max_results":2}`)
	f.Add("experiments/search", `{"max_results":1,"page_token":"eyJvZmZzZXQiOiAyfQ=="}`)
	f.Add("runs/create", `{"experiment_id":"0","tags":[{"key":"k"}]}`)
	f.Add("runs/log-inputs", `{"run_id":"r","datasets":[{"dataset":{}}]}`)
	f.Add("registered-models/alias", `{"name":"m","alias":"a","version":"x"}`)
	f.Add("model-versions/create", `{"name":"m","source":"/tmp"}`)
	f.Add("runs/update", `{"run_id":"r","status":7}`)
	f.Fuzz(func(t *testing.T, endpoint, body string) {
		if _, ok := routes[endpoint]; !ok {
			return
		}
		s := &Server{}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/api/2.0/mlflow/"+endpoint, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		s.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 404, 405:
			if ct := rec.Header().Get("Content-Type"); rec.Code != 405 && ct != "application/json" {
				t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
			}
			if rec.Code != 405 && !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("invalid JSON answer %q", rec.Body)
			}
		case 500:
			if !bytes.Contains(rec.Body.Bytes(), []byte("Internal Server Error")) {
				t.Fatalf("500 without the HTML page: %q", rec.Body)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
