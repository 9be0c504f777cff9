package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWebhookNotifier(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format WebhookFormat
		check  func(t *testing.T, doc map[string]string)
	}{
		{"slack", WebhookSlack, func(t *testing.T, doc map[string]string) {
			if !strings.HasPrefix(doc["text"], "*[FIRING] mlwatch critical: churn-xgb auc model_group=churn*\n• churn-xgb auc = 0.61 (threshold 0.7, baseline 0.74)") {
				t.Errorf("text = %q", doc["text"])
			}
			if !strings.Contains(doc["text"], "a &lt;b&gt; &amp; c") || !strings.Contains(doc["text"], "|run>") {
				t.Errorf("slack text not escaped or no run link: %q", doc["text"])
			}
		}},
		{"teams", WebhookTeams, func(t *testing.T, doc map[string]string) {
			if doc["@type"] != "MessageCard" || doc["themeColor"] != "D63333" || doc["title"] != "[FIRING] mlwatch critical: churn-xgb auc model_group=churn" {
				t.Errorf("card = %v", doc)
			}
			if !strings.Contains(doc["text"], "[run](http://mlflow/r1)") {
				t.Errorf("text = %q", doc["text"])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var docs []map[string]string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var doc map[string]string
				if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&doc) != nil {
					http.Error(w, "bad", 400)
					return
				}
				mu.Lock()
				docs = append(docs, doc)
				mu.Unlock()
			}))
			defer srv.Close()
			n, err := NewWebhookNotifier(srv.URL+"/hook/secret-token", tt.format)
			if err != nil {
				t.Fatal(err)
			}
			a := testAlert()
			a.Summary, a.RunURL = "a <b> & c", "http://mlflow/r1"
			if err := n.Notify(context.Background(), []Alert{a}); err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 {
				t.Fatalf("posts = %d", len(docs))
			}
			tt.check(t, docs[0])
		})
	}
}

func TestWebhookNotifierErrors(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		calls++
		mu.Unlock()
		switch r.URL.Path {
		case "/bad":
			http.Error(w, "invalid_payload", http.StatusBadRequest)
		case "/down":
			http.Error(w, "oops", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	fast := WithWebhookRetry(RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	for _, tc := range []struct {
		path   string
		status int
		calls  int
	}{{"/bad", 400, 1}, {"/down", 503, 3}} {
		mu.Lock()
		calls = 0
		mu.Unlock()
		n, err := NewWebhookNotifier(srv.URL+tc.path, WebhookSlack, fast)
		if err != nil {
			t.Fatal(err)
		}
		err = n.Notify(context.Background(), []Alert{testAlert()})
		var we *WebhookError
		var de *DeliveryError
		if !errors.As(err, &we) || we.StatusCode != tc.status || !errors.As(err, &de) || len(de.Failed) != 1 {
			t.Errorf("%s: err = %v, want status %d in a *DeliveryError", tc.path, err, tc.status)
		}
		if calls != tc.calls {
			t.Errorf("%s: calls = %d, want %d", tc.path, calls, tc.calls)
		}
	}
	n, err := NewWebhookNotifier("http://127.0.0.1:1/hook/secret-token", WebhookTeams, fast)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(context.Background(), []Alert{testAlert()})
	if err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("unreachable: err = %v (must fail without naming the URL)", err)
	}
	for _, bad := range []string{"", "/rel", "ftp://x/y"} {
		if _, err := NewWebhookNotifier(bad, WebhookSlack); !errors.Is(err, ErrConfig) {
			t.Errorf("NewWebhookNotifier(%q) err = %v", bad, err)
		}
	}
	if _, err := NewWebhookNotifier("https://x/y", 0); !errors.Is(err, ErrConfig) {
		t.Errorf("format 0: err = %v", err)
	}
}
