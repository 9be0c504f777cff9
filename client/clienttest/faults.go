package clienttest

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"
)

// Fault describes how the fake misbehaves on an endpoint; see [Server.Fail].
//
// With only Delay set, the request is answered normally after the delay.
// Otherwise the answer is, in order of precedence: a dropped connection
// (DropConnection), the raw Body with ContentType, or an MLflow JSON error
// {"error_code": ErrorCode, "message": Message} with Status.
type Fault struct {
	// Status is the HTTP status of the failed answer. Zero with an ErrorCode
	// means the status MLflow uses for that code; zero with neither (and no
	// Body or DropConnection) means no failure, only Delay.
	Status int
	// ErrorCode is the MLflow error_code of the JSON error body; empty means
	// the code MLflow's Python client derives from Status.
	ErrorCode string
	// Message is the message of the JSON error body.
	Message string
	// Body, when set, is sent as is instead of a JSON error (e.g. an HTML
	// error page from a proxy).
	Body string
	// ContentType is the Content-Type of Body; empty means text/html.
	ContentType string
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds (rounded up).
	RetryAfter time.Duration
	// Delay is waited before anything else; it ends early when the client
	// goes away.
	Delay time.Duration
	// DropConnection closes the TCP connection without an answer.
	DropConnection bool
	// Times is how many requests the fault applies to; 0 means every request
	// until [Server.ClearFaults].
	Times int
	// AfterHandling runs the real handler first (its state changes stick)
	// and then fails, simulating a server that did the work but whose answer
	// was lost.
	AfterHandling bool
}

type faultState struct {
	Fault
	left int // remaining applications; <= 0 with Times == 0 means unlimited
}

// Fail makes requests to endpoint misbehave as f says. The endpoint is the
// API path after /api/2.0/mlflow/ (for example "runs/log-batch",
// "experiments/get-by-name", "registered-models/alias"), or one of
// [EndpointArtifacts], [EndpointHealth], [EndpointVersion], or
// [AllEndpoints].
//
// Faults queue up per endpoint: a request takes the first fault registered
// for its endpoint (faults for [AllEndpoints] come after the endpoint's own),
// and a fault with Times > 0 is removed once used that many times. So
// Fail(e, Fault{Status: 503, Times: 2}) followed by
// Fail(e, Fault{DropConnection: true, Times: 1}) answers 503 twice, then drops
// one connection, then serves normally. Fail is safe for concurrent use.
// It panics when endpoint names no endpoint of the fake (a typo in a test
// would otherwise inject nothing).
func (s *Server) Fail(endpoint string, f Fault) {
	if !knownEndpoint(endpoint) {
		panic(fmt.Sprintf("clienttest: Fail: unknown endpoint %q (use the path after /api/2.0/mlflow/, e.g. \"runs/log-batch\")", endpoint))
	}
	s.lock()
	defer s.mu.Unlock()
	s.faults[endpoint] = append(s.faults[endpoint], &faultState{Fault: f, left: f.Times})
}

func knownEndpoint(e string) bool {
	switch e {
	case EndpointArtifacts, EndpointMultipart, EndpointPresigned, EndpointHealth, EndpointVersion, AllEndpoints:
		return true
	}
	_, ok := routes[e]
	return ok
}

// ClearFaults removes every fault. It is safe for concurrent use.
func (s *Server) ClearFaults() {
	s.lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// Requests returns how many requests the server has received for endpoint
// (named as in [Server.Fail]; [AllEndpoints] counts every request, "" counts
// requests to unknown paths), including failed and faulted ones. It is safe
// for concurrent use.
func (s *Server) Requests(endpoint string) int {
	s.lock()
	defer s.mu.Unlock()
	if endpoint == AllEndpoints {
		n := 0
		for _, c := range s.requests {
			n += c
		}
		return n
	}
	return s.requests[endpoint]
}

// takeFault pops the fault for the next request to endpoint. Callers hold s.mu.
func (s *Server) takeFault(endpoint string) *Fault {
	for _, key := range []string{endpoint, AllEndpoints} {
		q := s.faults[key]
		if len(q) == 0 {
			continue
		}
		fs := q[0]
		f := fs.Fault
		if fs.Times > 0 {
			fs.left--
			if fs.left <= 0 {
				s.faults[key] = q[1:]
			}
		}
		return &f
	}
	return nil
}

func (f *Fault) fails() bool {
	return f.DropConnection || f.Body != "" || f.Status != 0 || f.ErrorCode != ""
}

// apply serves r under fault f.
func (f *Fault) apply(s *Server, w http.ResponseWriter, r *http.Request, endpoint string) {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if !f.fails() {
		s.serve(w, r, endpoint)
		return
	}
	if f.AfterHandling {
		s.serve(httptest.NewRecorder(), r, endpoint)
	}
	if f.DropConnection {
		hj, ok := w.(http.Hijacker)
		if !ok {
			// Without a hijackable connection, abort the handler: net/http
			// then closes the connection without an answer.
			panic(http.ErrAbortHandler)
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		_ = conn.Close()
		return
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
	}
	if f.Body != "" {
		ct := f.ContentType
		if ct == "" {
			ct = "text/html; charset=utf-8"
		}
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	code, status := f.ErrorCode, f.Status
	if status == 0 {
		status = statusForCode(code)
	}
	if code == "" {
		code = codeForStatus(status)
	}
	msg := f.Message
	if msg == "" {
		msg = "clienttest: injected fault"
	}
	writeError(w, &apiErr{status: status, code: code, msg: msg})
}
