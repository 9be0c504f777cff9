package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// artPrefix mounts the fake server under a path prefix so that code that
// drops the tracking URI's prefix fails.
const artPrefix = "/pfx"

// artFake is a loopback MLflow server with runs/get and the artifact proxy
// (upload, download, list, multipart). Its zero value is not usable; use
// newArtFake.
type artFake struct {
	t           testing.TB
	srv         *httptest.Server
	artifactURI string

	mu       sync.Mutex
	files    map[string][]byte // full proxy path → content
	types    map[string]string // full proxy path → Content-Type
	requests []string          // "METHOD path"
	auth     []string          // Authorization headers seen
	// failPut returns a status for a PUT of the given full path (0: ok).
	failPut func(path string, attempt int) int
	putSeen map[string]int
	// listExtra adds raw entries to every listing.
	listExtra []map[string]any
	mpu       func(w http.ResponseWriter, r *http.Request, op, dir string) bool
}

func newArtFake(t testing.TB, runID string) *artFake {
	f := &artFake{
		t:           t,
		artifactURI: "mlflow-artifacts:/1/" + runID + "/artifacts",
		files:       map[string][]byte{},
		types:       map[string]string{},
		putSeen:     map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+artPrefix+"/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("run_id")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"run": map[string]any{"info": map[string]any{
			"run_id": id, "experiment_id": "1", "artifact_uri": f.artifactURI, "status": "RUNNING",
		}}})
	})
	const api = artPrefix + "/api/2.0/mlflow-artifacts/artifacts"
	mux.HandleFunc("PUT "+api+"/{path...}", func(w http.ResponseWriter, r *http.Request) {
		p := r.PathValue("path")
		f.mu.Lock()
		f.putSeen[p]++
		attempt := f.putSeen[p]
		fail := f.failPut
		f.mu.Unlock()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if fail != nil {
			if code := fail(p, attempt); code != 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				_, _ = io.WriteString(w, `{"message":"injected"}`)
				return
			}
		}
		f.mu.Lock()
		f.files[p] = body
		f.types[p] = r.Header.Get("Content-Type")
		f.mu.Unlock()
		_, _ = io.WriteString(w, "{}")
	})
	mux.HandleFunc("GET "+api+"/{path...}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		b, ok := f.files[r.PathValue("path")]
		f.mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"no such file"}`)
			return
		}
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET "+api, func(w http.ResponseWriter, r *http.Request) {
		dir := r.URL.Query().Get("path")
		f.mu.Lock()
		seen := map[string]bool{}
		var files []map[string]any
		for p, b := range f.files {
			rest, ok := strings.CutPrefix(p, dir+"/")
			if !ok {
				continue
			}
			name, _, isDir := strings.Cut(rest, "/")
			if seen[name] {
				continue
			}
			seen[name] = true
			e := map[string]any{"path": name, "is_dir": isDir}
			if !isDir {
				e["file_size"] = len(b) // a number here; real servers may send a string
			}
			files = append(files, e)
		}
		files = append(files, f.listExtra...)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"files": files})
	})
	mux.HandleFunc("POST "+artPrefix+"/api/2.0/mlflow-artifacts/mpu/{op}/{dir...}", func(w http.ResponseWriter, r *http.Request) {
		if f.mpu == nil || !f.mpu(w, r, r.PathValue("op"), r.PathValue("dir")) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotImplemented)
			_, _ = io.WriteString(w, `{"error_code":"NOT_IMPLEMENTED","message":"Multipart upload is not supported for the current artifact repository"}`)
		}
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a Client for the fake with fast retries.
func (f *artFake) client(opts ...Option) *Client {
	f.t.Helper()
	all := append([]Option{WithRetryPolicy(RetryPolicy{MaxRetries: 3, BackoffFactor: time.Millisecond, MaxBackoff: 5 * time.Millisecond})}, opts...)
	c, err := New(f.srv.URL+artPrefix, all...)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *artFake) file(p string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[p]
	return b, ok
}

func (f *artFake) artifactRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if strings.Contains(r, "mlflow-artifacts") {
			out = append(out, r)
		}
	}
	return out
}

func artWrite(t testing.TB, dir, rel string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLogArtifactProxy(t *testing.T) {
	t.Parallel()
	f := newArtFake(t, "r1")
	c := f.client()
	local := artWrite(t, t.TempDir(), "metrics summary.json", []byte(`{"auc":0.9}`))
	var last atomic.Int64
	err := c.LogArtifact(context.Background(), "r1", local, "eval/day 1",
		WithProgress(func(p string, done, total int64) {
			if p != "eval/day 1/metrics summary.json" || total != 11 {
				t.Errorf("progress(%q, %d, %d)", p, done, total)
			}
			last.Store(done)
		}))
	if err != nil {
		t.Fatal(err)
	}
	const full = "1/r1/artifacts/eval/day 1/metrics summary.json"
	got, ok := f.file(full)
	if !ok || string(got) != `{"auc":0.9}` {
		t.Fatalf("server has %q (%v), want the file", got, ok)
	}
	if ct := f.types[full]; ct != "text/plain" {
		t.Errorf("Content-Type %q, want text/plain (MLflow's guess for .json)", ct)
	}
	if last.Load() != 11 {
		t.Errorf("last progress %d, want 11", last.Load())
	}
}

func TestLogArtifactRetriesWithFullBody(t *testing.T) {
	t.Parallel()
	f := newArtFake(t, "r1")
	f.failPut = func(_ string, attempt int) int {
		if attempt == 1 {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	c := f.client()
	data := bytes.Repeat([]byte("0123456789"), 100_000)
	local := artWrite(t, t.TempDir(), "model.bin", data)
	if err := c.LogArtifact(context.Background(), "r1", local, ""); err != nil {
		t.Fatal(err)
	}
	got, _ := f.file("1/r1/artifacts/model.bin")
	if !bytes.Equal(got, data) {
		t.Fatalf("after retry the server has %d bytes, want %d", len(got), len(data))
	}
	if n := f.putSeen["1/r1/artifacts/model.bin"]; n != 2 {
		t.Errorf("%d PUT attempts, want 2", n)
	}
}

func TestLogArtifactStreamRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reader    func([]byte) io.Reader
		size      int64
		wantErr   bool
		wantPuts  int
		wantStore bool
	}{
		{"seekable is retried", func(b []byte) io.Reader { return bytes.NewReader(b) }, 5, false, 2, true},
		{"plain reader is sent once", func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }, -1, true, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newArtFake(t, "r1")
			f.failPut = func(_ string, attempt int) int {
				if attempt == 1 {
					return http.StatusBadGateway
				}
				return 0
			}
			c := f.client()
			err := c.LogArtifactStream(context.Background(), "r1", "logs/out.txt", tt.reader([]byte("hello")), tt.size)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
			if n := f.putSeen["1/r1/artifacts/logs/out.txt"]; n != tt.wantPuts {
				t.Errorf("%d PUTs, want %d", n, tt.wantPuts)
			}
			got, ok := f.file("1/r1/artifacts/logs/out.txt")
			if ok != tt.wantStore || (ok && string(got) != "hello") {
				t.Errorf("stored %q (%v)", got, ok)
			}
		})
	}
}

func TestLogArtifactsPartialFailure(t *testing.T) {
	t.Parallel()
	f := newArtFake(t, "r1")
	f.failPut = func(p string, _ int) int {
		if strings.HasSuffix(p, "/bad.txt") {
			return http.StatusBadRequest
		}
		return 0
	}
	c := f.client()
	dir := t.TempDir()
	for _, rel := range []string{"a.txt", "sub/bad.txt", "sub/deeper/c.csv", "empty"} {
		data := []byte(rel)
		if rel == "empty" {
			data = nil
		}
		artWrite(t, dir, rel, data)
	}
	err := c.LogArtifacts(context.Background(), "r1", dir, "out", WithConcurrency(2))
	var de *DirectoryUploadError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want *DirectoryUploadError", err)
	}
	if diff := cmp.Diff([]string{"out/a.txt", "out/empty", "out/sub/deeper/c.csv"}, de.Uploaded); diff != "" {
		t.Errorf("Uploaded (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"out/sub/bad.txt"}, de.Failed); diff != "" {
		t.Errorf("Failed (-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("errors.Is(err, ErrInvalidParameter) = false for a 400 answer: %v", err)
	}
	if got, _ := f.file("1/r1/artifacts/out/sub/deeper/c.csv"); string(got) != "sub/deeper/c.csv" {
		t.Errorf("nested file content %q", got)
	}
}

func TestArtifactInputErrorsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := artWrite(t, dir, "f.txt", []byte("x"))
	outside := artWrite(t, t.TempDir(), "secret.txt", []byte("s"))
	escDir := t.TempDir()
	artWrite(t, escDir, "ok.txt", []byte("ok"))
	if err := os.Symlink(outside, filepath.Join(escDir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func(c *Client) error
		want error
	}{
		{"dotdot artifact path", func(c *Client) error { return c.LogArtifact(context.Background(), "r1", file, "../x") }, ErrUnsafeArtifactPath},
		{"absolute artifact path", func(c *Client) error { return c.LogArtifact(context.Background(), "r1", file, "/etc") }, ErrUnsafeArtifactPath},
		{"missing file", func(c *Client) error {
			return c.LogArtifact(context.Background(), "r1", filepath.Join(dir, "nope"), "")
		}, fs.ErrNotExist},
		{"directory given as file", func(c *Client) error { return c.LogArtifact(context.Background(), "r1", dir, "") }, ErrUnsafeArtifactPath},
		{"missing directory", func(c *Client) error {
			return c.LogArtifacts(context.Background(), "r1", filepath.Join(dir, "nope"), "")
		}, fs.ErrNotExist},
		{"symlink out of directory", func(c *Client) error { return c.LogArtifacts(context.Background(), "r1", escDir, "") }, ErrUnsafeArtifactPath},
		{"stream to root", func(c *Client) error {
			return c.LogArtifactStream(context.Background(), "r1", "", strings.NewReader("x"), 1)
		}, ErrUnsafeArtifactPath},
		{"bad option", func(c *Client) error { return c.LogArtifact(context.Background(), "r1", file, "", WithConcurrency(0)) }, ErrInvalidParameter},
		{"empty run id", func(c *Client) error { return c.LogArtifact(context.Background(), "", file, "") }, ErrInvalidParameter},
		{"download escaping path", func(c *Client) error {
			return c.DownloadArtifact(context.Background(), "r1", "a/../../b", t.TempDir())
		}, ErrUnsafeArtifactPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newArtFake(t, "r1")
			err := tt.call(f.client())
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if reqs := f.artifactRequests(); len(reqs) != 0 {
				t.Errorf("artifact requests were sent: %v", reqs)
			}
		})
	}
}

func TestUnsupportedArtifactURI(t *testing.T) {
	t.Parallel()
	for _, uri := range []string{"gs://bucket/x", "dbfs:/x", "", "relative/path", "file://remote-host/x", "s3:///nobucket"} {
		t.Run(uri, func(t *testing.T) {
			t.Parallel()
			f := newArtFake(t, "r1")
			f.artifactURI = uri
			_, err := f.client().ListArtifacts(context.Background(), "r1", "", "")
			var ue *ArtifactURIError
			if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupportedArtifactURI) {
				t.Fatalf("err = %v, want *ArtifactURIError", err)
			}
		})
	}
}

func TestDownloadArtifactProxy(t *testing.T) {
	t.Parallel()
	f := newArtFake(t, "r1")
	c := f.client()
	f.files["1/r1/artifacts/model/MLmodel"] = []byte("flavors: {}")
	f.files["1/r1/artifacts/model/data/weights.bin"] = []byte{0, 1, 2}
	f.files["1/r1/artifacts/other.txt"] = []byte("other")
	dst := filepath.Join(t.TempDir(), "dl")
	if err := c.DownloadArtifact(context.Background(), "r1", "model", dst); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{"MLmodel": "flavors: {}", "data/weights.bin": "\x00\x01\x02"} {
		got, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(rel)))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", rel, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "other.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sibling file was downloaded too: %v", err)
	}
	// A single file into an existing directory keeps its name.
	if err := c.DownloadArtifact(context.Background(), "r1", "other.txt", dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "other.txt")); string(got) != "other" {
		t.Errorf("other.txt = %q", got)
	}
	// Listing entries that would escape are refused.
	f.mu.Lock()
	f.listExtra = []map[string]any{{"path": "../../evil", "is_dir": false, "file_size": "1"}}
	f.mu.Unlock()
	err := c.DownloadArtifact(context.Background(), "r1", "model", t.TempDir())
	if !errors.Is(err, ErrUnsafeArtifactPath) {
		t.Fatalf("escaping listing: err = %v, want ErrUnsafeArtifactPath", err)
	}
}

func TestListArtifactsProxy(t *testing.T) {
	t.Parallel()
	f := newArtFake(t, "r1")
	c := f.client()
	f.files["1/r1/artifacts/a/b.txt"] = []byte("12345")
	f.files["1/r1/artifacts/a/c/d.txt"] = []byte("1")
	page, err := c.ListArtifacts(context.Background(), "r1", "a", "")
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(page.Files, func(x, y ArtifactInfo) int { return strings.Compare(x.Path, y.Path) })
	want := []ArtifactInfo{{Path: "a/b.txt", FileSize: 5}, {Path: "a/c", IsDir: true}}
	if diff := cmp.Diff(want, page.Files); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var n int
	for _, err := range c.ListArtifactsSeq(context.Background(), "r1", "a") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("ListArtifactsSeq yielded %d entries, want 2", n)
	}
}

func TestLocalArtifactRoute(t *testing.T) {
	t.Parallel()
	f := newArtFake(t, "r1")
	root := t.TempDir()
	f.artifactURI = "file://" + root
	c := f.client()
	src := t.TempDir()
	artWrite(t, src, "x/y.txt", []byte("yy"))
	artWrite(t, src, "z.bin", []byte("zzz"))
	if err := c.LogArtifacts(context.Background(), "r1", src, "up"); err != nil {
		t.Fatal(err)
	}
	if err := c.LogArtifactStream(context.Background(), "r1", "s/stream.txt", strings.NewReader("stream"), 6); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "up", "x", "y.txt")); err != nil || string(b) != "yy" {
		t.Fatalf("local store has %q, %v", b, err)
	}
	page, err := c.ListArtifacts(context.Background(), "r1", "up", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []ArtifactInfo{{Path: "up/x", IsDir: true}, {Path: "up/z.bin", FileSize: 3}}
	if diff := cmp.Diff(want, page.Files); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	dst := t.TempDir()
	if err := c.DownloadArtifact(context.Background(), "r1", "", dst); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "s", "stream.txt")); err != nil || string(b) != "stream" {
		t.Errorf("downloaded %q, %v", b, err)
	}
}
