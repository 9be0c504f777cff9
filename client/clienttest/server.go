package clienttest

import (
	"crypto/rand"
	"encoding/hex"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is an in-memory MLflow tracking server. It implements
// [http.Handler]; serve it with [net/http/httptest] (or use [NewServer]) and
// point the real client at it.
//
// The zero value is ready to use and holds the experiment "0" named
// "Default", like a fresh MLflow server. A Server is safe for concurrent use.
// The exported fields are read on every request and must be set before the
// Server first serves, and not changed afterwards.
//
// All state lives in memory, including artifacts; nothing is written to disk.
type Server struct {
	// StoreInf makes the fake keep ±Inf metric values and answer them as
	// "Infinity" / "-Infinity", as MLflow's file store does. By default
	// (false) the fake behaves like MLflow's SQL store, which production
	// servers use: ±Inf is stored and returned as ±1.7976931348623157e308
	// (math.MaxFloat64), a finite number. NaN round-trips as "NaN" either way.
	StoreInf bool

	// Now is the clock used for creation times and default timestamps; nil
	// means time.Now.
	Now func() time.Time

	// Version is what GET /version answers; empty means [DefaultVersion].
	Version string

	mu          sync.Mutex
	initialized bool
	url         string
	experiments map[string]*experiment // by id
	expByName   map[string]*experiment
	nextExpID   int
	runs        map[string]*run
	models      map[string]*registeredModel
	artifacts   map[string][]byte // proxied artifact store: path under mlflow-artifacts:/ → content
	requests    map[string]int
	faults      map[string][]*faultState
}

// DefaultVersion is the MLflow version the fake reports on GET /version: the
// version whose behaviour the fake was checked against.
const DefaultVersion = "3.17.2"

// init lazily sets up the zero value. Callers hold s.mu.
func (s *Server) init() {
	if s.initialized {
		return
	}
	s.initialized = true
	s.experiments = make(map[string]*experiment)
	s.expByName = make(map[string]*experiment)
	s.runs = make(map[string]*run)
	s.models = make(map[string]*registeredModel)
	s.artifacts = make(map[string][]byte)
	s.requests = make(map[string]int)
	s.faults = make(map[string][]*faultState)
	now := s.millis()
	def := &experiment{id: "0", name: "Default", artifactLocation: "mlflow-artifacts:/0", lifecycle: stageActive, creationTime: now, lastUpdateTime: now}
	s.experiments[def.id] = def
	s.expByName[def.name] = def
	s.nextExpID = 1
}

func (s *Server) lock() {
	s.mu.Lock()
	s.init()
}

func (s *Server) millis() int64 {
	if s.Now != nil {
		return s.Now().UnixMilli()
	}
	return time.Now().UnixMilli()
}

// URL returns the base URL of the server started by [NewServer], or "" when
// the Server is served some other way.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

const (
	stageActive  = "active"
	stageDeleted = "deleted"
)

type handlerFunc func(s *Server, w http.ResponseWriter, r *http.Request) *apiErr

// route is one endpoint: its methods and handler. json marks endpoints whose
// POST/PUT bodies must be application/json.
type route struct {
	methods []string
	h       handlerFunc
}

// routes maps an endpoint name (the path after /api/2.0/mlflow/) to its
// handler.
var routes = map[string]route{
	"experiments/create":                    {[]string{http.MethodPost}, (*Server).createExperiment},
	"experiments/get":                       {[]string{http.MethodGet}, (*Server).getExperiment},
	"experiments/get-by-name":               {[]string{http.MethodGet}, (*Server).getExperimentByName},
	"experiments/search":                    {[]string{http.MethodPost, http.MethodGet}, (*Server).searchExperiments},
	"experiments/set-experiment-tag":        {[]string{http.MethodPost}, (*Server).setExperimentTag},
	"experiments/delete-experiment-tag":     {[]string{http.MethodPost}, (*Server).deleteExperimentTag},
	"experiments/delete":                    {[]string{http.MethodPost}, (*Server).deleteExperiment},
	"experiments/restore":                   {[]string{http.MethodPost}, (*Server).restoreExperiment},
	"experiments/update":                    {[]string{http.MethodPost}, (*Server).updateExperiment},
	"runs/create":                           {[]string{http.MethodPost}, (*Server).createRun},
	"runs/get":                              {[]string{http.MethodGet}, (*Server).getRun},
	"runs/update":                           {[]string{http.MethodPost}, (*Server).updateRun},
	"runs/delete":                           {[]string{http.MethodPost}, (*Server).deleteRun},
	"runs/restore":                          {[]string{http.MethodPost}, (*Server).restoreRun},
	"runs/search":                           {[]string{http.MethodPost}, (*Server).searchRuns},
	"runs/set-tag":                          {[]string{http.MethodPost}, (*Server).setTag},
	"runs/delete-tag":                       {[]string{http.MethodPost}, (*Server).deleteTag},
	"runs/log-metric":                       {[]string{http.MethodPost}, (*Server).logMetric},
	"runs/log-parameter":                    {[]string{http.MethodPost}, (*Server).logParam},
	"runs/log-batch":                        {[]string{http.MethodPost}, (*Server).logBatch},
	"runs/log-inputs":                       {[]string{http.MethodPost}, (*Server).logInputs},
	"metrics/get-history":                   {[]string{http.MethodGet}, (*Server).getMetricHistory},
	"metrics/get-history-bulk-interval":     {[]string{http.MethodGet}, (*Server).getMetricHistoryBulkInterval},
	"registered-models/create":              {[]string{http.MethodPost}, (*Server).createRegisteredModel},
	"registered-models/get":                 {[]string{http.MethodGet}, (*Server).getRegisteredModel},
	"registered-models/get-latest-versions": {[]string{http.MethodPost, http.MethodGet}, (*Server).getLatestVersions},
	"registered-models/alias":               {[]string{http.MethodPost, http.MethodGet, http.MethodDelete}, (*Server).alias},
	"model-versions/create":                 {[]string{http.MethodPost}, (*Server).createModelVersion},
	"model-versions/get":                    {[]string{http.MethodGet}, (*Server).getModelVersion},
	"artifacts/list":                        {[]string{http.MethodGet}, (*Server).listRunArtifacts},
}

// Endpoint names that are not under /api/2.0/mlflow/.
const (
	// EndpointArtifacts is the endpoint name of the proxied artifact service
	// (PUT, GET and DELETE under /api/2.0/mlflow-artifacts/artifacts/ and the
	// listing at /api/2.0/mlflow-artifacts/artifacts).
	EndpointArtifacts = "mlflow-artifacts/artifacts"
	// EndpointHealth is the endpoint name of GET /health.
	EndpointHealth = "health"
	// EndpointVersion is the endpoint name of GET /version.
	EndpointVersion = "version"
	// EndpointMultipart is the endpoint name of the proxied multipart
	// upload API (POST /api/2.0/mlflow-artifacts/mpu/{create,complete,abort}/...).
	// Like a real server whose artifact store is local disk, the fake answers
	// 501 NOT_IMPLEMENTED, and clients fall back to a single PUT.
	EndpointMultipart = "mlflow-artifacts/mpu"
	// EndpointPresigned is the endpoint name of the proxied multipart
	// download API (GET /api/2.0/mlflow-artifacts/presigned/...), answered
	// with 501 NOT_IMPLEMENTED.
	EndpointPresigned = "mlflow-artifacts/presigned"
	// AllEndpoints matches every endpoint in [Server.Fail] and
	// [Server.Requests].
	AllEndpoints = "*"
)

// endpointOf names the endpoint of a request path, or "" for an unknown path.
func endpointOf(p string) string {
	switch p {
	case "/health":
		return EndpointHealth
	case "/version":
		return EndpointVersion
	}
	for _, prefix := range []string{"/api/2.0/", "/ajax-api/2.0/"} {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		for _, e := range []string{EndpointArtifacts, EndpointMultipart, EndpointPresigned} {
			if rest == e || strings.HasPrefix(rest, e+"/") {
				return e
			}
		}
		if name, ok := strings.CutPrefix(rest, "mlflow/"); ok {
			if _, known := routes[name]; known {
				return name
			}
		}
	}
	return ""
}

// ServeHTTP serves one request of the MLflow REST API, applying any fault
// registered with [Server.Fail] for its endpoint. It is safe for concurrent
// use; state changes of one request are atomic.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	endpoint := endpointOf(r.URL.Path)
	s.lock()
	s.requests[endpoint]++
	f := s.takeFault(endpoint)
	s.mu.Unlock()
	if f != nil {
		f.apply(s, w, r, endpoint)
		return
	}
	s.serve(w, r, endpoint)
}

// serve dispatches without faults.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, endpoint string) {
	switch endpoint {
	case "":
		// The real server answers unknown routes with a 404 page.
		writeHTMLError(w, http.StatusNotFound)
		return
	case EndpointHealth:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("OK"))
		return
	case EndpointVersion:
		v := s.Version
		if v == "" {
			v = DefaultVersion
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(v))
		return
	case EndpointArtifacts:
		if err := s.serveArtifact(w, r); err != nil {
			writeError(w, err)
		}
		return
	case EndpointMultipart:
		writeError(w, &apiErr{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "Multipart upload is not supported for the current artifact repository", plain: true})
		return
	case EndpointPresigned:
		writeError(w, &apiErr{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "Multipart download is not supported for the current artifact repository", plain: true})
		return
	}
	rt := routes[endpoint]
	allowed := false
	for _, m := range rt.methods {
		if r.Method == m {
			allowed = true
		}
	}
	if !allowed {
		w.Header().Set("Allow", strings.Join(rt.methods, ", "))
		writeHTMLError(w, http.StatusMethodNotAllowed)
		return
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			writeError(w, invalidf("Bad Request. Content-Type header is missing."))
			return
		}
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/json" {
			writeError(w, invalidf("Bad Request. Content-Type must be one of ['application/json']."))
			return
		}
	}
	if err := rt.h(s, w, r); err != nil {
		writeError(w, err)
	}
}

// htmlPages are the framework's error pages the real server sends for
// unknown routes, wrong methods and unhandled exceptions.
var htmlPages = map[int]string{
	http.StatusNotFound:            "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n",
	http.StatusMethodNotAllowed:    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n",
	http.StatusInternalServerError: "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n",
}

func writeHTMLError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(htmlPages[status]))
}

// newRunID returns 32 lowercase hex characters, like uuid.uuid4().hex.
func newRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}
