package contract

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlwatch/mlwatch/client"
)

// Run runs the contract suite. newClient returns a client for the server
// under test; it is called once per subtest and may call t.Fatal.
func Run(t *testing.T, newClient func(t *testing.T) *client.Client) {
	t.Helper()
	s := &suite{prefix: uniquePrefix(), newClient: newClient}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, c *client.Client)
	}{
		{"Experiments", s.experiments},
		{"GetOrCreateRace", s.getOrCreateRace},
		{"LogAndReadBack", s.logAndReadBack},
		{"NaNAndInf", s.nanAndInf},
		{"ParamImmutable", s.paramImmutable},
		{"BatchLimitsSplit", s.batchLimits},
		{"NotFound", s.notFound},
		{"PagingRuns", s.pagingRuns},
		{"PagingExperiments", s.pagingExperiments},
		{"PagingMetricHistory", s.pagingMetricHistory},
		{"SearchFilters", s.searchFilters},
		{"UnicodeKeys", s.unicodeKeys},
		{"DeletedRun", s.deletedRun},
		{"Lifecycle", s.lifecycle},
		{"RegistryAlias", s.registryAlias},
		{"LogInputs", s.logInputs},
		{"BulkInterval", s.bulkInterval},
		{"Artifacts", s.artifacts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, s.newClient(t))
		})
	}
}

type suite struct {
	prefix    string
	newClient func(t *testing.T) *client.Client
}

// uniquePrefix names this invocation's entities: the real server is shared
// and persistent during a make test run.
func uniquePrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("contract-%s-%s", time.Now().UTC().Format("20060102T150405"), hex.EncodeToString(b[:]))
}

// name returns a unique entity name for this invocation.
func (s *suite) name(parts ...string) string {
	return s.prefix + "-" + strings.Join(parts, "-")
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// newExperiment creates a fresh experiment for one subtest.
func (s *suite) newExperiment(t *testing.T, c *client.Client, name string) string {
	t.Helper()
	id, err := c.CreateExperiment(ctx(t), s.name(name), nil)
	if err != nil {
		t.Fatalf("CreateExperiment: %v", err)
	}
	return id
}

// newRun creates a run in a fresh experiment.
func (s *suite) newRun(t *testing.T, c *client.Client, name string) (expID, runID string) {
	t.Helper()
	expID = s.newExperiment(t, c, name)
	run, err := c.CreateRun(ctx(t), client.CreateRunOptions{ExperimentID: expID, RunName: name, StartTime: client.Millis(time.Now())})
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	return expID, run.Info.RunID
}

func mustGetRun(t *testing.T, c *client.Client, runID string) *client.Run {
	t.Helper()
	run, err := c.GetRun(ctx(t), runID)
	if err != nil {
		t.Fatalf("GetRun: %v", err)
	}
	return run
}

// history reads a whole metric history through the iterator.
func history(t *testing.T, c *client.Client, runID, key string) []client.Metric {
	t.Helper()
	var out []client.Metric
	for m, err := range c.GetMetricHistorySeq(ctx(t), runID, key) {
		if err != nil {
			t.Fatalf("GetMetricHistorySeq(%q): %v", key, err)
		}
		out = append(out, m)
	}
	return out
}

// sortMetrics orders points by (step, timestamp, value) so that histories
// compare independently of the server's order.
func sortMetrics(ms []client.Metric) []client.Metric {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b client.Metric) int {
		switch {
		case a.Key != b.Key:
			return strings.Compare(a.Key, b.Key)
		case a.Step != b.Step:
			return cmpInt(a.Step, b.Step)
		case a.Timestamp != b.Timestamp:
			return cmpInt(a.Timestamp, b.Timestamp)
		case a.Value < b.Value:
			return -1
		case a.Value > b.Value:
			return 1
		}
		return 0
	})
	return ms
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sameFloat compares metric values, NaN equal to NaN.
func sameFloat(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

func paramMap(ps []client.Param) map[string]string {
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Key] = p.Value
	}
	return m
}

func tagMap(ts []client.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[t.Key] = t.Value
	}
	return m
}
