package client

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// This file holds the hand-written JSON encoder used for metrics and
// log-batch bodies: it appends into one pre-sized buffer, so encoding a
// 1000-metric batch costs a single allocation.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// like encoding/json; HTML characters are not escaped (not needed for an
// API body).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat appends v as a JSON number, or as the protobuf JSON strings
// "NaN", "Infinity" and "-Infinity". Finite values use the shortest
// representation that round-trips exactly.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendMetric appends one metric object.
func appendMetric(b []byte, m *Metric) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, m.Key)
	b = append(b, `,"value":`...)
	b = appendFloat(b, m.Value)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, m.Timestamp, 10)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, m.Step, 10)
	if m.RunID != "" {
		b = append(b, `,"run_id":`...)
		b = appendString(b, m.RunID)
	}
	return append(b, '}')
}

// appendKV appends {"key":k,"value":v}.
func appendKV(b []byte, k, v string) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, k)
	b = append(b, `,"value":`...)
	b = appendString(b, v)
	return append(b, '}')
}

// metricSizeEstimate is an upper bound of the encoded size of m, ignoring
// escapes (which only make the real size larger by a bounded factor; the
// buffer grows if needed).
func metricSizeEstimate(m *Metric) int {
	return 75 + len(m.Key) + len(m.RunID)
}

// encodeBatch encodes a log-batch body for runID. It allocates once when
// the keys need no escaping.
func encodeBatch(runID string, metrics []Metric, params []Param, tags []Tag) []byte {
	n := 64 + len(runID)
	for i := range metrics {
		n += metricSizeEstimate(&metrics[i])
	}
	for _, p := range params {
		n += 24 + len(p.Key) + len(p.Value)
	}
	for _, t := range tags {
		n += 24 + len(t.Key) + len(t.Value)
	}
	b := make([]byte, 0, n)
	b = append(b, `{"run_id":`...)
	b = appendString(b, runID)
	if len(metrics) > 0 {
		b = append(b, `,"metrics":[`...)
		for i := range metrics {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendMetric(b, &metrics[i])
		}
		b = append(b, ']')
	}
	return append(appendParamsAndTags(b, params, tags), '}')
}

// appendParamsAndTags appends the `,"params":[...]` and `,"tags":[...]` members
// of a log-batch body, each only when non-empty.
func appendParamsAndTags(b []byte, params []Param, tags []Tag) []byte {
	if len(params) > 0 {
		b = append(b, `,"params":[`...)
		for i, p := range params {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendKV(b, p.Key, p.Value)
		}
		b = append(b, ']')
	}
	if len(tags) > 0 {
		b = append(b, `,"tags":[`...)
		for i, t := range tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendKV(b, t.Key, t.Value)
		}
		b = append(b, ']')
	}
	return b
}
