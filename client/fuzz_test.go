package client

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/ as well as in f.Add.

func FuzzMetricJSON(f *testing.F) {
	for _, s := range []string{
		`{"key":"auc","value":0.91,"timestamp":1714400000000,"step":3}`,
		`{"key":"k","value":"NaN","timestamp":"1","step":"-2"}`,
		`{"key":"k","value":"-Infinity"}`,
		`{"key":"k","value":1.7976931348623157e308,"run_id":"r"}`,
		`{"key":"k","value":1e400}`,
		`{"key":"k","timestamp":9223372036854775808}`,
		`{"key":"k"`, `null`, `[]`, `{"value":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Metric
		if err := json.Unmarshal(data, &m); err != nil {
			return
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal after Unmarshal: %v", err)
		}
		var back Metric
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		same := back.Key == m.Key && back.Timestamp == m.Timestamp && back.Step == m.Step && back.RunID == m.RunID &&
			(back.Value == m.Value || (math.IsNaN(back.Value) && math.IsNaN(m.Value)))
		if !same && utf8.ValidString(m.Key) && utf8.ValidString(m.RunID) {
			t.Fatalf("round trip changed %+v into %+v", m, back)
		}
	})
}

func FuzzRunJSON(f *testing.F) {
	f.Add([]byte(runJSON))
	f.Add([]byte(`{"run":{"info":{"run_uuid":"x","status":4,"start_time":"12"}}}`))
	f.Add([]byte(`{"run":{"data":{"metrics":[{"key":"a","value":"Infinity"}],"params":[{"key":"p"}]}}}`))
	f.Add([]byte(`{"run":{"info":{"status":"RUNNING","end_time":1.5}}}`))
	f.Add([]byte(`{"runs":[],"next_page_token":"abc"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out struct {
			Run  *Run  `json:"run"`
			Runs []Run `json:"runs"`
		}
		if err := json.Unmarshal(data, &out); err != nil {
			return
		}
		if out.Run != nil {
			_, _ = out.Run.Metric("a")
			_, _ = out.Run.Tag("mlflow.runName")
			if _, err := json.Marshal(out.Run); err != nil {
				t.Fatalf("Marshal decoded run: %v", err)
			}
		}
		var e Experiment
		_ = json.Unmarshal(data, &e)
		var mv ModelVersion
		_ = json.Unmarshal(data, &mv)
	})
}

func FuzzErrorBody(f *testing.F) {
	f.Add(404, "application/json", []byte(`{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run not found"}`))
	f.Add(500, "text/html", []byte("<!doctype html><title>500 Internal Server Error</title>"))
	f.Add(403, "text/plain", []byte("Invalid Host header - possible DNS rebinding attack detected"))
	f.Add(400, "application/json", []byte(`{"error_code":1,"message":{"a":[]}}`))
	f.Add(502, "", []byte{0xff, 0xfe, '\n', '<'})
	f.Add(429, "text/html", []byte("<title>unterminated"))
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		e := parseErrorBody(status, ct, body, "POST", "/api/2.0/mlflow/runs/log-batch")
		msg := e.Error()
		if strings.ContainsAny(msg, "\n\r") {
			t.Fatalf("multi-line error: %q", msg)
		}
		if !strings.HasPrefix(msg, "client: POST /api/2.0/mlflow/runs/log-batch: ") {
			t.Fatalf("bad prefix: %q", msg)
		}
		if utf8.RuneCountInString(e.Message) > 501 {
			t.Fatalf("message of %d runes", utf8.RuneCountInString(e.Message))
		}
		_ = e.Is(ErrNotFound)
	})
}

func FuzzInt64OrString(f *testing.F) {
	for _, s := range []string{`1`, `"1"`, `-9223372036854775808`, `"9223372036854775807"`, `1e3`, `"1e3"`, `1.5`, `null`, `"x"`, `true`, `9223372036854775808`, `" 7 "`, `01`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v jsonInt64
		if err := json.Unmarshal(data, &v); err != nil {
			return
		}
		b, _ := json.Marshal(int64(v))
		var back jsonInt64
		if err := json.Unmarshal(b, &back); err != nil || back != v {
			t.Fatalf("%s decoded to %d, re-decoding %s gave %d (%v)", data, v, b, back, err)
		}
	})
}

func FuzzFloatOrString(f *testing.F) {
	for _, s := range []string{`1.5`, `"NaN"`, `"Infinity"`, `"-Infinity"`, `"inf"`, `"2.5"`, `1e400`, `-0`, `"0x1p3"`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v jsonFloat
		if err := json.Unmarshal(data, &v); err != nil {
			return
		}
		b := appendFloat(nil, float64(v))
		var back jsonFloat
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if back != v && !(math.IsNaN(float64(back)) && math.IsNaN(float64(v))) {
			t.Fatalf("%s: %v != %v", data, v, back)
		}
	})
}

// FuzzEncodeBatch checks the hand-written encoder against encoding/json.
func FuzzEncodeBatch(f *testing.F) {
	f.Add("r1", "auc", 0.5, int64(1), int64(2), "p", "v\"\\\n", "t", "日本")
	f.Add("r", "k\xff", math.NaN(), int64(-1), int64(math.MaxInt64), "", "", "\u2028", "\x00")
	f.Add("r", "k", math.Inf(-1), int64(0), int64(0), "a", "b", "c", "d")
	f.Fuzz(func(t *testing.T, runID, key string, value float64, ts, step int64, pk, pv, tk, tv string) {
		body := encodeBatch(runID, []Metric{{Key: key, Value: value, Timestamp: ts, Step: step}}, []Param{{pk, pv}}, []Tag{{tk, tv}})
		if !json.Valid(body) {
			t.Fatalf("invalid JSON: %q", body)
		}
		var got struct {
			RunID   string   `json:"run_id"`
			Metrics []Metric `json:"metrics"`
			Params  []Param  `json:"params"`
			Tags    []Tag    `json:"tags"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("decoding %q: %v", body, err)
		}
		type six struct{ R, K, PK, PV, TK, TV string }
		ref, _ := json.Marshal(six{runID, key, pk, pv, tk, tv})
		var want six
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		have := six{got.RunID, got.Metrics[0].Key, got.Params[0].Key, got.Params[0].Value, got.Tags[0].Key, got.Tags[0].Value}
		if want != have {
			t.Fatalf("strings differ from encoding/json: %q vs %q", want, have)
		}
		m := got.Metrics[0]
		if m.Timestamp != ts || m.Step != step || (m.Value != value && !(math.IsNaN(value) && math.IsNaN(m.Value))) {
			t.Fatalf("metric %+v, want value %v ts %d step %d", m, value, ts, step)
		}
	})
}

// FuzzCheckEntityKey checks the key rules against a direct transcription of
// MLflow's Python checks.
func FuzzCheckEntityKey(f *testing.F) {
	for _, s := range []string{"auc", "a/b", "a//b", "/a", "a/", ".", "..", "..a", "a/../b", "é", "e\u0301", "a:b c-d.e", "", strings.Repeat("x", 251), "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		got := checkEntityKey("key", key) == nil
		want := pythonValidKey(key)
		if got != want {
			t.Fatalf("checkEntityKey(%q) valid=%v, Python rules say %v", key, got, want)
		}
	})
}

// pythonValidKey transcribes mlflow/utils/validation.py: regex
// ^[/\w.\- :]*$, posixpath.normpath(name) == name, name not "." and not
// starting with ".." or "/", len(name) <= 250.
func pythonValidKey(name string) bool {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 250 {
		return false
	}
	for _, r := range name {
		if !(isWordRune(r) || strings.ContainsRune("/.- :", r)) {
			return false
		}
	}
	if name == "." || strings.HasPrefix(name, "..") || strings.HasPrefix(name, "/") {
		return false
	}
	return posixNormpath(name) == name
}

// posixNormpath is Python's posixpath.normpath for relative paths.
func posixNormpath(p string) string {
	if p == "" {
		return "."
	}
	var out []string
	for _, c := range strings.Split(p, "/") {
		switch {
		case c == "" || c == ".":
		case c == ".." && len(out) > 0 && out[len(out)-1] != "..":
			out = out[:len(out)-1]
		default:
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "."
	}
	return strings.Join(out, "/")
}

// FuzzChunking checks the splitter: limits respected, order and content kept.
func FuzzChunking(f *testing.F) {
	f.Add(uint16(2500), uint8(150), uint8(30), uint16(10))
	f.Add(uint16(0), uint8(255), uint8(255), uint16(6000))
	f.Add(uint16(1000), uint8(0), uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, nm uint16, np, nt uint8, valueLen uint16) {
		ms := keyedMetrics(int(nm % 5000))
		ps := keyedParams(int(np), int(valueLen%6001))
		ts := keyedTags(int(nt), int(valueLen%8001))
		var gm, gp, gt int
		err := forEachChunk(ms, ps, ts, func(m []Metric, p []Param, tg []Tag) error {
			if len(m) > MaxMetricsPerBatch || len(p) > MaxParamsTagsPerBatch || len(tg) > MaxParamsTagsPerBatch || len(m)+len(p)+len(tg) > MaxEntitiesPerBatch {
				t.Fatalf("chunk over limits: %d/%d/%d", len(m), len(p), len(tg))
			}
			if len(m) > 0 && &m[0] != &ms[gm] || len(p) > 0 && &p[0] != &ps[gp] || len(tg) > 0 && &tg[0] != &ts[gt] {
				t.Fatal("chunks out of order")
			}
			gm, gp, gt = gm+len(m), gp+len(p), gt+len(tg)
			a, b := splitHalf(m, p, tg)
			if a.Len()+b.Len() != len(m)+len(p)+len(tg) {
				t.Fatal("splitHalf lost entities")
			}
			return nil
		})
		if err != nil || gm != len(ms) || gp != len(ps) || gt != len(ts) {
			t.Fatalf("sent %d/%d/%d of %d/%d/%d", gm, gp, gt, len(ms), len(ps), len(ts))
		}
	})
}
