package evaluate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sample(r *rand.Rand, n int, shift float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = r.NormFloat64() + shift
	}
	return out
}

func TestDriftChecks(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	ref := Frame{Numeric: map[string][]float64{"age": sample(r, 500, 0), "income": sample(r, 500, 0), "tiny": {1, 2, 3}}}
	cur := Frame{Numeric: map[string][]float64{"age": sample(r, 500, 3), "income": sample(r, 500, 0), "tiny": {1, 2}}}
	tests := []struct {
		name     string
		settings DriftSettings
		want     []brief
		features []string
	}{
		{"defaults: drifted feature is a warning, dataset share 1/2 is critical", DriftSettings{},
			[]brief{{KindDrift, false, SeverityWarning}, {KindDrift, true, SeverityWarning}, {KindDrift, true, SeverityWarning}, {KindDrift, false, SeverityCritical}},
			[]string{"age", "income", "tiny", ""}},
		{"insufficient data as a breach, feature filter, higher share", DriftSettings{Features: []string{"tiny", "age"}, InsufficientData: SeverityWarning,
			Severity: SeverityCritical, DatasetSeverity: SeverityWarning, ShareThreshold: p(0.9)},
			[]brief{{KindDrift, false, SeverityCritical}, {KindDrift, false, SeverityWarning}, {KindDrift, true, SeverityWarning}},
			[]string{"age", "tiny", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.settings.Validate(); err != nil {
				t.Fatal(err)
			}
			dd, err := CompareDataset(ref, cur, tt.settings.Options()...)
			if err != nil {
				t.Fatal(err)
			}
			checks := DriftChecks(dd, tt.settings)
			rep := Report{Checks: checks}
			if diff := cmp.Diff(tt.want, briefs(rep)); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
			var features []string
			for _, c := range checks {
				features = append(features, c.Feature)
				if c.Message == "" || c.Method == "" {
					t.Errorf("check without message or method: %+v", c)
				}
			}
			if !cmp.Equal(features, tt.features) {
				t.Errorf("features %v, want %v", features, tt.features)
			}
		})
	}
}

func TestFeatureDriftCheckFields(t *testing.T) {
	t.Parallel()
	fd := FeatureDrift{Feature: "age", Segment: "DE", Method: MethodPSI, Kind: KindDistance, Score: 0.3, Threshold: 0.1, Rule: "score >= threshold",
		Drifted: true, Status: StatusDrift, PValue: math.NaN(), Message: "age drifted"}
	got := FeatureDriftCheck(fd, SeverityWarning, "")
	want := Check{Kind: KindDrift, Feature: "age", Segment: "DE", Observed: F(0.3), Limit: F(0.1), Method: "psi: score >= threshold",
		Severity: SeverityWarning, Message: "age drifted"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if tags := OutcomeTags(Report{Checks: []Check{got}}); tags[0].Key != "mlwatch.eval.drift.age.DE.status" || tags[0].Value != "warning" {
		t.Errorf("tag %+v", tags[0])
	}
}

func TestDriftSettingsValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s     DriftSettings
		field string
	}{
		{DriftSettings{Method: "auto"}, ""},
		{DriftSettings{Method: MethodKS, Threshold: p(0.01)}, ""},
		{DriftSettings{Method: "bogus"}, "method"},
		{DriftSettings{Method: MethodKS, Threshold: p(2)}, "threshold"},
		{DriftSettings{Threshold: p(-1)}, "threshold"},
		{DriftSettings{ShareThreshold: p(0)}, "share_threshold"},
		{DriftSettings{InsufficientData: "none"}, "insufficient_data"},
	} {
		err := tt.s.Validate()
		re, _ := err.(*RuleError)
		if (tt.field == "" && err != nil) || (tt.field != "" && (re == nil || re.Field != tt.field)) {
			t.Errorf("Validate(%+v) = %v, want field %q", tt.s, err, tt.field)
		}
	}
}
