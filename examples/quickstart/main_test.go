package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
)

func TestRunLogsEveryPipeline(t *testing.T) {
	t.Parallel()
	srv, c := clienttest.NewServer(t)
	var out bytes.Buffer
	if err := run(t.Context(), &out, c); err != nil {
		t.Fatalf("run: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1+len(models)*len(countries) {
		t.Fatalf("output has %d lines:\n%s", len(lines), out.String())
	}
	if !strings.HasPrefix(lines[0], "MODEL") {
		t.Errorf("header = %q", lines[0])
	}
	runs := srv.Runs()
	if len(runs) != 6 {
		t.Fatalf("%d runs on the server, want 6", len(runs))
	}
	for _, r := range runs {
		if r.Info.Status != client.RunFinished {
			t.Errorf("run %s status %s, want FINISHED", r.Info.RunName, r.Info.Status)
		}
		if h := srv.MetricHistory(r.Info.RunID, "auc"); len(h) != steps {
			t.Errorf("run %s: %d auc points, want %d", r.Info.RunName, len(h), steps)
		}
		if !strings.Contains(out.String(), r.Info.RunID) {
			t.Errorf("run %s missing from the table", r.Info.RunID)
		}
		country, _ := r.Tag("country")
		if p := srv.Params(r.Info.RunID)["country"]; p != country {
			t.Errorf("param country = %q, tag %q", p, country)
		}
	}
	// The table is in a fixed order: churn DE, churn FR, fraud DE, ...
	for i, want := range []string{"churn", "churn", "fraud", "fraud", "ltv", "ltv"} {
		if !strings.HasPrefix(lines[i+1], want+" ") {
			t.Errorf("line %d = %q, want model %s", i+1, lines[i+1], want)
		}
	}
	// Three experiments, one per model, besides Default.
	if n := len(srv.Experiments()); n != 4 {
		t.Errorf("%d experiments, want 4", n)
	}
}

func TestMainWithoutTrackingURIUsesTheFake(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := mainErr(t.Context(), &out, ""); err != nil {
		t.Fatalf("mainErr: %v", err)
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	if !strings.Contains(first, "in-process fake MLflow server") {
		t.Errorf("first line = %q", first)
	}
	if n := strings.Count(out.String(), "/#/experiments/"); n != 6 {
		t.Errorf("%d run links, want 6:\n%s", n, out.String())
	}
}
