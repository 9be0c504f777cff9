package clienttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// This file holds the server side of the wire format: the fake's own JSON
// shapes, which mirror MLflow's proto JSON (snake_case names, int64 as JSON
// numbers, NaN and ±Inf as "NaN" / "Infinity" / "-Infinity", unknown fields
// ignored, empty repeated fields omitted).

// MLflow error codes used by the fake, with the HTTP status the real server
// sends for each (mlflow/exceptions.py ERROR_CODE_TO_HTTP_STATUS).
const (
	codeInvalidParameter = "INVALID_PARAMETER_VALUE"
	codeAlreadyExists    = "RESOURCE_ALREADY_EXISTS"
	codeNotFound         = "RESOURCE_DOES_NOT_EXIST"
	codeBadRequest       = "BAD_REQUEST"
	codeInternal         = "INTERNAL_ERROR"
	codeEndpointNotFound = "ENDPOINT_NOT_FOUND"
)

// statusForCode maps an MLflow error code onto the HTTP status the real
// server answers with. RESOURCE_ALREADY_EXISTS is 400, not 409.
func statusForCode(code string) int {
	switch code {
	case "INVALID_PARAMETER_VALUE", "BAD_REQUEST", "RESOURCE_ALREADY_EXISTS", "INVALID_REQUEST", "MALFORMED_REQUEST":
		return http.StatusBadRequest
	case "CUSTOMER_UNAUTHORIZED", "UNAUTHENTICATED":
		return http.StatusUnauthorized
	case "PERMISSION_DENIED":
		return http.StatusForbidden
	case "RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "ENDPOINT_NOT_FOUND":
		return http.StatusNotFound
	case "ABORTED", "RESOURCE_CONFLICT", "ALREADY_EXISTS":
		return http.StatusConflict
	case "REQUEST_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED":
		return http.StatusTooManyRequests
	case "CANCELLED":
		return 499
	case "NOT_IMPLEMENTED":
		return http.StatusNotImplemented
	case "TEMPORARILY_UNAVAILABLE":
		return http.StatusServiceUnavailable
	case "DEADLINE_EXCEEDED":
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}

// codeForStatus is the inverse used by faults that give only a status.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return codeBadRequest
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusConflict:
		return "RESOURCE_CONFLICT"
	case http.StatusTooManyRequests:
		return "REQUEST_LIMIT_EXCEEDED"
	case http.StatusNotImplemented:
		return "NOT_IMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "TEMPORARILY_UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	default:
		return codeInternal
	}
}

// apiErr is an MLflow error answer: {"error_code": ..., "message": ...}.
type apiErr struct {
	status int
	code   string
	msg    string
	html   bool // answer with the framework's HTML error page instead
	plain  bool // no sqlstate / error_class (the artifact multipart handlers)
}

func (e *apiErr) Error() string { return e.code + ": " + e.msg }

func errf(code, format string, args ...any) *apiErr {
	return &apiErr{status: statusForCode(code), code: code, msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) *apiErr {
	return errf(codeInvalidParameter, format, args...)
}

func notFoundf(format string, args ...any) *apiErr {
	return errf(codeNotFound, format, args...)
}

// missingParam is the message MLflow's request schema check gives
// (server/handlers.py _validate_required).
func missingParam(name string) *apiErr {
	return invalidf("Missing value for required parameter '%s'. See the API docs for more information about request parameters.", name)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Every value the fake writes is marshalable; this is a bug in the fake.
		writeError(w, errf(codeInternal, "clienttest: encoding response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errorClass is the error_class MLflow 3.1x adds to error bodies.
func errorClass(code string) string {
	switch code {
	case codeNotFound:
		return "RESOURCE_NOT_FOUND"
	case codeBadRequest:
		return codeInvalidParameter
	}
	return code
}

func writeError(w http.ResponseWriter, e *apiErr) {
	if e.html {
		writeHTMLError(w, e.status)
		return
	}
	if e.plain {
		body, _ := json.Marshal(struct {
			ErrorCode string `json:"error_code"`
			Message   string `json:"message"`
		}{e.code, e.msg})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.status)
		_, _ = w.Write(body)
		return
	}
	body, _ := json.Marshal(struct {
		ErrorCode  string `json:"error_code"`
		Message    string `json:"message"`
		SQLState   string `json:"sqlstate"`
		ErrorClass string `json:"error_class"`
	}{e.code, e.msg, "KAM00", errorClass(e.code)})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

// empty is the body of every successful logging call.
type empty struct{}

// jfloat is a double as protobuf JSON writes and reads it.
type jfloat float64

func (f jfloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return appendPyFloat(nil, v), nil
}

// appendPyFloat formats v as Python's repr(float), which the real server
// uses for JSON doubles: "2.0", "0.5", "1e-05", "1.7976931348623157e+308".
func appendPyFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "nan"...)
	case math.IsInf(v, 1):
		return append(b, "inf"...)
	case math.IsInf(v, -1):
		return append(b, "-inf"...)
	}
	e := strconv.FormatFloat(v, 'e', -1, 64) // d[.ddd]e±XX
	_, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp < -4 || exp >= 16 {
		return append(b, e...)
	}
	f := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(f, ".") {
		f += ".0"
	}
	return append(b, f...)
}

func (f *jfloat) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = jfloat(math.NaN())
			return nil
		case "Infinity":
			*f = jfloat(math.Inf(1))
			return nil
		case "-Infinity":
			*f = jfloat(math.Inf(-1))
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || strings.ContainsAny(s, "nNiI") {
			return fmt.Errorf("invalid double %q", s)
		}
		*f = jfloat(v)
		return nil
	}
	// encoding/json has validated the literal: a JSON number, true or false.
	if b[0] == 't' || b[0] == 'f' {
		return fmt.Errorf("invalid double %s", b)
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("invalid double %s", truncate(string(b), 40))
	}
	*f = jfloat(v)
	return nil
}

// jint is an int64 that reads from a JSON number or a decimal string, and is
// written as a number, as MLflow does.
type jint int64

func (i *jint) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 1 && b[0] == '"' {
		s = s[1 : len(s)-1]
		if strings.ContainsRune(s, '\\') {
			if err := json.Unmarshal(b, &s); err != nil {
				return err
			}
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// protobuf accepts integral floats such as 1e3 for int64.
		fv, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || fv != math.Trunc(fv) || math.Abs(fv) > 1<<62 {
			return fmt.Errorf("invalid int64 %s", truncate(s, 40))
		}
		v = int64(fv)
	}
	*i = jint(v)
	return nil
}

// optInt is an optional int64 request field: set tells whether it was sent.
type optInt struct {
	v   int64
	set bool
}

func (o *optInt) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var i jint
	if err := i.UnmarshalJSON(b); err != nil {
		return err
	}
	o.v, o.set = int64(i), true
	return nil
}

// optFloat is an optional double request field.
type optFloat struct {
	v   float64
	set bool
}

func (o *optFloat) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var f jfloat
	if err := f.UnmarshalJSON(b); err != nil {
		return err
	}
	o.v, o.set = float64(f), true
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// decodeBody reads a JSON request body into v. An empty body is an empty
// message, as for the real server.
func decodeBody(r *http.Request, v any) *apiErr {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, maxRequestBody)); err != nil {
		return errf(codeBadRequest, "clienttest: reading request body: %v", err)
	}
	if buf.Len() == 0 {
		return nil
	}
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			// The real server fails on bodies that are not JSON with its
			// framework's HTML 500 page.
			return &apiErr{status: http.StatusInternalServerError, code: codeInternal, msg: err.Error(), html: true}
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalidf("Invalid value for parameter '%s' supplied:  Hint: Value was of type '%s'. See the API docs for more information about request parameters.", te.Field, te.Value)
		}
		return invalidf("Invalid value supplied: %v. See the API docs for more information about request parameters.", err)
	}
	return nil
}

// maxRequestBody bounds a JSON request body (the real server has no explicit
// bound; 64 MiB is far above anything a valid request needs).
const maxRequestBody = 64 << 20

// Wire shapes of the responses.

type wTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wMetric struct {
	Key       string `json:"key"`
	Value     jfloat `json:"value"`
	Timestamp int64  `json:"timestamp"`
	Step      int64  `json:"step"`
	RunID     string `json:"run_id,omitempty"`
}

type wExperiment struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location"`
	LifecycleStage   string `json:"lifecycle_stage"`
	LastUpdateTime   int64  `json:"last_update_time"`
	CreationTime     int64  `json:"creation_time"`
	Tags             []wTag `json:"tags,omitempty"`
	Workspace        string `json:"workspace"`
}

type wRunInfo struct {
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
	RunID          string `json:"run_id"`
}

type wRunData struct {
	Metrics []wMetric `json:"metrics,omitempty"`
	Params  []wTag    `json:"params,omitempty"`
	Tags    []wTag    `json:"tags,omitempty"`
}

type wDataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

type wDatasetInput struct {
	Tags    []wTag   `json:"tags,omitempty"`
	Dataset wDataset `json:"dataset"`
}

type wRunInputs struct {
	DatasetInputs []wDatasetInput `json:"dataset_inputs,omitempty"`
}

type wRun struct {
	Info    wRunInfo   `json:"info"`
	Data    wRunData   `json:"data"`
	Inputs  wRunInputs `json:"inputs"`
	Outputs *struct{}  `json:"outputs,omitempty"` // absent in runs/create answers
}

type wModelVersion struct {
	Name                 string   `json:"name"`
	Version              string   `json:"version"`
	CreationTimestamp    int64    `json:"creation_timestamp"`
	LastUpdatedTimestamp int64    `json:"last_updated_timestamp"`
	UserID               string   `json:"user_id,omitempty"`
	CurrentStage         string   `json:"current_stage"`
	Description          string   `json:"description"`
	Source               string   `json:"source"`
	RunID                string   `json:"run_id,omitempty"`
	Status               string   `json:"status"`
	Tags                 []wTag   `json:"tags,omitempty"`
	RunLink              string   `json:"run_link"`
	Aliases              []string `json:"aliases,omitempty"`
}

type wRegisteredModel struct {
	Name                 string          `json:"name"`
	CreationTimestamp    int64           `json:"creation_timestamp"`
	LastUpdatedTimestamp int64           `json:"last_updated_timestamp"`
	Description          string          `json:"description,omitempty"`
	LatestVersions       []wModelVersion `json:"latest_versions,omitempty"`
	Tags                 []wTag          `json:"tags,omitempty"`
	Aliases              []wAlias        `json:"aliases,omitempty"`
}

type wAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type wFileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

// Request shapes shared by several endpoints.

type rTag struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

type rMetric struct {
	Key       *string  `json:"key"`
	Value     optFloat `json:"value"`
	Timestamp optInt   `json:"timestamp"`
	Step      optInt   `json:"step"`
}
