package alerting

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder is a Notifier that records what it was asked to send.
type recorder struct {
	mu   sync.Mutex
	sent [][]Alert
	fail func(Alert) bool
}

func (r *recorder) Notify(_ context.Context, alerts []Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, alerts)
	var failed []Alert
	for _, a := range alerts {
		if r.fail != nil && r.fail(a) {
			failed = append(failed, a)
		}
	}
	if failed != nil {
		return &DeliveryError{Failed: failed, Err: errors.New("boom")}
	}
	return nil
}

func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.sent) }

func names(alerts []Alert) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, string(a.Severity)+"/"+a.Model+"/"+a.Metric)
	}
	return out
}

// stores returns each StateStore implementation under test.
func stores(t *testing.T) map[string]func(t *testing.T) StateStore {
	return map[string]func(t *testing.T) StateStore{
		"file": func(t *testing.T) StateStore {
			s, err := NewFileStore(filepath.Join(t.TempDir(), "state.json"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"mlflow": func(t *testing.T) StateStore {
			_, c := clienttest.NewServer(t)
			s, err := NewMLflowStore(c, "", WithClaimSettle(20*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

func TestThrottler(t *testing.T) {
	t.Parallel()
	warn := func(model, metric string) Alert {
		a := testAlert()
		a.Severity, a.Model, a.Metric = SeverityWarning, model, metric
		return a
	}
	crit := func(model, metric string) Alert {
		a := testAlert()
		a.Model, a.Metric = model, metric
		return a
	}
	type step struct {
		advance time.Duration
		in      []Alert
		want    []string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"one warning per model group per day", []step{
			{0, []Alert{warn("m1", "auc"), warn("m2", "auc")}, []string{"warning/m1/auc", "warning/m2/auc"}},
			{time.Hour, []Alert{warn("m1", "auc"), warn("m3", "rmse")}, nil},
			{23 * time.Hour, []Alert{warn("m3", "rmse")}, []string{"warning/m3/rmse"}},
		}},
		{"critical at once, not repeated within window", []step{
			{0, []Alert{crit("m1", "auc")}, []string{"critical/m1/auc"}},
			{30 * time.Minute, []Alert{crit("m1", "auc"), crit("m1", "recall"), crit("m2", "auc")}, []string{"critical/m1/recall", "critical/m2/auc"}},
			{31 * time.Minute, []Alert{crit("m1", "auc")}, []string{"critical/m1/auc"}},
		}},
		{"critical not blocked by warning", []step{
			{0, []Alert{warn("m1", "auc")}, []string{"warning/m1/auc"}},
			{time.Minute, []Alert{crit("m1", "auc"), warn("m1", "auc")}, []string{"critical/m1/auc"}},
		}},
	}
	for sname, mk := range stores(t) {
		for _, tt := range tests {
			t.Run(sname+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				clk := &clock{t: time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)}
				th, err := NewThrottler(mk(t), WithThrottleClock(clk.now))
				if err != nil {
					t.Fatal(err)
				}
				rec := &recorder{}
				n, err := NewThrottledNotifier(rec, th)
				if err != nil {
					t.Fatal(err)
				}
				for i, st := range tt.steps {
					clk.add(st.advance)
					before := rec.count()
					if err := n.Notify(context.Background(), st.in); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					var got []string
					if rec.count() > before {
						got = names(rec.sent[before])
					}
					if diff := cmp.Diff(st.want, got); diff != "" {
						t.Errorf("step %d sent (-want +got):\n%s", i, diff)
					}
				}
			})
		}
	}
}

func TestThrottledNotifierRetriesUndelivered(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)}
	store, err := NewFileStore(filepath.Join(t.TempDir(), "s.json"))
	if err != nil {
		t.Fatal(err)
	}
	th, _ := NewThrottler(store, WithThrottleClock(clk.now))
	failing := true
	rec := &recorder{fail: func(a Alert) bool { return failing && a.Model == "bad" }}
	n, _ := NewThrottledNotifier(rec, th)
	good, bad := testAlert(), testAlert()
	bad.Model = "bad"
	err = n.Notify(context.Background(), []Alert{good, bad})
	var de *DeliveryError
	if !errors.As(err, &de) || len(de.Failed) != 1 || de.Failed[0].Model != "bad" {
		t.Fatalf("err = %v, want the undelivered alert back", err)
	}
	failing = false
	if err := n.Notify(context.Background(), []Alert{good, bad}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"critical/bad/auc"}, names(rec.sent[1])); diff != "" {
		t.Errorf("second call (-want +got):\n%s", diff)
	}
}

type brokenStore struct{}

func (brokenStore) LastSent(context.Context, []string) (map[string]time.Time, error) {
	return nil, errors.New("store down")
}
func (brokenStore) MarkSent(context.Context, []string, time.Time) error {
	return errors.New("store down")
}

func TestThrottlerFailsOpen(t *testing.T) {
	t.Parallel()
	th, _ := NewThrottler(brokenStore{})
	rec := &recorder{}
	n, _ := NewThrottledNotifier(rec, th)
	err := n.Notify(context.Background(), []Alert{testAlert()})
	if err == nil || !strings.Contains(err.Error(), "throttle state") {
		t.Errorf("err = %v, want a state error", err)
	}
	if rec.count() != 1 {
		t.Errorf("alert not sent when the store is down")
	}
}

func TestFileStorePersists(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	ctx := context.Background()
	s1, err := NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)
	if err := s1.MarkSent(ctx, []string{"warning\x00g"}, ts); err != nil {
		t.Fatal(err)
	}
	if err := s1.MarkSent(ctx, []string{"critical\x00g\x00m\x00auc"}, ts.Add(31*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	s2, err := NewFileStore(path) // a new process
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.LastSent(ctx, []string{"warning\x00g", "critical\x00g\x00m\x00auc", "other"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"critical\x00g\x00m\x00auc": ts.Add(31 * 24 * time.Hour)}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("LastSent after reopen, old entry pruned (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileStore(path); err == nil {
		t.Error("corrupt state file accepted")
	}
}

func TestMLflowStoreTags(t *testing.T) {
	t.Parallel()
	srv, c := clienttest.NewServer(t)
	s, err := NewMLflowStore(c, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ts := time.UnixMilli(1763870400123)
	if err := s.MarkSent(ctx, []string{"warning\x00churn"}, ts); err != nil {
		t.Fatal(err)
	}
	var exp *client.Experiment
	for _, e := range srv.Experiments() {
		if e.Name == DefaultStateExperiment {
			exp = &e
		}
	}
	if exp == nil {
		t.Fatalf("experiment %s not created", DefaultStateExperiment)
	}
	want := client.Tag{Key: StateTagKey("warning\x00churn"), Value: "1763870400123"}
	found := false
	for _, tag := range exp.Tags {
		if tag == want {
			found = true
		}
	}
	if !found || !strings.HasPrefix(want.Key, "mlwatch.alert.") || len(want.Key) > 250 {
		t.Errorf("tags = %v, want %v", exp.Tags, want)
	}
	// A second store (another container) sees the state.
	s2, _ := NewMLflowStore(c, "")
	got, err := s2.LastSent(ctx, []string{"warning\x00churn"})
	if err != nil || !got["warning\x00churn"].Equal(ts) {
		t.Errorf("LastSent = %v, %v; want %v", got, err, ts)
	}
	if _, err := NewMLflowStore(nil, ""); !errors.Is(err, ErrConfig) {
		t.Errorf("nil client: err = %v", err)
	}
}

func TestThrottlerOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []ThrottleOption{WithWarningWindow(0), WithCriticalWindow(-1), WithWarningKey(nil), WithThrottleClock(nil), WithThrottleLogger(nil)} {
		if _, err := NewThrottler(brokenStore{}, o); !errors.Is(err, ErrConfig) {
			t.Errorf("option accepted: %v", err)
		}
	}
	if _, err := NewThrottler(nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil store accepted")
	}
}

// TestMLflowStoreClaims: concurrent pipelines of one model group send the
// group's warning once; an undelivered claim is released.
func TestMLflowStoreClaims(t *testing.T) {
	t.Parallel()
	_, c := clienttest.NewServer(t)
	a := testAlert()
	a.Severity = SeverityWarning
	newNotifier := func(rec *recorder) *ThrottledNotifier {
		s, err := NewMLflowStore(c, "", WithClaimSettle(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		th, err := NewThrottler(s)
		if err != nil {
			t.Fatal(err)
		}
		n, err := NewThrottledNotifier(rec, th)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// A failed delivery releases the claim: the next run sends.
	failing := &recorder{fail: func(Alert) bool { return true }}
	if err := newNotifier(failing).Notify(context.Background(), []Alert{a}); err == nil {
		t.Fatal("want the delivery error back")
	}
	rec := &recorder{}
	const pipelines = 5
	var wg sync.WaitGroup
	for i := range pipelines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := a
			b.Country = []string{"de", "fr", "it", "es", "pl"}[i]
			if err := newNotifier(rec).Notify(context.Background(), []Alert{b}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := rec.count(); got != 1 {
		t.Errorf("%d concurrent pipelines sent %d warnings, want 1", pipelines, got)
	}
	if err := newNotifier(rec).Notify(context.Background(), []Alert{a}); err != nil {
		t.Fatal(err)
	}
	if got := rec.count(); got != 1 {
		t.Errorf("a later run re-sent the warning: %d sends", got)
	}
	if _, err := NewMLflowStore(c, "", WithClaimSettle(-1)); !errors.Is(err, ErrConfig) {
		t.Errorf("negative settle: err = %v", err)
	}
}
