package evaluate

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func cats(counts ...any) []string {
	var out []string
	for i := 0; i < len(counts); i += 2 {
		for range counts[i+1].(int) {
			out = append(out, counts[i].(string))
		}
	}
	return out
}

func arange(lo, hi int) []float64 {
	var out []float64
	for i := lo; i < hi; i++ {
		out = append(out, float64(i))
	}
	return out
}

// TestEvidentlyVectors reproduces the Evidently-compatible vectors A, C, Z
// and B of evaluate.md §6.6.
func TestEvidentlyVectors(t *testing.T) {
	t.Parallel()
	aRef, aCur := cats("a", 50, "b", 30, "c", 20), cats("a", 30, "b", 30, "c", 40)
	cRef, cCur := cats("a", 60, "b", 40), cats("a", 50, "b", 40, "c", 10)
	zRef, zCur := cats("x", 60, "y", 40), cats("x", 45, "y", 55)
	bRef, bCur := arange(0, 100), arange(10, 110)
	type tc struct {
		name      string
		ref, cur  []string
		nref      []float64
		ncur      []float64
		method    Method
		score     float64
		statistic float64 // checked when not NaN
		rel       float64
	}
	nan := math.NaN()
	tests := []tc{
		{"A psi", aRef, aCur, nil, nil, MethodPSI, 0.2407945608651872, nan, 1e-12},
		{"A kl", aRef, aCur, nil, nil, MethodKL, 0.11678337577100631, nan, 1e-12},
		{"A js", aRef, aCur, nil, nil, MethodJensenShannon, 0.1721147310381218, nan, 1e-12},
		{"A chisquare", aRef, aCur, nil, nil, MethodChiSquare, 8.31528719103568e-07, nan, 1e-9},
		{"C psi", cRef, cCur, nil, nil, MethodPSI, 0.7083169080497109, nan, 1e-12},
		{"C kl", cRef, cCur, nil, nil, MethodKL, 0.10859129441919929, nan, 1e-12},
		{"C js", cRef, cCur, nil, nil, MethodJensenShannon, 0.19218019454096966, nan, 1e-12},
		{"C chisquare", cRef, cCur, nil, nil, MethodChiSquare, 0, math.Inf(1), 1e-9},
		{"Z z", zRef, zCur, nil, nil, MethodZ, 0.03367206885634566, nan, 1e-9},
		{"Z js", zRef, zCur, nil, nil, MethodJensenShannon, 0.10640215619834746, nan, 1e-12},
		{"Z psi", zRef, zCur, nil, nil, MethodPSI, 0.0909203705355473, nan, 1e-12},
		{"B psi", nil, nil, bRef, bCur, MethodPSI, 0.2932674137586854, nan, 1e-12},
		{"B kl", nil, nil, bRef, bCur, MethodKL, 0.1466337068793427, nan, 1e-12},
		{"B js", nil, nil, bRef, bCur, MethodJensenShannon, 0.18355145998130695, nan, 1e-12},
		{"B wasserstein", nil, nil, bRef, bCur, MethodWasserstein, 0.3464274833209975, 10.0, 1e-12},
		{"B ks", nil, nil, bRef, bCur, MethodKS, 0.7020569828664881, 0.1, 1e-9},
	}
	// Evidently's tests/stattests: chisquare on values 1..6 repeated
	// [16,18,16,14,12,12] vs [16,16,16,16,16,8] times gives p ≈ 0.67309
	// (±1e-5 there).
	counts := func(c ...int) []float64 {
		var out []float64
		for v, k := range c {
			out = append(out, repeat(float64(v+1), k)...)
		}
		return out
	}
	tests = append(tests, tc{"evidently chisquare", nil, nil, counts(16, 18, 16, 14, 12, 12), counts(16, 16, 16, 16, 16, 8),
		MethodChiSquare, 0.67309, nan, 1e-5 / 0.67309})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got FeatureDrift
			var err error
			if tt.nref != nil {
				got, err = CompareNumeric(tt.nref, tt.ncur, WithMethod(tt.method))
			} else {
				got, err = CompareCategorical(tt.ref, tt.cur, WithMethod(tt.method))
			}
			if err != nil {
				t.Fatal(err)
			}
			if !relClose(got.Score, tt.score, tt.rel) {
				t.Errorf("score = %.17g, want %.17g", got.Score, tt.score)
			}
			if !math.IsNaN(tt.statistic) && !relClose(got.Statistic, tt.statistic, 1e-12) {
				t.Errorf("statistic = %.17g, want %.17g", got.Statistic, tt.statistic)
			}
			if got.Method != tt.method || got.Status == StatusInsufficientData || got.Message == "" {
				t.Errorf("result = %+v", got)
			}
		})
	}
}

// TestEvidentlyBinsB checks vector B's binning: 9 Sturges bins on [0, 109].
func TestEvidentlyBinsB(t *testing.T) {
	t.Parallel()
	got, err := CompareNumeric(arange(0, 100), arange(10, 110), WithMethod(MethodPSI))
	if err != nil {
		t.Fatal(err)
	}
	want := "sturges: 9 equal-width bins on the pooled range [0, 109] of reference+current (numpy histogram_bin_edges, last bin closed)"
	if got.Bins != want || got.LogBase != "e" || got.ZeroFill == "" {
		t.Errorf("bins = %q, log base %q, zero fill %q", got.Bins, got.LogBase, got.ZeroFill)
	}
}

func TestDefaultMethod(t *testing.T) {
	t.Parallel()
	many := func(n, distinct int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(i % distinct)
		}
		return out
	}
	manyCats := func(n, distinct int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = string(rune('a' + i%distinct))
		}
		return out
	}
	tests := []struct {
		name     string
		ref, cur []float64
		cref     []string
		want     Method
		kind     ScoreKind
		thr      float64
	}{
		{"numeric small many values", many(500, 100), many(500, 100), nil, MethodKS, KindPValue, 0.05},
		{"numeric small 4 values", many(500, 4), many(500, 4), nil, MethodChiSquare, KindPValue, 0.05},
		{"numeric small 2 values", many(500, 2), many(500, 2), nil, MethodZ, KindPValue, 0.05},
		{"numeric 1000 is small", many(1000, 100), many(50, 100), nil, MethodKS, KindPValue, 0.05},
		{"numeric large many values", many(1001, 100), many(50, 100), nil, MethodWasserstein, KindDistance, 0.1},
		{"numeric large 5 values", many(2000, 5), many(50, 5), nil, MethodJensenShannon, KindDistance, 0.1},
		{"categorical small 3", nil, nil, manyCats(100, 3), MethodChiSquare, KindPValue, 0.05},
		{"categorical small 2", nil, nil, manyCats(100, 2), MethodZ, KindPValue, 0.05},
		{"categorical large", nil, nil, manyCats(1001, 2), MethodJensenShannon, KindDistance, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got FeatureDrift
			var err error
			if tt.cref != nil {
				got, err = CompareCategorical(tt.cref, tt.cref[:50])
			} else {
				got, err = CompareNumeric(tt.ref, tt.cur)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Method != tt.want || got.Kind != tt.kind || got.Threshold != tt.thr {
				t.Errorf("method %s kind %s threshold %v, want %s %s %v", got.Method, got.Kind, got.Threshold, tt.want, tt.kind, tt.thr)
			}
		})
	}
}

// TestDriftRule checks the single comparison rule per score kind.
func TestDriftRule(t *testing.T) {
	t.Parallel()
	ref, cur := arange(0, 100), arange(10, 110)
	// B's normed Wasserstein is 0.3464...: drift at a threshold equal to
	// the score (>=), none just above.
	w, _ := CompareNumeric(ref, cur, WithMethod(MethodWasserstein))
	at, _ := CompareNumeric(ref, cur, WithMethod(MethodWasserstein), WithThreshold(w.Score))
	above, _ := CompareNumeric(ref, cur, WithMethod(MethodWasserstein), WithThreshold(math.Nextafter(w.Score, 1)))
	if !at.Drifted || above.Drifted || at.Status != StatusDrift || above.Status != StatusOK {
		t.Errorf("distance rule: at %v/%s, above %v/%s", at.Drifted, at.Status, above.Drifted, above.Status)
	}
	// B's KS p is 0.702...: p < t drifts, p == t does not.
	k, _ := CompareNumeric(ref, cur, WithMethod(MethodKS))
	eq, _ := CompareNumeric(ref, cur, WithMethod(MethodKS), WithThreshold(k.Score))
	gt, _ := CompareNumeric(ref, cur, WithMethod(MethodKS), WithThreshold(math.Nextafter(k.Score, 1)))
	if eq.Drifted || !gt.Drifted || eq.Rule != "p_value < threshold" || w.Rule != "score >= threshold" {
		t.Errorf("p-value rule: equal %v, above %v, rules %q %q", eq.Drifted, gt.Drifted, eq.Rule, w.Rule)
	}
}

func TestInsufficientData(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	tests := []struct {
		name     string
		ref, cur []float64
		opts     []DriftOption
		refN     int
		curN     int
		refDrop  int
		curDrop  int
	}{
		{"both empty", nil, nil, nil, 0, 0, 0, 0},
		{"empty ref", nil, arange(0, 50), nil, 0, 50, 0, 0},
		{"empty cur", arange(0, 50), []float64{}, nil, 50, 0, 0, 0},
		{"all nan cur", arange(0, 50), []float64{nan, math.Inf(1), math.Inf(-1)}, nil, 50, 0, 0, 3},
		{"all nan ref forced", []float64{nan}, arange(0, 50), []DriftOption{WithMethod(MethodPSI)}, 0, 50, 1, 0},
		{"too small", arange(0, 29), arange(0, 50), nil, 29, 50, 0, 0},
		{"custom minimum", arange(0, 50), arange(0, 50), []DriftOption{WithMinSampleSize(51)}, 50, 50, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := CompareNumeric(tt.ref, tt.cur, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != StatusInsufficientData || got.Drifted || !math.IsNaN(got.Score) || !math.IsNaN(got.PValue) {
				t.Errorf("got %+v", got)
			}
			if got.RefN != tt.refN || got.CurN != tt.curN || got.RefDropped != tt.refDrop || got.CurDropped != tt.curDrop {
				t.Errorf("sizes %d/%d dropped %d/%d", got.RefN, got.CurN, got.RefDropped, got.CurDropped)
			}
		})
	}
	c, err := CompareCategorical(nil, nil)
	if err != nil || c.Status != StatusInsufficientData {
		t.Errorf("categorical empty: %+v, %v", c, err)
	}
}

func TestDroppedValuesCounted(t *testing.T) {
	t.Parallel()
	ref := append(arange(0, 100), math.NaN(), math.Inf(1))
	cur := append(arange(10, 110), math.Inf(-1))
	got, err := CompareNumeric(ref, cur, WithMethod(MethodKS))
	if err != nil {
		t.Fatal(err)
	}
	if got.RefN != 100 || got.CurN != 100 || got.RefDropped != 2 || got.CurDropped != 1 || !relClose(got.PValue, 0.7020569828664881, 1e-9) {
		t.Errorf("got %+v", got)
	}
}

func TestDriftOptionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  DriftOption
	}{
		{"unknown method", WithMethod("magic")},
		{"negative threshold", WithThreshold(-1)},
		{"nan threshold", WithThreshold(math.NaN())},
		{"min size 0", WithMinSampleSize(0)},
		{"log base 1", WithLogBase(1)},
		{"log base 0", WithLogBase(0)},
		{"alternative", WithAlternative("up")},
		{"ks method", WithKSMethod("fast")},
		{"drift share 0", WithDriftShare(0)},
		{"drift share above 1", WithDriftShare(1.5)},
		{"max values", WithMaxReferenceValues(10)},
		{"feature options", WithFeatureOptions("x", WithThreshold(-2))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := CompareNumeric(arange(0, 50), arange(0, 50), tt.opt); !errors.Is(err, ErrInvalidDriftOption) {
				t.Errorf("err = %v", err)
			}
		})
	}
	if _, err := CompareNumeric(arange(0, 50), arange(0, 50), WithMethod(MethodKS), WithThreshold(2)); !errors.Is(err, ErrInvalidDriftOption) {
		t.Errorf("p-value threshold above 1: err = %v", err)
	}
	if _, err := CompareCategorical(cats("a", 50), cats("a", 50), WithMethod(MethodKS)); !errors.Is(err, ErrInvalidDriftOption) {
		t.Errorf("KS on categorical: err = %v", err)
	}
}

// TestInputsNotModified checks that no Compare function reorders or
// changes its inputs.
func TestInputsNotModified(t *testing.T) {
	t.Parallel()
	ref := []float64{5, 3, math.NaN(), 1, 4, 2, 9, 8, 7, 6}
	cur := []float64{10, 2, 3, math.Inf(1), 1, 0, 7, 5, 6, 4}
	refCopy, curCopy := slices.Clone(ref), slices.Clone(cur)
	for _, m := range []Method{MethodKS, MethodWasserstein, MethodPSI, MethodKL, MethodJensenShannon, MethodChiSquare, MethodZ} {
		if _, err := CompareNumeric(ref, cur, WithMethod(m), WithMinSampleSize(1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := KolmogorovSmirnov(refCopy[3:], curCopy[4:], AlternativeTwoSided, KSAuto); err != nil {
		t.Fatal(err)
	}
	w := []float64{3, 1, 2, 1, 1, 1}
	wCopy := slices.Clone(w)
	if _, err := Wasserstein(refCopy[3:9], curCopy[4:10], w, w); err != nil {
		t.Fatal(err)
	}
	cref := []string{"b", "a", "c", "a"}
	crefCopy := slices.Clone(cref)
	if _, err := CompareCategorical(cref, cref, WithMinSampleSize(1)); err != nil {
		t.Fatal(err)
	}
	eq := cmpopts.EquateNaNs()
	if d := cmp.Diff(refCopy, ref, eq); d != "" {
		t.Errorf("ref modified (-want +got):\n%s", d)
	}
	if d := cmp.Diff(curCopy, cur, eq); d != "" {
		t.Errorf("cur modified (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wCopy, w); d != "" {
		t.Errorf("weights modified:\n%s", d)
	}
	if d := cmp.Diff(crefCopy, cref); d != "" {
		t.Errorf("categorical ref modified:\n%s", d)
	}
}

func TestFeatureDriftJSON(t *testing.T) {
	t.Parallel()
	got, err := CompareNumeric(nil, arange(0, 40))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["score"] != "NaN" || m["status"] != "insufficient_data" {
		t.Errorf("json = %s", b)
	}
	var back FeatureDrift
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, back, cmpopts.EquateNaNs()); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	c, err := CompareCategorical(cats("a", 60, "b", 40), cats("a", 50, "b", 40, "c", 10), WithMethod(MethodChiSquare))
	if err != nil {
		t.Fatal(err)
	}
	b, err = json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil || m["statistic"] != "Infinity" || m["score"] != 0.0 {
		t.Errorf("json = %s (%v)", b, err)
	}
}
