package clienttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkLogBatch1000 measures the fake's own cost for a 1000-metric
// log-batch request (handler only, no network): what it adds to client
// benchmarks that run against it in-process.
func BenchmarkLogBatch1000(b *testing.B) {
	s := &Server{}
	rec := httptest.NewRecorder()
	out := map[string]any{}
	req := httptest.NewRequest(http.MethodPost, api+"runs/create", bytes.NewReader([]byte(`{"experiment_id":"0"}`)))
	req.Header.Set("Content-Type", "application/json")
	s.ServeHTTP(rec, req)
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	runID := out["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	bodies := make([][]byte, 16)
	for i := range bodies {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, `{"run_id":%q,"metrics":[`, runID)
		for m := range 1000 {
			if m > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `{"key":"m%d","value":%d.5,"timestamp":%d,"step":%d}`, m%50, m, 1700000000000+i, m/50+i*20)
		}
		buf.WriteString("]}")
		bodies[i] = buf.Bytes()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		req := httptest.NewRequest(http.MethodPost, api+"runs/log-batch", bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
