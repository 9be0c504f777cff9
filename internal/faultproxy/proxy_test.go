package faultproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func upstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"echo":"` + string(b) + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		upstream string
		cfg      Config
	}{
		{"non loopback", "http://10.1.2.3:80", Config{}},
		{"https", "https://127.0.0.1:80", Config{}},
		{"rate above one", "http://127.0.0.1:80", Config{ErrorRate: 1.5}},
		{"sum above one", "http://127.0.0.1:80", Config{ErrorRate: 0.6, ResetRate: 0.6}},
		{"slow without delay", "http://127.0.0.1:80", Config{SlowRate: 0.1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if p, err := New(tt.upstream, tt.cfg); err == nil {
				p.Close()
				t.Fatalf("New(%q, %+v) = nil error", tt.upstream, tt.cfg)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cfg        Config
		wantStatus int
		wantErr    bool
		wantHits   int64
		want       Stats
	}{
		{"pass", Config{}, 200, false, 1, Stats{Requests: 1, Forwarded: 1}},
		{"error", Config{ErrorRate: 1}, 503, false, 0, Stats{Requests: 1, Errors: 1}},
		{"slow", Config{SlowRate: 1, SlowDelay: 2 * time.Second}, 0, true, 1, Stats{Requests: 1, Forwarded: 1, Slow: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up, hits := upstream(t)
			p, err := New(up.URL, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			hc := &http.Client{Timeout: 300 * time.Millisecond}
			resp, err := hc.Post(p.URL()+"/api/x", "application/json", strings.NewReader("hi"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Post error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				defer resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
				}
			}
			if got := hits.Load(); got != tt.wantHits {
				t.Errorf("upstream hits = %d, want %d", got, tt.wantHits)
			}
			if diff := cmp.Diff(tt.want, p.Stats()); diff != "" {
				t.Errorf("Stats mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResetMix(t *testing.T) {
	t.Parallel()
	up, hits := upstream(t)
	p, err := New(up.URL, Config{ResetRate: 1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < 40; i++ {
		resp, err := hc.Post(p.URL()+"/api/x", "application/json", strings.NewReader("x"))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("request %d: want a reset, got status %d", i, resp.StatusCode)
		}
	}
	s := p.Stats()
	if s.ResetsBefore == 0 || s.ResetsAfter == 0 || s.ResetsBefore+s.ResetsAfter != 40 {
		t.Errorf("resets before/after = %d/%d, want both > 0 summing to 40", s.ResetsBefore, s.ResetsAfter)
	}
	if hits.Load() != s.ResetsAfter {
		t.Errorf("upstream hits = %d, want %d (resets after forwarding)", hits.Load(), s.ResetsAfter)
	}
}

func TestSetDown(t *testing.T) {
	t.Parallel()
	up, _ := upstream(t)
	p, err := New(up.URL, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	get := func() error {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, p.URL()+"/x", nil)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return errors.New(resp.Status)
		}
		return nil
	}
	if err := get(); err != nil {
		t.Fatalf("before down: %v", err)
	}
	if err := p.SetDown(true); err != nil {
		t.Fatal(err)
	}
	if err := get(); err == nil {
		t.Fatal("while down: request succeeded")
	}
	if err := p.SetDown(false); err != nil {
		t.Fatal(err)
	}
	if err := get(); err != nil {
		t.Fatalf("after up: %v", err)
	}
}
