package evaluate

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func normals(r *rand.Rand, n int, mu, sigma float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = mu + sigma*r.NormFloat64()
	}
	return out
}

func testFrames(seed uint64) (Frame, Frame) {
	r := rand.New(rand.NewPCG(seed, 7))
	colors := []string{"red", "green", "blue", "grey"}
	pick := func(n int, shift bool) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = colors[r.IntN(4)]
			if shift && r.IntN(3) == 0 {
				out[i] = "red"
			}
		}
		return out
	}
	ints := func(n, k int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(r.IntN(k))
		}
		return out
	}
	ref := Frame{
		Numeric: map[string][]float64{
			"age":    normals(r, 800, 40, 10),
			"income": normals(r, 5000, 3000, 800),
			"rooms":  ints(800, 4),
			"score":  normals(r, 3000, 0, 1),
		},
		Categorical: map[string][]string{"color": pick(800, false), "plan": pick(3000, false)},
	}
	cur := Frame{
		Numeric: map[string][]float64{
			"age":    normals(r, 600, 45, 10),
			"income": normals(r, 2000, 3000, 800),
			"rooms":  ints(600, 4),
			"score":  append(normals(r, 2000, 0.5, 1), math.NaN()),
		},
		Categorical: map[string][]string{"color": pick(600, true), "plan": pick(2000, false)},
	}
	return ref, cur
}

var eqNaN = cmpopts.EquateNaNs()

// TestProfileMatchesRaw checks that a stored reference profile (through
// JSON) gives exactly the numbers of the raw reference.
func TestProfileMatchesRaw(t *testing.T) {
	t.Parallel()
	ref, cur := testFrames(1)
	for _, m := range []Method{"", MethodKS, MethodWasserstein, MethodPSI, MethodKL, MethodJensenShannon, MethodChiSquare, MethodZ} {
		t.Run(string(m)+"default", func(t *testing.T) {
			t.Parallel()
			var opts []DriftOption
			if m != "" {
				opts = append(opts, WithMethod(m))
			}
			// Categorical columns reject KS and Wasserstein; compare only
			// numeric columns then.
			r, c := ref, cur
			if m == MethodKS || m == MethodWasserstein {
				r, c = Frame{Numeric: ref.Numeric}, Frame{Numeric: cur.Numeric}
			}
			raw, err := CompareDataset(r, c, opts...)
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewReferenceProfile(r)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var stored ReferenceProfile
			if err := json.Unmarshal(b, &stored); err != nil {
				t.Fatal(err)
			}
			got, err := stored.Compare(c, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(raw, got, eqNaN); d != "" {
				t.Errorf("profile differs from raw (-raw +profile):\n%s", d)
			}
		})
	}
}

// TestCappedProfile checks the documented approximation of a capped
// numeric reference.
func TestCappedProfile(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 3))
	ref, cur := normals(r, 50000, 0, 1), normals(r, 20000, 0.05, 1)
	const k = 1000
	p, err := NewNumericReference(ref, WithMaxReferenceValues(k))
	if err != nil {
		t.Fatal(err)
	}
	if p.Exact() || p.N() != 50000 {
		t.Fatalf("exact %v n %d", p.Exact(), p.N())
	}
	for _, m := range []Method{MethodKS, MethodWasserstein, MethodPSI} {
		exact, err := CompareNumeric(ref, cur, WithMethod(m))
		if err != nil {
			t.Fatal(err)
		}
		approx, err := p.Compare(cur, WithMethod(m))
		if err != nil {
			t.Fatal(err)
		}
		if !approx.Approximate || exact.Approximate {
			t.Errorf("%s: approximate flags %v %v", m, approx.Approximate, exact.Approximate)
		}
		var bound float64
		switch m {
		case MethodKS:
			bound = 1.0 / (k - 1)
		case MethodWasserstein:
			bound = (slicesMax(ref) - slicesMin(ref)) / (k - 1)
		case MethodPSI:
			bound = 0.01
		}
		if math.Abs(approx.Statistic-exact.Statistic) > bound {
			t.Errorf("%s: statistic %v vs exact %v, bound %v", m, approx.Statistic, exact.Statistic, bound)
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 40000 {
		t.Errorf("capped profile is %d bytes", len(b))
	}
}

func slicesMax(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

func slicesMin(x []float64) float64 {
	m := math.Inf(1)
	for _, v := range x {
		m = min(m, v)
	}
	return m
}

func TestCompareDataset(t *testing.T) {
	t.Parallel()
	ref, cur := testFrames(2)
	cur.Numeric["extra"] = arange(0, 100)
	delete(cur.Numeric, "rooms")
	got, err := CompareDataset(ref, cur)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Feature string
		Method  Method
		Status  DriftStatus
	}
	var rows []row
	for _, f := range got.Features {
		rows = append(rows, row{f.Feature, f.Method, f.Status})
	}
	want := []row{
		{"age", MethodKS, StatusDrift},
		{"color", MethodChiSquare, StatusDrift},
		{"extra", "", StatusInsufficientData},
		{"income", MethodWasserstein, StatusOK},
		{"plan", MethodJensenShannon, StatusOK},
		{"rooms", "", StatusInsufficientData},
		{"score", MethodWasserstein, StatusDrift},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("features (-want +got):\n%s", d)
	}
	if got.Judged != 5 || got.Drifted != 3 || got.DriftShare != 0.6 || !got.DatasetDrifted || got.Status != StatusDrift {
		t.Errorf("dataset = %+v", got)
	}
	if got.Features[6].CurDropped != 1 {
		t.Errorf("score dropped %d", got.Features[6].CurDropped)
	}
	strict, err := CompareDataset(ref, cur, WithDriftShare(0.7), WithFeatureOptions("age", WithThreshold(1e-300)))
	if err != nil {
		t.Fatal(err)
	}
	if strict.DatasetDrifted || strict.Drifted != 2 || strict.Features[0].Threshold != 1e-300 {
		t.Errorf("strict = %+v", strict)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back DatasetDrift
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, back, eqNaN); d != "" {
		t.Errorf("json round trip (-want +got):\n%s", d)
	}
}

func TestCompareDatasetErrors(t *testing.T) {
	t.Parallel()
	both := Frame{Numeric: map[string][]float64{"x": {1}}, Categorical: map[string][]string{"x": {"a"}}}
	if _, err := CompareDataset(both, Frame{}); !errors.Is(err, ErrInvalidDriftOption) {
		t.Errorf("err = %v", err)
	}
	empty, err := CompareDataset(Frame{}, Frame{})
	if err != nil || empty.Status != StatusInsufficientData || !math.IsNaN(empty.DriftShare) {
		t.Errorf("empty = %+v, %v", empty, err)
	}
}

// TestSegments checks that every segment is compared with the whole
// reference (evidently#1531) and that paired segments without a reference
// are reported, not dropped.
func TestSegments(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 5))
	n := 3000
	all := Frame{
		Numeric:     map[string][]float64{"amount": make([]float64, n)},
		Categorical: map[string][]string{"country": make([]string, n)},
	}
	for i := range n {
		c := []string{"DE", "FR", "PL"}[i%3]
		all.Categorical["country"][i] = c
		mu := 0.0
		if c == "PL" {
			mu = 1
		}
		all.Numeric["amount"][i] = mu + r.NormFloat64()
	}
	segs, err := SplitFrame(all, "country")
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 3 || len(segs["DE"].Numeric["amount"]) != 1000 || segs["DE"].Categorical["country"] != nil {
		t.Fatalf("split = %d segments", len(segs))
	}
	ref, err := NewReferenceProfile(Frame{Numeric: map[string][]float64{"amount": normals(r, 5000, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := CompareSegments(ref, segs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range res {
		got = append(got, d.Segment+":"+string(d.Status)+":"+d.Features[0].Segment)
	}
	want := []string{"DE:ok:DE", "FR:ok:FR", "PL:drift:PL"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("segments (-want +got):\n%s", d)
	}
	paired, err := CompareSegmentsPaired(map[string]*ReferenceProfile{"DE": ref}, segs)
	if err != nil {
		t.Fatal(err)
	}
	if len(paired) != 3 || paired[0].Status != StatusOK || paired[1].Status != StatusInsufficientData {
		t.Errorf("paired = %+v", paired)
	}
	if _, err := SplitFrame(all, "missing"); !errors.Is(err, ErrInvalidDriftOption) {
		t.Errorf("err = %v", err)
	}
}

func TestReferenceJSONValidation(t *testing.T) {
	t.Parallel()
	bad := []string{
		`{"n":2,"dropped":0,"exact":true,"std":0,"unique":1,"values":[1],"counts":[3]}`,
		`{"n":2,"dropped":0,"exact":true,"std":0,"unique":2,"values":[2,1],"counts":[1,1]}`,
		`{"n":1,"values":[1,2],"counts":[1]}`,
		`{"n":1,"values":["NaN"],"counts":[1]}`,
		`{"n":5,"exact":true,"values":[1],"counts":[1]}`,
		`{"n":-1,"values":[],"counts":[]}`,
	}
	for _, s := range bad {
		var r NumericReference
		if err := json.Unmarshal([]byte(s), &r); err == nil {
			t.Errorf("accepted %s", s)
		}
	}
	var c CategoricalReference
	if err := json.Unmarshal([]byte(`{"n":3,"counts":{"a":1}}`), &c); !errors.Is(err, ErrInvalidDriftOption) {
		t.Errorf("categorical err = %v", err)
	}
}
