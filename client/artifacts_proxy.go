package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MLflow proxy API paths and multipart variables.
const (
	proxyArtifactsPath = "/api/2.0/mlflow-artifacts/artifacts"
	proxyMPUPath       = "/api/2.0/mlflow-artifacts/mpu/"

	envProxyMultipart        = "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"
	envMultipartMinimumSize  = "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"
	envMultipartChunkSize    = "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE"
	defaultMultipartMinimum  = 500 << 20
	defaultMultipartChunk    = 10 << 20
	unsupportedMultipartText = "Multipart upload is not supported"
	multipartPartRetries     = 3
)

// errMultipartUnsupported makes the proxy route fall back to a single PUT.
var errMultipartUnsupported = errors.New("client: proxy multipart upload not supported")

// proxyStore is the mlflow-artifacts:/ route: MLflow's artifact proxy.
type proxyStore struct {
	c    *Client
	base url.URL // scheme, host and path prefix of the server
	root string  // the run root inside the server's artifact store
}

// newProxyStore resolves mlflow-artifacts:/<path> against the tracking URI
// (mlflow_artifacts_repo.py resolve_uri); a URI with its own host
// (mlflow-artifacts://host:port/...) keeps the tracking scheme and prefix
// but uses that host.
func newProxyStore(c *Client, u *url.URL) (artifactStore, error) {
	base := *c.baseURL
	if u.Host != "" {
		base.Host = u.Host
	}
	root := strings.Trim(u.Path, "/")
	if root != "" {
		if _, err := cleanArtifactPath(root); err != nil {
			return nil, &ArtifactURIError{URI: truncateForError(u.String()), Reason: "unsafe path"}
		}
	}
	return &proxyStore{c: c, base: base, root: root}, nil
}

// urlFor returns base + api + "/" + p with p escaped segment by segment.
func (p *proxyStore) urlFor(api, rel string) string {
	u := p.base
	u.Path = strings.TrimRight(u.Path, "/") + api
	if rel != "" {
		u.Path += "/" + rel
	}
	u.RawPath = ""
	u.RawQuery = ""
	return u.String()
}

func (p *proxyStore) put(ctx context.Context, dest string, src *uploadSource, st *artifactSettings) error {
	full := joinArtifactPath(p.root, dest)
	if src.file != nil && src.size > 0 {
		on, minSize, chunk, err := proxyMultipartConfig(st)
		if err != nil {
			return err
		}
		if on && src.size >= minSize {
			err := p.multipart(ctx, full, dest, src.file, src.size, chunk, st)
			if !errors.Is(err, errMultipartUnsupported) {
				return err
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.urlFor(proxyArtifactsPath, full), nil)
	if err != nil {
		return fmt.Errorf("client: log artifact: %w", err)
	}
	ct := st.contentType
	if ct == "" {
		ct = proxyContentType(dest)
	}
	req.Header.Set("Content-Type", ct)
	switch {
	case src.size == 0:
		req.Body = http.NoBody
		req.ContentLength = 0
	case src.reopen != nil:
		// doRaw sends GetBody's reader on every attempt (the proxy PUT
		// overwrites the same path, so it is idempotent); Body is a
		// placeholder it does not read.
		req.Body = io.NopCloser(src.body)
		req.ContentLength = src.size
		req.GetBody = func() (io.ReadCloser, error) {
			rc, err := src.reopen()
			if err != nil {
				return nil, err
			}
			if st.progress == nil {
				return rc, nil // an *os.File lets the transport use sendfile
			}
			return &progressReader{r: rc, c: rc, path: dest, total: src.size, st: st}, nil
		}
	default:
		req.Body = io.NopCloser(&progressReader{r: src.body, path: dest, total: src.size, st: st})
		req.ContentLength = src.size // -1: chunked
	}
	resp, err := p.c.doRaw(ctx, "artifacts/upload", req, src.reopen != nil || src.size == 0)
	if err != nil {
		return err
	}
	drainClose(resp.Body)
	if src.size == 0 {
		st.report(dest, 0, 0)
	}
	return nil
}

func (p *proxyStore) list(ctx context.Context, dir, _ string) (*ArtifactsPage, error) {
	full := joinArtifactPath(p.root, dir)
	u := p.urlFor(proxyArtifactsPath, "")
	if full != "" {
		u += "?path=" + strings.ReplaceAll(url.QueryEscape(full), "+", "%20")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("client: list artifacts: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.c.doRaw(ctx, "artifacts/list", req, true)
	if err != nil {
		return nil, err
	}
	defer drainClose(resp.Body)
	var out struct {
		Files []struct {
			Path     string    `json:"path"`
			IsDir    bool      `json:"is_dir"`
			FileSize flexInt64 `json:"file_size"`
		} `json:"files"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBody)).Decode(&out); err != nil && err != io.EOF {
		return nil, fmt.Errorf("client: list artifacts: decoding response: %w", err)
	}
	page := &ArtifactsPage{}
	for _, f := range out.Files {
		// The server sends base names; anything else could place a
		// download outside its directory.
		name := f.Path
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
			return nil, &ArtifactPathError{Path: truncateForError(name), Reason: "listed entry is not a plain name"}
		}
		size := int64(f.FileSize)
		if f.IsDir {
			size = 0
		}
		page.Files = append(page.Files, ArtifactInfo{Path: joinArtifactPath(dir, name), IsDir: f.IsDir, FileSize: size})
	}
	return page, nil
}

func (p *proxyStore) get(ctx context.Context, src string, dst *os.File, st *artifactSettings) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.urlFor(proxyArtifactsPath, joinArtifactPath(p.root, src)), nil)
	if err != nil {
		return fmt.Errorf("client: download artifact: %w", err)
	}
	resp, err := p.c.doRaw(ctx, "artifacts/download", req, true)
	if err != nil {
		return err
	}
	defer drainClose(resp.Body)
	r := &progressReader{r: resp.Body, path: src, total: resp.ContentLength, st: st}
	if _, err := io.Copy(dst, r); err != nil {
		return fmt.Errorf("client: download artifact %q: %w", src, errorUnwrapURL(err))
	}
	return nil
}

// proxyMultipartConfig reads MLflow's proxy multipart variables.
func proxyMultipartConfig(st *artifactSettings) (on bool, minSize, chunk int64, err error) {
	if raw := strings.TrimSpace(st.getenv(envProxyMultipart)); raw != "" {
		if on, err = strconv.ParseBool(raw); err != nil {
			return false, 0, 0, &ValidationError{Field: envProxyMultipart, Rule: "must be true or false", Value: truncateForError(raw)}
		}
	}
	minSize, chunk = defaultMultipartMinimum, defaultMultipartChunk
	for _, v := range []struct {
		name string
		dst  *int64
	}{{envMultipartMinimumSize, &minSize}, {envMultipartChunkSize, &chunk}} {
		raw := strings.TrimSpace(st.getenv(v.name))
		if raw == "" {
			continue
		}
		n, perr := strconv.ParseInt(raw, 10, 64)
		if perr != nil || n <= 0 {
			return false, 0, 0, &ValidationError{Field: v.name, Rule: "must be a positive integer", Value: truncateForError(raw)}
		}
		*v.dst = n
	}
	if st.partSize > 0 {
		chunk = st.partSize
	}
	return on, minSize, chunk, nil
}

type mpuCredential struct {
	URL        string            `json:"url"`
	PartNumber int64             `json:"part_number"`
	Headers    map[string]string `json:"headers"`
}

// multipart runs MLflow's proxied multipart upload: create, PUT each part to
// its presigned URL (no MLflow credentials), complete; abort on failure. A
// server without multipart support (HTTP 501 or its message) yields
// errMultipartUnsupported.
func (p *proxyStore) multipart(ctx context.Context, full, dest string, f *os.File, size, chunk int64, st *artifactSettings) error {
	dir, name := path.Split(full)
	dir = strings.TrimSuffix(dir, "/")
	nParts := (size + chunk - 1) / chunk
	var created struct {
		UploadID    string          `json:"upload_id"`
		Credentials []mpuCredential `json:"credentials"`
	}
	err := p.postJSON(ctx, "create", dir, map[string]any{"path": name, "num_parts": nParts}, &created)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (ae.StatusCode == http.StatusNotImplemented || strings.HasPrefix(ae.Message, unsupportedMultipartText)) {
			return errMultipartUnsupported
		}
		return err
	}
	if int64(len(created.Credentials)) != nParts {
		err := fmt.Errorf("client: multipart upload %q: server returned %d part urls for %d parts", dest, len(created.Credentials), nParts)
		p.abort(ctx, dir, name, created.UploadID)
		return err
	}
	type part struct {
		PartNumber int64  `json:"part_number"`
		ETag       string `json:"etag"`
		URL        string `json:"url"`
	}
	parts := make([]part, nParts)
	var (
		mu       sync.Mutex
		firstErr error
		done     int64
	)
	sem := make(chan struct{}, st.concurrency)
	var wg sync.WaitGroup
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, cred := range created.Credentials {
		off := int64(i) * chunk
		n := min(chunk, size-off)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			etag, err := p.putPart(pctx, cred, f, off, n)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("client: multipart upload %q part %d: %w", dest, cred.PartNumber, err)
					cancel()
				}
				return
			}
			parts[i] = part{PartNumber: cred.PartNumber, ETag: etag, URL: cred.URL}
			done += n
			st.report(dest, done, size)
		})
	}
	wg.Wait()
	if firstErr != nil {
		p.abort(ctx, dir, name, created.UploadID)
		return firstErr
	}
	err = p.postJSON(ctx, "complete", dir, map[string]any{"path": name, "upload_id": created.UploadID, "parts": parts}, nil)
	if err != nil {
		p.abort(ctx, dir, name, created.UploadID)
		return err
	}
	return nil
}

// putPart uploads one part to its presigned URL with the server-given
// headers only, retrying transient failures.
func (p *proxyStore) putPart(ctx context.Context, cred mpuCredential, f *os.File, off, n int64) (string, error) {
	var lastErr error
	for attempt := range multipartPartRetries + 1 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, cred.URL, io.NewSectionReader(f, off, n))
		if err != nil {
			return "", err
		}
		req.ContentLength = n
		for k, v := range cred.Headers {
			req.Header.Set(k, v)
		}
		resp, err := p.c.httpClient.Do(req)
		if err != nil {
			lastErr = errorUnwrapURL(err)
			continue
		}
		drainClose(resp.Body)
		if resp.StatusCode/100 == 2 {
			return resp.Header.Get("ETag"), nil
		}
		lastErr = fmt.Errorf("part upload answered HTTP %d", resp.StatusCode)
		if !transientStatus(resp.StatusCode) {
			break
		}
	}
	return "", lastErr
}

func (p *proxyStore) postJSON(ctx context.Context, op, dir string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("client: multipart %s: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.urlFor(proxyMPUPath+op, dir), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("client: multipart %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	resp, err := p.c.doRaw(ctx, "artifacts/mpu/"+op, req, op != "create")
	if err != nil {
		return err
	}
	defer drainClose(resp.Body)
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBody)).Decode(out); err != nil {
		return fmt.Errorf("client: multipart %s: decoding response: %w", op, err)
	}
	return nil
}

// abort is best effort, with its own short deadline so that it runs even
// when ctx is already cancelled.
func (p *proxyStore) abort(ctx context.Context, dir, name, uploadID string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := p.postJSON(actx, "abort", dir, map[string]any{"path": name, "upload_id": uploadID}, nil); err != nil {
		p.c.logger.Warn("client: aborting multipart upload failed", "error", err.Error())
	}
}

// progressReader reports bytes read to the progress callback; c, when set,
// is closed by Close.
type progressReader struct {
	r     io.Reader
	c     io.Closer
	path  string
	total int64
	done  int64
	st    *artifactSettings
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.done += int64(n)
		p.st.report(p.path, p.done, p.total)
	}
	return n, err
}

func (p *progressReader) Close() error {
	if p.c != nil {
		return p.c.Close()
	}
	return nil
}

// drainClose reads a little of what is left so the connection can be reused.
func drainClose(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	_ = rc.Close()
}

// flexInt64 decodes a JSON number or a string holding one (proto3 JSON
// encodes int64 as a string).
type flexInt64 int64

func (f *flexInt64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt64(n)
	return nil
}
