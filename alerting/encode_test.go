package alerting

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	stale := math.Float64frombits(StaleNaN)
	tests := []struct {
		name string
		in   []Series
	}{
		{"one series", []Series{{Labels: []Label{{"__name__", "up"}, {"job", "x"}}, Samples: []Sample{{1, 1700000000000}}}}},
		{"unsorted labels", []Series{{Labels: []Label{{"model", "m"}, {"__name__", "mlwatch_eval_breach"}, {"country", "de"}}, Samples: []Sample{{1, 5}}}}},
		{"zero value omitted on wire", []Series{{Labels: []Label{{"__name__", "a"}}, Samples: []Sample{{0, 7}, {2.5, 8}}}}},
		{"utf8 values", []Series{{Labels: []Label{{"__name__", "a"}, {"m", "Zürich 東京"}}, Samples: []Sample{{-1, 1}}}}},
		{"several series", []Series{
			{Labels: []Label{{"__name__", "a"}}, Samples: []Sample{{1, 1}}},
			{Labels: []Label{{"__name__", "b:c"}, {"x", "y"}}, Samples: []Sample{{math.Inf(1), 2}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := cloneSeries(tt.in)
			var e Encoder
			body, err := e.Encode(tt.in)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, err := decodeWriteRequest(body)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if diff := cmp.Diff(sortedSeries(tt.in), got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.in); diff != "" {
				t.Errorf("input modified (-before +after):\n%s", diff)
			}
		})
	}
	t.Run("stale marker bits survive", func(t *testing.T) {
		t.Parallel()
		var e Encoder
		body, err := e.Encode([]Series{{Labels: []Label{{"__name__", "a"}}, Samples: []Sample{{stale, 1}}}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeWriteRequest(body)
		if err != nil {
			t.Fatal(err)
		}
		if bits := math.Float64bits(got[0].Samples[0].Value); bits != StaleNaN {
			t.Errorf("value bits = %#x, want %#x", bits, StaleNaN)
		}
	})
}

// TestEncodeBytes pins the exact protobuf bytes (as gogo-generated prompb
// produces them) for a small request.
func TestEncodeBytes(t *testing.T) {
	t.Parallel()
	var e Encoder
	raw, err := e.marshal([]Series{{Labels: []Label{{"__name__", "a"}, {"b", "c"}}, Samples: []Sample{{1, 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x0a, 0x1b, // timeseries, len 27
		0x0a, 0x0d, 0x0a, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_', 0x12, 0x01, 'a', // label __name__=a
		0x0a, 0x06, 0x0a, 0x01, 'b', 0x12, 0x01, 'c', // label b=c
		0x12, 0x0b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x02, // sample 1.0 @ 2
	}
	want[1] = byte(len(want) - 2)
	if !bytes.Equal(raw, want) {
		t.Errorf("bytes:\n got %x\nwant %x", raw, want)
	}
	comp, err := e.Encode([]Series{{Labels: []Label{{"__name__", "a"}, {"b", "c"}}, Samples: []Sample{{1, 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := snappy.DecodedLen(comp); err != nil || n != len(want) {
		t.Errorf("snappy block decoded len = %d, %v; want %d (block format, not framed)", n, err, len(want))
	}
}

func TestEncodeValidation(t *testing.T) {
	t.Parallel()
	name := Label{"__name__", "m"}
	s1 := []Sample{{1, 1}}
	many := []Label{name}
	for i := range MaxLabels {
		many = append(many, Label{"l" + string(rune('a'+i/26)) + string(rune('a'+i%26)), "v"})
	}
	tests := []struct {
		name  string
		in    []Series
		field string
	}{
		{"no series", nil, "series"},
		{"no labels", []Series{{Samples: s1}}, "labels"},
		{"too many labels", []Series{{Labels: many, Samples: s1}}, "labels"},
		{"missing name", []Series{{Labels: []Label{{"a", "b"}}, Samples: s1}}, "__name__"},
		{"bad metric name", []Series{{Labels: []Label{{"__name__", "1a"}}, Samples: s1}}, "__name__"},
		{"metric name with dash", []Series{{Labels: []Label{{"__name__", "a-b"}}, Samples: s1}}, "__name__"},
		{"bad label name", []Series{{Labels: []Label{name, {"a:b", "x"}}, Samples: s1}}, "label name"},
		{"label name digit first", []Series{{Labels: []Label{name, {"1a", "x"}}, Samples: s1}}, "label name"},
		{"reserved label name", []Series{{Labels: []Label{name, {"__x", "x"}}, Samples: s1}}, "label name"},
		{"empty label name", []Series{{Labels: []Label{name, {"", "x"}}, Samples: s1}}, "label name"},
		{"empty value", []Series{{Labels: []Label{name, {"a", ""}}, Samples: s1}}, "label a"},
		{"invalid utf8", []Series{{Labels: []Label{name, {"a", "\xff"}}, Samples: s1}}, "label a"},
		{"duplicate", []Series{{Labels: []Label{name, {"a", "x"}, {"a", "y"}}, Samples: s1}}, "label a"},
		{"no samples", []Series{{Labels: []Label{name}}}, "samples"},
		{"zero timestamp", []Series{{Labels: []Label{name}, Samples: []Sample{{1, 0}}}}, "timestamp"},
		{"decreasing timestamps", []Series{{Labels: []Label{name}, Samples: []Sample{{1, 5}, {1, 4}}}}, "timestamp"},
		{"equal timestamps", []Series{{Labels: []Label{name}, Samples: []Sample{{1, 5}, {2, 5}}}}, "timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var e Encoder
			_, err := e.Encode(tt.in)
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidAlert) {
				t.Fatalf("Encode error = %v, want *ValidationError", err)
			}
			if ve.Field != tt.field {
				t.Errorf("Field = %q, want %q (%v)", ve.Field, tt.field, err)
			}
		})
	}
}

func TestEncoderReusesBuffers(t *testing.T) {
	series := benchSeries(100)
	var e Encoder
	if _, err := e.Encode(series); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := e.Encode(series); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("steady-state Encode allocates %.0f times, want 0", allocs)
	}
}

func FuzzEncode(f *testing.F) {
	f.Add("model", "m1", "metric", "auc", 0.5, int64(1700000000000))
	f.Add("__name__", "x", "a", "", math.NaN(), int64(1))
	f.Add("b", "\xff", "a", "ü", math.Inf(-1), int64(-3))
	f.Add("a", "x", "a", "y", 0.0, int64(9))
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string, value float64, ts int64) {
		in := []Series{{Labels: []Label{{n1, v1}, {"__name__", "mlwatch_eval_breach"}, {n2, v2}}, Samples: []Sample{{value, ts}}}}
		var e Encoder
		body, err := e.Encode(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidAlert) {
				t.Fatalf("error not a validation error: %v", err)
			}
			return
		}
		got, err := decodeWriteRequest(body)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		want := sortedSeries(in)
		if diff := cmp.Diff(want, got, cmpopts.EquateNaNs()); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		for _, l := range got[0].Labels {
			if l.Name == "" || l.Value == "" {
				t.Fatalf("empty label sent: %+v", got[0].Labels)
			}
		}
	})
}

func FuzzDecodeWriteRequest(f *testing.F) {
	var e Encoder
	body, _ := e.Encode(benchSeries(3))
	f.Add(append([]byte(nil), body...))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0x0a})
	f.Fuzz(func(t *testing.T, b []byte) {
		series, err := decodeWriteRequest(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode and decode to the same thing when valid.
		var e Encoder
		out, err := e.Encode(series)
		if err != nil {
			return
		}
		again, err := decodeWriteRequest(out)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if diff := cmp.Diff(sortedSeries(series), again, cmpopts.EquateNaNs()); diff != "" {
			t.Fatalf("re-encode (-want +got):\n%s", diff)
		}
	})
}

func cloneSeries(in []Series) []Series {
	out := make([]Series, len(in))
	for i, s := range in {
		out[i] = Series{Labels: slices.Clone(s.Labels), Samples: slices.Clone(s.Samples)}
	}
	return out
}

func sortedSeries(in []Series) []Series {
	out := cloneSeries(in)
	for _, s := range out {
		slices.SortFunc(s.Labels, compareLabels)
	}
	return out
}

// benchSeries returns n breach-like series with 7 labels each.
func benchSeries(n int) []Series {
	out := make([]Series, n)
	for i := range out {
		a := Alert{Severity: SeverityWarning, Model: "model-" + string(rune('a'+i%20)), ModelGroup: "group-" + string(rune('a'+i%5)),
			Country: "c" + string(rune('a'+i%5)), Metric: "metric_" + string(rune('a'+i%13)), Pipeline: "pipeline-" + string(rune('a'+i%7))}
		labels := append([]Label{{"__name__", MetricBreach}}, a.labels(nil)...)
		out[i] = Series{Labels: labels, Samples: []Sample{{1, 1700000000000 + int64(i)}}}
	}
	return out
}

func TestVarintFastPaths(t *testing.T) {
	t.Parallel()
	for _, x := range []uint64{0, 1, 127, 128, 200, 16383, 16384, 1 << 21, 1<<63 + 5, 1763870400123} {
		if got, want := appendVarint(nil, x), protowire.AppendVarint(nil, x); !bytes.Equal(got, want) {
			t.Errorf("appendVarint(%d) = %x, want %x", x, got, want)
		}
		if got, want := varintLen(x), protowire.SizeVarint(x); got != want {
			t.Errorf("varintLen(%d) = %d, want %d", x, got, want)
		}
	}
}
