package evaluate

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// floatsFromBytes turns fuzz bytes into float64s: 8 bytes each when wide,
// else one small integer per byte (to get ties).
func floatsFromBytes(b []byte, wide bool) []float64 {
	var out []float64
	if !wide {
		for _, c := range b {
			out = append(out, float64(c%16))
		}
		return out
	}
	for len(b) >= 8 {
		out = append(out, math.Float64frombits(binary.LittleEndian.Uint64(b)))
		b = b[8:]
	}
	return out
}

func checkFeatureDrift(t *testing.T, fd FeatureDrift) {
	t.Helper()
	if fd.Status == StatusInsufficientData {
		if !math.IsNaN(fd.Score) || fd.Drifted {
			t.Fatalf("insufficient with a score: %+v", fd)
		}
		return
	}
	switch fd.Kind {
	case KindPValue:
		if !(fd.PValue >= 0 && fd.PValue <= 1) || fd.Score != fd.PValue {
			t.Fatalf("p-value out of range: %+v", fd)
		}
	case KindDistance:
		if !(fd.Score >= 0) {
			t.Fatalf("negative distance: %+v", fd)
		}
		if fd.Method == MethodJensenShannon && fd.Score > math.Sqrt(math.Ln2)+1e-12 {
			t.Fatalf("JS above sqrt(ln 2): %+v", fd)
		}
	default:
		t.Fatalf("no kind: %+v", fd)
	}
	if fd.Drifted != (fd.Status == StatusDrift) {
		t.Fatalf("drifted/status mismatch: %+v", fd)
	}
	if _, err := json.Marshal(fd); err != nil {
		t.Fatalf("marshal: %v", err)
	}
}

func FuzzCompareNumeric(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, []byte{3, 4, 5, 6, 7, 8, 9, 10}, false, uint8(0))
	f.Add([]byte{0, 0, 0, 0}, []byte{0, 0, 1}, false, uint8(3))
	f.Add(make([]byte, 64), []byte("\x00\x00\x00\x00\x00\x00\xf8\x7f0123456789abcdef"), true, uint8(1))
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xef\x7f\xff\xff\xff\xff\xff\xff\xef\xff"), []byte("01234567"), true, uint8(2))
	methods := []Method{"", MethodKS, MethodWasserstein, MethodPSI, MethodKL, MethodJensenShannon, MethodChiSquare, MethodZ}
	f.Fuzz(func(t *testing.T, a, b []byte, wide bool, m uint8) {
		ref, cur := floatsFromBytes(a, wide), floatsFromBytes(b, wide)
		refCopy, curCopy := slices.Clone(ref), slices.Clone(cur)
		opts := []DriftOption{WithMinSampleSize(1)}
		if meth := methods[int(m)%len(methods)]; meth != "" {
			opts = append(opts, WithMethod(meth))
		}
		fd, err := CompareNumeric(ref, cur, opts...)
		if err != nil {
			t.Fatal(err)
		}
		checkFeatureDrift(t, fd)
		if !slices.EqualFunc(ref, refCopy, sameFloat) || !slices.EqualFunc(cur, curCopy, sameFloat) {
			t.Fatal("input modified")
		}
		p, err := NewNumericReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back NumericReference
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatalf("round trip of %s: %v", js, err)
		}
		fd2, err := back.Compare(cur, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if !sameFloat(fd.Score, fd2.Score) || fd.Status != fd2.Status {
			t.Fatalf("profile gives %v/%s, raw %v/%s", fd2.Score, fd2.Status, fd.Score, fd.Status)
		}
	})
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func FuzzKolmogorovSmirnov(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{2, 3, 4}, uint8(0), uint8(0))
	f.Add([]byte{1, 1, 1, 1, 2}, []byte{1, 2, 2}, uint8(1), uint8(1))
	f.Add([]byte{0, 5, 9, 9, 9, 9}, []byte{3}, uint8(2), uint8(2))
	f.Fuzz(func(t *testing.T, a, b []byte, alt, method uint8) {
		x, y := floatsFromBytes(a, false), floatsFromBytes(b, false)
		alts := []Alternative{AlternativeTwoSided, AlternativeGreater, AlternativeLess}
		ms := []KSMethod{KSAuto, KSExact, KSAsymp}
		res, err := KolmogorovSmirnov(x, y, alts[int(alt)%3], ms[int(method)%3])
		if len(x) == 0 || len(y) == 0 {
			if err == nil {
				t.Fatal("no error for an empty sample")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !(res.Statistic >= 0 && res.Statistic <= 1) {
			t.Fatalf("D = %v", res.Statistic)
		}
		if !(res.PValue >= 0 && res.PValue <= 1) && !(math.IsNaN(res.PValue) && res.Method == KSAsymp) {
			t.Fatalf("p = %v (%s)", res.PValue, res.Method)
		}
	})
}

func FuzzCompareCategorical(f *testing.F) {
	f.Add("a,b,c,a", "a,b,b,d", uint8(0))
	f.Add("x", "y", uint8(1))
	f.Add("", ",", uint8(2))
	methods := []Method{"", MethodPSI, MethodKL, MethodJensenShannon, MethodChiSquare, MethodZ}
	f.Fuzz(func(t *testing.T, a, b string, m uint8) {
		ref, cur := strings.Split(a, ","), strings.Split(b, ",")
		opts := []DriftOption{WithMinSampleSize(1)}
		if meth := methods[int(m)%len(methods)]; meth != "" {
			opts = append(opts, WithMethod(meth))
		}
		fd, err := CompareCategorical(ref, cur, opts...)
		if err != nil {
			t.Fatal(err)
		}
		checkFeatureDrift(t, fd)
	})
}

// FuzzReferenceProfileJSON fuzzes the stored-profile decoder: it must not
// panic, and what it accepts must compare without error.
func FuzzReferenceProfileJSON(f *testing.F) {
	f.Add([]byte(`{"numeric":{"x":{"n":3,"dropped":1,"exact":true,"std":0.816496580927726,"unique":3,"values":[1,2,3],"counts":[1,1,1]}},"categorical":{"c":{"n":2,"counts":{"a":2}}}}`))
	f.Add([]byte(`{"numeric":{"x":{"n":0,"dropped":0,"exact":true,"std":"NaN","unique":0,"values":[],"counts":[]}}}`))
	f.Add([]byte(`{"numeric":{"x":{"n":5,"exact":false,"std":1,"unique":400,"values":[1,9],"counts":[1,1]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p ReferenceProfile
		if err := json.Unmarshal(b, &p); err != nil {
			return
		}
		cur := Frame{Numeric: map[string][]float64{"x": {1, 2, 3, 4}}, Categorical: map[string][]string{"c": {"a", "b"}}}
		for name, r := range p.Numeric {
			if r == nil {
				delete(p.Numeric, name)
			}
		}
		for name, r := range p.Categorical {
			if r == nil {
				delete(p.Categorical, name)
			}
		}
		if _, ok := p.Numeric["c"]; ok {
			return
		}
		if _, ok := p.Categorical["x"]; ok {
			return
		}
		if _, err := p.Compare(cur, WithMinSampleSize(1)); err != nil {
			t.Fatal(err)
		}
	})
}
