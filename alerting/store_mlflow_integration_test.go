//go:build integration

package alerting

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mlwatch/mlwatch/client"
)

// TestMLflowStoreRealServer runs the throttle state store against the real
// MLflow server: state written by one "container" is seen by another, and
// concurrent pipelines of one model group send its warning once (claims),
// after which the warning is throttled.
func TestMLflowStoreRealServer(t *testing.T) {
	t.Parallel()
	uri := mustEnv(t, "MLWATCH_TEST_MLFLOW_URI")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exp := "mlwatch-alert-state-" + freshGroup("it")
	newStore := func() *MLflowStore {
		c, err := client.New(uri)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewMLflowStore(c, exp)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ts := time.UnixMilli(time.Now().UnixMilli())
	if err := newStore().MarkSent(ctx, []string{"warning\x00g1"}, ts); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
	got, err := newStore().LastSent(ctx, []string{"warning\x00g1", "warning\x00other"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got["warning\x00g1"].Equal(ts) {
		t.Fatalf("LastSent from a second client = %v, want g1 at %v", got, ts)
	}

	const pipelines = 4
	rec := &recorder{}
	a := testAlert()
	a.Severity, a.ModelGroup = SeverityWarning, "g2"
	var wg sync.WaitGroup
	for range pipelines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th, err := NewThrottler(newStore())
			if err != nil {
				t.Error(err)
				return
			}
			n, _ := NewThrottledNotifier(rec, th)
			if err := n.Notify(ctx, []Alert{a}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if c := rec.count(); c != 1 {
		t.Fatalf("%d concurrent pipelines sent %d warnings, want 1 (claims)", pipelines, c)
	}
	before := rec.count()
	th, _ := NewThrottler(newStore())
	n, _ := NewThrottledNotifier(rec, th)
	if err := n.Notify(ctx, []Alert{a}); err != nil {
		t.Fatal(err)
	}
	if rec.count() != before {
		t.Errorf("a later pipeline sent the warning again within 24h")
	}
}
