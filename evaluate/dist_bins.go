package evaluate

import (
	"math"
	"slices"
)

// sturgesEdges returns numpy.histogram_bin_edges(x, bins="sturges") for a
// sample of n values with minimum lo and maximum hi: equal-width bins over
// [lo, hi], ⌈ptp/(ptp/(log2 n + 1))⌉ of them, edges by numpy.linspace. It
// returns nil when hi−lo overflows float64.
func sturgesEdges(lo, hi float64, n int) []float64 {
	first, last := lo, hi
	if first == last {
		first -= 0.5
		last += 0.5
	}
	ptp := hi - lo
	if math.IsInf(ptp, 0) || math.IsInf(last-first, 0) {
		return nil
	}
	width := ptp / (math.Log2(float64(n)) + 1)
	nbins := 1
	if width != 0 {
		nbins = int(math.Ceil((last - first) / width))
	}
	num := nbins + 1
	div := float64(num - 1)
	delta := last - first
	step := delta / div
	edges := make([]float64, num)
	for i := range edges {
		if step == 0 {
			edges[i] = float64(i)/div*delta + first
		} else {
			edges[i] = float64(i)*step + first
		}
	}
	edges[num-1] = last
	return edges
}

// histogramSorted counts a sorted sample into bins as numpy.histogram with
// explicit edges: [e_i, e_{i+1}) and a closed last bin; values outside the
// edges are not counted.
func histogramSorted(s, edges []float64) []int {
	k := len(edges) - 1
	counts := make([]int, k)
	searchLeft := func(v float64) int {
		i, _ := slices.BinarySearch(s, v)
		return i
	}
	prev := searchLeft(edges[0])
	for i := 1; i <= k; i++ {
		var c int
		if i == k {
			c = upperBound(s, edges[k])
		} else {
			c = searchLeft(edges[i])
		}
		counts[i-1] = c - prev
		prev = c
	}
	return counts
}

// upperBound is searchsorted(s, v, side="right").
func upperBound(s []float64, v float64) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] <= v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
