package client

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// logBatchServer is a minimal MLflow log-batch endpoint with the SQL
// store's semantics that matter to the batcher: metrics de-duplicated on
// (run, key, timestamp, step, value), params immutable (a changed value is a
// 400), tags last-write-wins. fail, when set, decides per request whether to
// answer with an injected status instead (after or before storing).
type logBatchServer struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	points   map[string][]Metric // run/key → points in arrival order
	seen     map[pointID]bool
	params   map[string]string // run/key → value
	tags     map[string]string
	maxSizes [4]int // metrics, params, tags, entities
	maxBody  int

	requests atomic.Int64
	fail     atomic.Pointer[func(n int64) (status int, afterStore bool)]
	hang     atomic.Pointer[chan struct{}]
}

type pointID struct {
	run, key  string
	ts, step  int64
	valueBits uint64
}

func newLogBatchServer(t *testing.T) *logBatchServer {
	t.Helper()
	s := &logBatchServer{t: t, points: map[string][]Metric{}, seen: map[pointID]bool{}, params: map[string]string{}, tags: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(func() {
		if ch := s.hang.Load(); ch != nil {
			select {
			case <-*ch:
			default:
				close(*ch)
			}
		}
		s.srv.Close()
	})
	return s
}

func (s *logBatchServer) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithTimeout(2 * time.Second)}, opts...)
	c, err := New(s.srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *logBatchServer) setFail(f func(n int64) (int, bool)) { s.fail.Store(&f) }

func (s *logBatchServer) setHang() chan struct{} {
	ch := make(chan struct{})
	s.hang.Store(&ch)
	return ch
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error_code":%q,"message":%q}`, code, msg)
}

func (s *logBatchServer) handle(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	if r.URL.Path != logBatchPath {
		writeErr(w, 404, "ENDPOINT_NOT_FOUND", "no "+r.URL.Path)
		return
	}
	if ch := s.hang.Load(); ch != nil {
		select {
		case <-*ch:
		case <-r.Context().Done():
			return
		}
	}
	status, after := 0, false
	if f := s.fail.Load(); f != nil {
		status, after = (*f)(n)
	}
	if status != 0 && !after {
		writeErr(w, status, "TEMPORARILY_UNAVAILABLE", "injected")
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct {
		RunID   string   `json:"run_id"`
		Metrics []Metric `json:"metrics"`
		Params  []Param  `json:"params"`
		Tags    []Tag    `json:"tags"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeErr(w, 400, "BAD_REQUEST", err.Error())
		return
	}
	s.mu.Lock()
	sizes := [4]int{len(req.Metrics), len(req.Params), len(req.Tags), len(req.Metrics) + len(req.Params) + len(req.Tags)}
	for i, v := range sizes {
		s.maxSizes[i] = max(s.maxSizes[i], v)
	}
	s.maxBody = max(s.maxBody, len(body))
	if sizes[0] > 1000 || sizes[1] > 100 || sizes[2] > 100 || sizes[3] > 1000 {
		s.mu.Unlock()
		writeErr(w, 400, "INVALID_PARAMETER_VALUE", "batch over limits")
		return
	}
	for _, p := range req.Params {
		if old, ok := s.params[req.RunID+"/"+p.Key]; ok && old != p.Value {
			s.mu.Unlock()
			writeErr(w, 400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed. Param with key='"+p.Key+"'")
			return
		}
	}
	for _, p := range req.Params {
		s.params[req.RunID+"/"+p.Key] = p.Value
	}
	for _, m := range req.Metrics {
		id := pointID{req.RunID, m.Key, m.Timestamp, m.Step, math.Float64bits(m.Value)}
		if s.seen[id] {
			continue
		}
		s.seen[id] = true
		k := req.RunID + "/" + m.Key
		s.points[k] = append(s.points[k], m)
	}
	for _, t := range req.Tags {
		s.tags[req.RunID+"/"+t.Key] = t.Value
	}
	s.mu.Unlock()
	if status != 0 {
		writeErr(w, status, "TEMPORARILY_UNAVAILABLE", "injected after store")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}

func (s *logBatchServer) series(run, key string) []Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Metric(nil), s.points[run+"/"+key]...)
}

func (s *logBatchServer) totalPoints() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.points {
		n += len(v)
	}
	return n
}
