package alerting

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/klauspost/compress/s2"
	"google.golang.org/protobuf/encoding/protowire"
)

// Label is one name/value pair of a series (remote-write 1.0 prometheus.Label).
type Label struct {
	// Name matches [a-zA-Z_][a-zA-Z0-9_]*, or is "__name__".
	Name string
	// Value is non-empty UTF-8.
	Value string
}

// Sample is one value of a series at a time in Unix milliseconds
// (remote-write 1.0 prometheus.Sample).
type Sample struct {
	// Value may be any float64; math.Float64frombits(StaleNaN) ends the series.
	Value float64
	// Timestamp is Unix milliseconds, > 0.
	Timestamp int64
}

// Series is one time series with its complete label set, including
// "__name__" (remote-write 1.0 prometheus.TimeSeries).
type Series struct {
	// Labels is the complete label set; the Encoder sorts a copy if needed.
	Labels []Label
	// Samples must have strictly increasing timestamps.
	Samples []Sample
}

// MaxLabels is the most labels (including __name__) a series may carry;
// it is AMP's default per-series limit.
const MaxLabels = 70

// StaleNaN is the bit pattern of the Prometheus staleness marker, a NaN
// that must be used for nothing else. A sample with this value ends a
// series; math.Float64frombits(StaleNaN) is the float to send.
const StaleNaN uint64 = 0x7ff0000000000002

// IsStaleNaN reports whether v is the staleness marker (and not another NaN).
func IsStaleNaN(v float64) bool { return math.Float64bits(v) == StaleNaN }

// Encoder turns series into a snappy-compressed remote-write 1.0
// WriteRequest body. Its buffers are reused between calls, so steady-state
// encoding does not allocate. An Encoder is not safe for concurrent use; the
// zero value is ready to use.
type Encoder struct {
	raw        []byte
	compressed []byte
	scratch    []Label
}

// Encode validates series and returns the WriteRequest compressed in the
// snappy block format (s2.EncodeSnappy; any snappy decoder reads it). The returned slice aliases the Encoder's buffer and is valid
// until the next call. series is not modified: labels that are not sorted by
// name are sorted in a private copy.
//
// Rules (a *ValidationError, errors.Is ErrInvalidAlert, for the first
// broken one): at least one series; each with 1..MaxLabels labels including
// a "__name__" matching [a-zA-Z_:][a-zA-Z0-9_:]*, other names matching
// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__", no duplicate names,
// non-empty valid UTF-8 values; at least one sample, timestamps > 0 and
// strictly increasing within the series.
func (e *Encoder) Encode(series []Series) ([]byte, error) {
	raw, err := e.marshal(series)
	if err != nil {
		return nil, err
	}
	e.compressed = s2.EncodeSnappy(e.compressed[:cap(e.compressed)], raw)
	return e.compressed, nil
}

// marshal validates and writes the uncompressed WriteRequest into e.raw.
func (e *Encoder) marshal(series []Series) ([]byte, error) {
	if len(series) == 0 {
		return nil, &ValidationError{Field: "series", Rule: "no series to write"}
	}
	b := e.raw[:0]
	for i := range series {
		s := &series[i]
		labels, err := e.checkSeries(s)
		if err != nil {
			return nil, err
		}
		b = append(b, tagSeries)
		b = appendVarint(b, uint64(seriesSize(labels, s.Samples)))
		for _, l := range labels {
			b = append(b, tagLabel)
			b = appendVarint(b, uint64(labelSize(l)))
			b = appendString(b, tagLabelName, l.Name)
			b = appendString(b, tagLabelValue, l.Value)
		}
		for _, smp := range s.Samples {
			b = append(b, tagSample)
			b = appendVarint(b, uint64(sampleSize(smp)))
			if smp.Value != 0 {
				b = append(b, tagSampleValue)
				b = protowire.AppendFixed64(b, math.Float64bits(smp.Value))
			}
			if smp.Timestamp != 0 {
				b = append(b, tagSampleTimestamp)
				b = appendVarint(b, uint64(smp.Timestamp))
			}
		}
	}
	e.raw = b
	return b, nil
}

// checkSeries validates s and returns its labels sorted by name (s.Labels
// itself when already sorted, else a sorted copy in e.scratch).
func (e *Encoder) checkSeries(s *Series) ([]Label, error) {
	labels := s.Labels
	if len(labels) == 0 || len(labels) > MaxLabels {
		return nil, &ValidationError{Field: "labels", Rule: fmt.Sprintf("a series needs 1 to %d labels, got %d", MaxLabels, len(labels))}
	}
	if !slices.IsSortedFunc(labels, compareLabels) {
		e.scratch = append(e.scratch[:0], labels...)
		slices.SortFunc(e.scratch, compareLabels)
		labels = e.scratch
	}
	hasName := false
	for i, l := range labels {
		if i > 0 && labels[i-1].Name == l.Name {
			return nil, &ValidationError{Field: "label " + l.Name, Rule: "duplicate label name"}
		}
		if l.Name == "__name__" {
			if !validMetricName(l.Value) {
				return nil, &ValidationError{Field: "__name__", Rule: "must match [a-zA-Z_:][a-zA-Z0-9_:]*", Value: truncate(l.Value, 64)}
			}
			hasName = true
			continue
		}
		if !validLabelName(l.Name) || len(l.Name) >= 2 && l.Name[:2] == "__" {
			return nil, &ValidationError{Field: "label name", Rule: "must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __", Value: truncate(l.Name, 64)}
		}
		if l.Value == "" {
			return nil, &ValidationError{Field: "label " + l.Name, Rule: "empty value"}
		}
		if !utf8.ValidString(l.Value) {
			return nil, &ValidationError{Field: "label " + l.Name, Rule: "value is not valid UTF-8"}
		}
	}
	if !hasName {
		return nil, &ValidationError{Field: "__name__", Rule: "missing metric name"}
	}
	if len(s.Samples) == 0 {
		return nil, &ValidationError{Field: "samples", Rule: "a series needs at least one sample"}
	}
	var last int64
	for _, smp := range s.Samples {
		if smp.Timestamp <= 0 {
			return nil, &ValidationError{Field: "timestamp", Rule: "must be positive Unix milliseconds", Value: fmt.Sprint(smp.Timestamp)}
		}
		if smp.Timestamp <= last {
			return nil, &ValidationError{Field: "timestamp", Rule: "samples of a series must have strictly increasing timestamps", Value: fmt.Sprint(smp.Timestamp)}
		}
		last = smp.Timestamp
	}
	return labels, nil
}

func compareLabels(a, b Label) int { return cmp.Compare(a.Name, b.Name) }

func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// Sizes follow proto3 rules as gogo-generated prompb does: zero scalars and
// empty strings are omitted, so the output is byte-identical to prompb.

// Field tags (field number << 3 | wire type), all single bytes.
const (
	tagSeries          = 1<<3 | byte(protowire.BytesType)   // WriteRequest.timeseries
	tagLabel           = 1<<3 | byte(protowire.BytesType)   // TimeSeries.labels
	tagSample          = 2<<3 | byte(protowire.BytesType)   // TimeSeries.samples
	tagLabelName       = 1<<3 | byte(protowire.BytesType)   // Label.name
	tagLabelValue      = 2<<3 | byte(protowire.BytesType)   // Label.value
	tagSampleValue     = 1<<3 | byte(protowire.Fixed64Type) // Sample.value
	tagSampleTimestamp = 2<<3 | byte(protowire.VarintType)  // Sample.timestamp
)

// varintLen is protowire.SizeVarint with a fast path for small values.
func varintLen(x uint64) int {
	if x < 1<<7 {
		return 1
	}
	if x < 1<<14 {
		return 2
	}
	return protowire.SizeVarint(x)
}

// appendVarint is protowire.AppendVarint with fast paths for small values.
func appendVarint(b []byte, x uint64) []byte {
	if x < 1<<7 {
		return append(b, byte(x))
	}
	if x < 1<<14 {
		return append(b, byte(x)|0x80, byte(x>>7))
	}
	return protowire.AppendVarint(b, x)
}

func labelSize(l Label) int {
	n := 0
	if l.Name != "" {
		n += 1 + varintLen(uint64(len(l.Name))) + len(l.Name)
	}
	if l.Value != "" {
		n += 1 + varintLen(uint64(len(l.Value))) + len(l.Value)
	}
	return n
}

func sampleSize(s Sample) int {
	n := 0
	if s.Value != 0 {
		n += 1 + 8
	}
	if s.Timestamp != 0 {
		n += 1 + varintLen(uint64(s.Timestamp))
	}
	return n
}

func seriesSize(labels []Label, samples []Sample) int {
	n := 0
	for _, l := range labels {
		ls := labelSize(l)
		n += 1 + varintLen(uint64(ls)) + ls
	}
	for _, s := range samples {
		ss := sampleSize(s)
		n += 1 + varintLen(uint64(ss)) + ss
	}
	return n
}

func appendString(b []byte, tag byte, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, tag)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}
