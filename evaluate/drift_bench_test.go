package evaluate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// BenchmarkDrift1M runs KS (asymptotic p-value) + normed Wasserstein + PSI
// on 1,000,000 vs 1,000,000 float64 values, each sample sorted once. The
// SciPy comparison on the same data is internal/bench/drift.
func BenchmarkDrift1M(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ref, cur := normals(r, 1_000_000, 0, 1), normals(r, 1_000_000, 0.01, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompareNumericMethods(ref, cur, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDrift1MProfile is the daily-job case: the reference profile is
// built once; each iteration compares a new current sample with it.
func BenchmarkDrift1MProfile(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ref, cur := normals(r, 1_000_000, 0, 1), normals(r, 1_000_000, 0.01, 1)
	p, err := NewNumericReference(ref)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.CompareMethods(cur, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSortFloats(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 1, 100, radixMin, 50000} {
		x := normals(r, n, 0, 1e3)
		for i := 0; i < n; i += 7 {
			x[i] = float64(int(x[i])) // ties, zeros, negative zero
			if i%3 == 0 {
				x[i] = math.Copysign(0, -1)
			}
		}
		if n > 10 {
			x[3], x[4] = math.MaxFloat64, -math.MaxFloat64
			x[5] = math.SmallestNonzeroFloat64
		}
		want := slices.Clone(x)
		slices.Sort(want)
		sortFloats(x)
		if !slices.Equal(x, want) {
			t.Fatalf("n=%d: radix sort differs from slices.Sort", n)
		}
	}
}
