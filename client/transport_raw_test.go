package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDoRaw(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		getBody    bool
		idempotent bool
		failFirst  int
		wantCalls  int32
		wantErr    error
	}{
		{"retried with GetBody", true, true, 503, 2, nil},
		{"not retried without GetBody", false, true, 503, 1, ErrUnavailable},
		{"not retried when not idempotent", true, false, 503, 1, ErrUnavailable},
		{"404 not retried", true, true, 404, 1, ErrNotFound},
		{"ok", true, true, 0, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t, WithBearerToken("tok"))
			var calls atomic.Int32
			mux.HandleFunc("PUT /api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model.bin", func(w http.ResponseWriter, r *http.Request) {
				data, _ := io.ReadAll(r.Body)
				if string(data) != "payload" || r.Header.Get("Content-Type") != "application/octet-stream" || r.Header.Get("Authorization") != "Bearer tok" {
					t.Errorf("body %q, headers %v", data, r.Header)
				}
				if calls.Add(1) == 1 && tt.failFirst != 0 {
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(tt.failFirst)
					io.WriteString(w, "<title>upstream down</title>")
					return
				}
				writeJSON(w, 200, map[string]any{})
			})
			var body io.Reader = strings.NewReader("payload")
			if !tt.getBody {
				body = io.MultiReader(strings.NewReader("payload")) // no GetBody
			}
			req, err := http.NewRequest("PUT", c.endpoint("/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model.bin"), body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, err := c.doRaw(context.Background(), "artifacts/upload", req, tt.idempotent)
			if tt.wantErr != nil {
				var ae *APIError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &ae) || ae.Message != "upstream down" || ae.Method != "PUT" {
					t.Fatalf("err = %v", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

type recordingSigner struct {
	mu     sync.Mutex
	bodies []string
}

func (s *recordingSigner) SignRequest(ctx context.Context, req *http.Request, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies = append(s.bodies, string(body))
	if req.Header.Get("User-Agent") == "" {
		return errors.New("signer called before headers were set")
	}
	req.Header.Set("X-Signature", "sig-"+string(rune('0'+len(s.bodies))))
	return nil
}

func TestSignerCalledPerAttempt(t *testing.T) {
	t.Parallel()
	sg := &recordingSigner{}
	c, mux := setup(t, WithRequestSigner(sg))
	var sigs []string
	var mu sync.Mutex
	mux.HandleFunc("/api/2.0/mlflow/runs/set-tag", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sigs = append(sigs, r.Header.Get("X-Signature"))
		n := len(sigs)
		mu.Unlock()
		if n == 1 {
			mlflowError(w, 503, "", "")
			return
		}
		writeJSON(w, 200, map[string]any{})
	})
	if err := c.SetTag(context.Background(), "r1", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sig-1", "sig-2"}, sigs); diff != "" {
		t.Errorf("signatures per attempt (-want +got):\n%s", diff)
	}
	want := `{"key":"k","run_id":"r1","run_uuid":"r1","value":"v"}`
	if len(sg.bodies) != 2 || sg.bodies[0] != want || sg.bodies[1] != want {
		t.Errorf("signer bodies %q", sg.bodies)
	}
}

func TestSignerErrorStopsRequest(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRequestSigner(signerFunc(func(context.Context, *http.Request, []byte) error { return errors.New("no credentials") })))
	mux.HandleFunc("/api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		t.Error("unsigned request sent")
	})
	if _, err := c.GetRun(context.Background(), "r1"); err == nil || !strings.Contains(err.Error(), "signing request: no credentials") {
		t.Errorf("err = %v", err)
	}
}

type signerFunc func(context.Context, *http.Request, []byte) error

func (f signerFunc) SignRequest(ctx context.Context, r *http.Request, b []byte) error {
	return f(ctx, r, b)
}
