package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mpuFake adds MLflow's proxied multipart endpoints to an artFake, with the
// parts going to a separate "presigned" server.
type mpuFake struct {
	mu        sync.Mutex
	ops       []string
	parts     map[int][]byte
	partAuth  []string
	failPart  int
	completed []int
}

func (m *mpuFake) install(t *testing.T, f *artFake) {
	presigned := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Query().Get("partNumber"), "%d", &n)
		b, _ := io.ReadAll(r.Body)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.partAuth = append(m.partAuth, r.Header.Get("Authorization")+r.Header.Get("X-Custom"))
		if n == m.failPart {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		m.parts[n] = b
		w.Header().Set("ETag", fmt.Sprintf(`"etag-%d"`, n))
	}))
	t.Cleanup(presigned.Close)
	f.mpu = func(w http.ResponseWriter, r *http.Request, op, dir string) bool {
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		m.mu.Lock()
		m.ops = append(m.ops, op+" "+dir+" "+fmt.Sprint(in["path"]))
		m.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch op {
		case "create":
			n := int(in["num_parts"].(float64))
			var creds []map[string]any
			for i := 1; i <= n; i++ {
				creds = append(creds, map[string]any{"url": fmt.Sprintf("%s/up?partNumber=%d", presigned.URL, i), "part_number": i, "headers": map[string]string{"X-Custom": "h"}})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"upload_id": "u1", "credentials": creds})
		case "complete":
			m.mu.Lock()
			for _, p := range in["parts"].([]any) {
				pm := p.(map[string]any)
				m.completed = append(m.completed, int(pm["part_number"].(float64)))
				if pm["etag"] != fmt.Sprintf(`"etag-%d"`, int(pm["part_number"].(float64))) {
					t.Errorf("complete got etag %v", pm["etag"])
				}
			}
			m.mu.Unlock()
			_, _ = io.WriteString(w, "{}")
		case "abort":
			_, _ = io.WriteString(w, "{}")
		}
		return true
	}
}

func TestProxyMultipartUpload(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("abcdefghij"), 1_100_000) // 11 MB → 3 parts of 5 MiB
	env := map[string]string{envProxyMultipart: "true", envMultipartMinimumSize: "1000"}
	tests := []struct {
		name      string
		failPart  int
		mpu       bool
		wantOps   []string
		wantErr   bool
		wantWhole bool
	}{
		{"ok", 0, true, []string{"create 1/r1/artifacts/m big.bin", "complete 1/r1/artifacts/m big.bin"}, false, false},
		{"part fails → abort", 2, true, []string{"create 1/r1/artifacts/m big.bin", "abort 1/r1/artifacts/m big.bin"}, true, false},
		{"501 → single PUT", 0, false, nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newArtFake(t, "r1")
			m := &mpuFake{parts: map[int][]byte{}, failPart: tt.failPart}
			if tt.mpu {
				m.install(t, f)
			}
			local := artWrite(t, t.TempDir(), "big.bin", data)
			err := f.client(WithBearerToken("mlflow-token")).LogArtifact(context.Background(), "r1", local, "m",
				WithPartSize(5<<20), withArtifactEnv(func(k string) string { return env[k] }))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			if diff := cmp.Diff(tt.wantOps, m.ops); diff != "" {
				t.Errorf("multipart calls (-want +got):\n%s", diff)
			}
			for _, a := range m.partAuth {
				if strings.Contains(a, "mlflow-token") || a != "h" {
					t.Errorf("presigned part request carried %q; want only the server-given header", a)
				}
			}
			if tt.wantOps != nil && !tt.wantErr {
				sort.Ints(m.completed)
				if diff := cmp.Diff([]int{1, 2, 3}, m.completed); diff != "" {
					t.Errorf("completed parts (-want +got):\n%s", diff)
				}
				joined := append(append(append([]byte(nil), m.parts[1]...), m.parts[2]...), m.parts[3]...)
				if !bytes.Equal(joined, data) {
					t.Errorf("parts reassemble to %d bytes, want %d", len(joined), len(data))
				}
			}
			got, whole := f.file("1/r1/artifacts/m/big.bin")
			if whole != tt.wantWhole || (whole && !bytes.Equal(got, data)) {
				t.Errorf("single PUT stored=%v (%d bytes)", whole, len(got))
			}
		})
	}
}
