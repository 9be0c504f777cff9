package evaluate

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// updateDrift rewrites the drift golden files. It is not called -update so
// it cannot collide with another test file's flag in this package.
var updateDrift = flag.Bool("update-drift", false, "rewrite testdata/drift golden files")

// TestDatasetDriftGolden pins the JSON report of a dataset comparison
// (methods, rules, bins, messages): review diffs of
// testdata/drift/dataset.golden.json like code. Refresh with
// go test ./evaluate -run TestDatasetDriftGolden -update-drift.
func TestDatasetDriftGolden(t *testing.T) {
	t.Parallel()
	ref, cur := testFrames(1)
	cur.Numeric["new_column"] = arange(0, 10)
	got, err := CompareDataset(ref, cur, WithFeatureOptions("income", WithMethod(MethodPSI)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "drift", "dataset.golden.json")
	if *updateDrift {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want DatasetDrift
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	// Floats may differ in the last bits across architectures (FMA).
	opts := cmp.Options{cmpopts.EquateNaNs(), cmpopts.EquateApprox(1e-12, 0), cmpopts.IgnoreFields(FeatureDrift{}, "Message", "Detail")}
	if d := cmp.Diff(want, got, opts); d != "" {
		t.Errorf("dataset drift differs from %s (-want +got):\n%s", path, d)
	}
	for i := range want.Features {
		if want.Features[i].Status != StatusInsufficientData && want.Features[i].Message == "" {
			t.Errorf("%s: empty message", want.Features[i].Feature)
		}
	}
}
