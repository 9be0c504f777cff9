package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Body size limits.
const (
	maxErrorBody    = 1 << 20   // error answers are read up to 1 MiB
	maxResponseBody = 256 << 20 // successful JSON answers up to 256 MiB
)

// callState travels in the request context through go-retryablehttp's hooks.
type callState struct {
	endpoint string
	method   string
	retry    bool
	body     []byte
	attempts int
	status   int
	signErr  error
}

type callStateKey struct{}

func stateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	return st
}

// newRetryClient builds the go-retryablehttp client shared by all calls.
// Its logger is routed to c.logger at debug level.
func (c *Client) newRetryClient(hc *http.Client) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       slogLeveled{c.logger},
		RetryWaitMin: c.retry.BackoffFactor,
		RetryWaitMax: c.retry.MaxBackoff,
		RetryMax:     c.retry.MaxRetries,
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, attempt int) {
			if st := stateFrom(req.Context()); st != nil {
				st.attempts = attempt + 1
			}
		},
		CheckRetry:   c.checkRetry,
		Backoff:      c.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		PrepareRetry: func(req *http.Request) error {
			st := stateFrom(req.Context())
			if c.signer == nil || st == nil {
				return nil
			}
			return c.signer.SignRequest(req.Context(), req, st.body)
		},
	}
}

// checkRetry implements MLflow's retry decision: transient statuses and
// network errors, never after the context is done, never for calls marked
// non-idempotent.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	st := stateFrom(ctx)
	if st == nil || !st.retry {
		return false, nil
	}
	retry := false
	status := 0
	if err != nil {
		retry, _ = retryablehttp.ErrorPropagatedRetryPolicy(ctx, nil, err)
	} else {
		status = resp.StatusCode
		retry = transientStatus(status)
	}
	if retry && st.attempts <= c.retry.MaxRetries {
		attrs := []any{"endpoint", st.endpoint, "attempt", st.attempts, "status", status}
		if err != nil {
			attrs = append(attrs, "error", errorClass(err))
		}
		c.logger.Debug("client: retrying request", attrs...)
	}
	return retry, nil
}

// errorClass describes a network error without the URL.
func errorClass(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// backoff computes urllib3's wait before retry attemptNum+1.
func (c *Client) backoff(_, _ time.Duration, attemptNum int, resp *http.Response) time.Duration {
	return c.retry.wait(attemptNum+1, resp)
}

// wait returns the pause before retry n (1-based) after resp (nil for
// network errors).
func (p RetryPolicy) wait(n int, resp *http.Response) time.Duration {
	if p.RespectRetryAfter && resp != nil {
		switch resp.StatusCode {
		case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				return min(d, p.MaxBackoff)
			}
		}
	}
	if n <= 1 {
		return 0
	}
	shift := min(n-1, 30)
	d := p.BackoffFactor * time.Duration(1<<shift)
	if d < 0 || d/time.Duration(1<<shift) != p.BackoffFactor { // overflow
		d = p.MaxBackoff
	}
	if p.BackoffJitter > 0 {
		d += rand.N(p.BackoffJitter)
	}
	return max(0, min(d, p.MaxBackoff))
}

// parseRetryAfter parses delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || secs != secs {
			return 0, false
		}
		if secs > 1e6 {
			secs = 1e6
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(0, t.Sub(now)), true
}

// slogLeveled routes go-retryablehttp's own log lines to slog at debug level.
type slogLeveled struct{ l *slog.Logger }

func (s slogLeveled) Error(msg string, kv ...any) { s.l.Debug("retryablehttp: "+msg, kv...) }
func (s slogLeveled) Info(msg string, kv ...any)  { s.l.Debug("retryablehttp: "+msg, kv...) }
func (s slogLeveled) Debug(msg string, kv ...any) { s.l.Debug("retryablehttp: "+msg, kv...) }
func (s slogLeveled) Warn(msg string, kv ...any)  { s.l.Debug("retryablehttp: "+msg, kv...) }

// opName turns "/api/2.0/mlflow/runs/get" into "runs/get" for span names.
func opName(path string) string {
	for _, p := range []string{"/api/2.0/mlflow/", "/api/3.0/mlflow/", "/api/2.0/"} {
		if strings.HasPrefix(path, p) {
			return path[len(p):]
		}
	}
	return strings.TrimPrefix(path, "/")
}

// startSpan starts the one span of an API operation.
func (c *Client) startSpan(ctx context.Context, method, path string) (context.Context, trace.Span) {
	return c.tracer.Start(ctx, "mlflow "+opName(path),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("mlflow.endpoint", path),
			attribute.String("http.request.method", method),
		))
}

// endSpan records the outcome of an operation on span.
func endSpan(span trace.Span, status, attempts int, err error) {
	if status != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", status))
	}
	span.SetAttributes(attribute.Int("mlwatch.attempts", attempts))
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Code != "" {
			span.SetAttributes(attribute.String("mlflow.error_code", ae.Code))
		}
		var ve *ValidationError
		if errors.As(err, &ve) {
			span.SetAttributes(attribute.String("mlflow.error_code", "INVALID_PARAMETER_VALUE"))
		}
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// doJSON is the one place for JSON API calls: the caller has validated its
// input. in may be nil (no body), url.Values (sent as the query string, for
// GET), []byte or json.RawMessage (a pre-encoded JSON body) or any value
// encoding/json can marshal. out may be nil. The call gets auth headers, the
// signer, one span, retries when idempotent, and decodes non-2xx answers into
// *APIError.
func (c *Client) doJSON(ctx context.Context, method, path string, in, out any, idempotent bool) error {
	ctx, span := c.startSpan(ctx, method, path)
	st, err := c.callJSON(ctx, method, path, in, out, idempotent)
	endSpan(span, st.status, st.attempts, err)
	return err
}

// callJSON is doJSON without the span (CreateRun wraps several attempts in one span).
func (c *Client) callJSON(ctx context.Context, method, path string, in, out any, idempotent bool) (*callState, error) {
	st := &callState{endpoint: path, method: method, retry: idempotent}
	target := c.endpoint(path)
	var body []byte
	switch v := in.(type) {
	case nil:
	case url.Values:
		if len(v) > 0 {
			target += "?" + encodeQuery(v)
		}
	case []byte:
		body = v
	case json.RawMessage:
		body = v
	default:
		b, err := json.Marshal(in)
		if err != nil {
			return st, fmt.Errorf("client: %s %s: encoding request: %w", method, path, err)
		}
		body = b
	}
	st.body = body
	ctx = context.WithValue(ctx, callStateKey{}, st)
	req, err := retryablehttp.NewRequestWithContext(ctx, method, target, nilIfEmpty(body))
	if err != nil {
		return st, fmt.Errorf("client: %s %s: building request: %w", method, path, err)
	}
	c.setHeaders(req.Header)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.send(ctx, c.rcJSON, req, st)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	st.status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return st, decodeAPIError(resp, method, path)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return st, &transportError{method: method, endpoint: path, err: fmt.Errorf("reading response: %w", errorUnwrapURL(err))}
	}
	if len(data) > maxResponseBody {
		return st, fmt.Errorf("client: %s %s: response larger than %d bytes", method, path, maxResponseBody)
	}
	if out == nil {
		return st, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return st, fmt.Errorf("client: %s %s: decoding response: %s", method, path, describeDecodeError(err, resp.Header.Get("Content-Type")))
	}
	return st, nil
}

func nilIfEmpty(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// encodeQuery encodes v with spaces as %20 (not '+'), so that signers and
// servers agree on the canonical form. Repeated fields are repeated keys.
func encodeQuery(v url.Values) string {
	return strings.ReplaceAll(v.Encode(), "+", "%20")
}

// describeDecodeError gives a one-line reason for a malformed answer.
func describeDecodeError(err error, contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "" && mt != "application/json" {
		return "answer is " + mt + ", not JSON"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "malformed JSON at offset " + strconv.FormatInt(se.Offset, 10)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + strconv.Quote(te.Field) + " has JSON type " + te.Value
	}
	return oneLine(err.Error(), 200)
}

// setHeaders copies the client's headers (User-Agent, extra, auth) onto h.
func (c *Client) setHeaders(h http.Header) {
	for k, v := range c.headers {
		h[k] = append([]string(nil), v...)
	}
}

// send runs the request through go-retryablehttp after signing it.
func (c *Client) send(ctx context.Context, rc *retryablehttp.Client, req *retryablehttp.Request, st *callState) (*http.Response, error) {
	if c.signer != nil {
		if err := c.signer.SignRequest(ctx, req.Request, st.body); err != nil {
			return nil, fmt.Errorf("client: %s %s: signing request: %w", st.method, st.endpoint, err)
		}
	}
	resp, err := rc.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("client: %s %s: %w", st.method, st.endpoint, context.Cause(ctx))
		}
		return nil, &transportError{method: st.method, endpoint: st.endpoint, err: errorUnwrapURL(err)}
	}
	if resp == nil {
		return nil, &transportError{method: st.method, endpoint: st.endpoint, err: errors.New("no response")}
	}
	return resp, nil
}

// errorUnwrapURL drops *url.Error's URL (it may carry a query string).
func errorUnwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// doRaw sends req (any method and body) through the same transport as
// doJSON: headers (Content-Type is kept if set), signer, one span named op,
// and retries when idempotent is true and req.GetBody is set (or there is no
// body). The response body must be closed by the caller. A non-2xx answer is
// returned as *APIError with the body read up to 1 MiB and closed. The
// per-attempt timeout does not apply; bound the call with ctx.
func (c *Client) doRaw(ctx context.Context, op string, req *http.Request, idempotent bool) (*http.Response, error) {
	path := req.URL.Path
	ctx, span := c.tracer.Start(ctx, "mlflow "+op,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("mlflow.endpoint", path),
			attribute.String("http.request.method", req.Method),
		))
	st := &callState{endpoint: path, method: req.Method}
	ctx = context.WithValue(ctx, callStateKey{}, st)
	hreq := req.Clone(ctx)
	ct := req.Header.Get("Content-Type")
	c.setHeaders(hreq.Header)
	for k, v := range req.Header {
		hreq.Header[k] = v
	}
	if ct != "" {
		hreq.Header.Set("Content-Type", ct)
	}
	var rreq *retryablehttp.Request
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		st.retry = idempotent
		rreq = &retryablehttp.Request{Request: hreq}
	case req.GetBody != nil:
		st.retry = idempotent
		rreq = &retryablehttp.Request{Request: hreq}
		getBody := req.GetBody
		if err := rreq.SetBody(retryablehttp.ReaderFunc(func() (io.Reader, error) { return getBody() })); err != nil {
			endSpan(span, 0, 0, err)
			return nil, fmt.Errorf("client: %s %s: %w", req.Method, path, err)
		}
		rreq.ContentLength = req.ContentLength
	default:
		rreq = &retryablehttp.Request{Request: hreq}
	}
	resp, err := c.send(ctx, c.rcRaw, rreq, st)
	if err != nil {
		endSpan(span, 0, st.attempts, err)
		return nil, err
	}
	st.status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := decodeAPIError(resp, req.Method, path)
		resp.Body.Close()
		endSpan(span, st.status, st.attempts, apiErr)
		return nil, apiErr
	}
	endSpan(span, st.status, st.attempts, nil)
	return resp, nil
}

// decodeAPIError reads an error answer (up to 1 MiB) into an *APIError.
// MLflow JSON bodies give Code and Message; other bodies (HTML, plain text)
// give a one-line excerpt and no code. It does not close the body.
func decodeAPIError(resp *http.Response, method, path string) *APIError {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return parseErrorBody(resp.StatusCode, resp.Header.Get("Content-Type"), data, method, path)
}

// parseErrorBody builds the APIError for an error body.
func parseErrorBody(status int, contentType string, data []byte, method, path string) *APIError {
	e := &APIError{StatusCode: status, Method: method, Endpoint: path}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var w struct {
			ErrorCode json.RawMessage `json:"error_code"`
			Message   json.RawMessage `json:"message"`
		}
		if json.Unmarshal(trimmed, &w) == nil {
			var code, msg string
			_ = json.Unmarshal(w.ErrorCode, &code)
			if json.Unmarshal(w.Message, &msg) != nil && len(w.Message) > 0 {
				msg = string(w.Message)
			}
			if code != "" || msg != "" {
				e.Code = oneLine(code, 64)
				e.Message = oneLine(msg, 500)
				return e
			}
		}
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	text := string(trimmed)
	if mt == "text/html" || bytes.HasPrefix(bytes.ToLower(trimmed), []byte("<!doctype")) || bytes.HasPrefix(bytes.ToLower(trimmed), []byte("<html")) {
		text = htmlTitle(text)
	}
	if text == "" {
		text = http.StatusText(status)
	}
	e.Message = oneLine(text, 200)
	return e
}

// htmlTitle returns the <title> (or first <h1>) of an HTML page, or "".
func htmlTitle(s string) string {
	low := asciiLower(s) // same byte offsets as s, unlike strings.ToLower

	for _, tag := range []string{"title", "h1"} {
		i := strings.Index(low, "<"+tag)
		if i < 0 {
			continue
		}
		j := strings.IndexByte(low[i:], '>')
		if j < 0 {
			continue
		}
		start := i + j + 1
		k := strings.Index(low[start:], "</"+tag)
		if k < 0 {
			continue
		}
		return strings.TrimSpace(s[start : start+k])
	}
	return ""
}

// asciiLower lowercases A-Z only, keeping every byte offset.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// oneLine collapses whitespace (newlines included) and cuts s to n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	return truncateRunes(s, n)
}

// jsonMarshal is json.Marshal with the package's error prefix.
func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("client: encoding request: %w", err)
	}
	return b, nil
}
