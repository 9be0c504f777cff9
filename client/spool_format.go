package client

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
)

// Spool file format (version 1).
//
// A spool directory holds segment files named %020d.spool, written in
// increasing order and replayed in that order. A segment starts with the
// 8-byte header "MLWSPL01" followed by records:
//
//	magic   2 bytes  0xB5 0x0F
//	length  4 bytes  little-endian length of payload (at most spoolMaxRecord)
//	crc     4 bytes  little-endian CRC-32C (Castagnoli) of payload
//	payload length bytes
//
// A payload is one batch of one run:
//
//	kind      1 byte   1 = batch
//	run_id    uvarint length + bytes
//	metrics   uvarint count, each: key (uvarint length + bytes),
//	          value (8 bytes, little-endian IEEE-754 bits, NaN/±Inf kept),
//	          timestamp (zigzag varint, ms), step (zigzag varint)
//	params    uvarint count, each: key, value (uvarint length + bytes)
//	tags      uvarint count, each: key, value
//
// Timestamps are stored as stamped at enqueue, so a replayed point is
// identical to the one first sent and MLflow's SQL store de-duplicates it.
//
// Readers tolerate a torn tail (a record cut short by a crash: ignored) and
// corrupt records (bad magic, length or checksum, or an undecodable payload:
// skipped by scanning for the next valid record, counted and reported).

const (
	spoolHeader       = "MLWSPL01"
	spoolRecHeaderLen = 10
	spoolMaxRecord    = 16 << 20
	spoolKindBatch    = 1
	spoolMagic0       = 0xB5
	spoolMagic1       = 0x0F
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errSpoolPayload marks a payload that passed its checksum but cannot be decoded.
var errSpoolPayload = errors.New("client: spool: malformed record payload")

// spoolBatch is the decoded payload of one spool record.
type spoolBatch struct {
	RunID   string
	Metrics []Metric
	Params  []Param
	Tags    []Tag
}

func (sb *spoolBatch) entities() int { return len(sb.Metrics) + len(sb.Params) + len(sb.Tags) }

// appendSpoolRecord appends the framed record for payload to dst.
func appendSpoolRecord(dst, payload []byte) []byte {
	dst = append(dst, spoolMagic0, spoolMagic1)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(payload, crcTable))
	return append(dst, payload...)
}

func appendSpoolString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendSpoolPayload appends the payload encoding of sb to dst.
func appendSpoolPayload(dst []byte, sb *spoolBatch) []byte {
	dst = append(dst, spoolKindBatch)
	dst = appendSpoolString(dst, sb.RunID)
	dst = binary.AppendUvarint(dst, uint64(len(sb.Metrics)))
	for i := range sb.Metrics {
		m := &sb.Metrics[i]
		dst = appendSpoolMetric(dst, m.Key, m.Value, m.Timestamp, m.Step)
	}
	dst = binary.AppendUvarint(dst, uint64(len(sb.Params)))
	for _, p := range sb.Params {
		dst = appendSpoolString(appendSpoolString(dst, p.Key), p.Value)
	}
	dst = binary.AppendUvarint(dst, uint64(len(sb.Tags)))
	for _, t := range sb.Tags {
		dst = appendSpoolString(appendSpoolString(dst, t.Key), t.Value)
	}
	return dst
}

func appendSpoolMetric(dst []byte, key string, v float64, ts, step int64) []byte {
	dst = appendSpoolString(dst, key)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	dst = binary.AppendVarint(dst, ts)
	return binary.AppendVarint(dst, step)
}

// spoolDecoder reads a payload.
type spoolDecoder struct {
	b   []byte
	bad bool
}

func (d *spoolDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *spoolDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *spoolDecoder) str() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		d.b = nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *spoolDecoder) u64() uint64 {
	if len(d.b) < 8 {
		d.bad = true
		d.b = nil
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// count reads an element count and checks it against the bytes left
// (each element takes at least min bytes), so a corrupt count cannot make
// the decoder allocate a huge slice.
func (d *spoolDecoder) count(min int) int {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)/min) {
		d.bad = true
		d.b = nil
		return 0
	}
	return int(n)
}

// decodeSpoolPayload decodes one record payload. It returns errSpoolPayload
// for anything malformed, including trailing bytes.
func decodeSpoolPayload(p []byte) (*spoolBatch, error) {
	if len(p) == 0 || p[0] != spoolKindBatch {
		return nil, errSpoolPayload
	}
	d := &spoolDecoder{b: p[1:]}
	sb := &spoolBatch{RunID: d.str()}
	if n := d.count(11); n > 0 {
		sb.Metrics = make([]Metric, n)
		for i := range sb.Metrics {
			m := &sb.Metrics[i]
			m.Key = d.str()
			m.Value = math.Float64frombits(d.u64())
			m.Timestamp = d.varint()
			m.Step = d.varint()
		}
	}
	if n := d.count(2); n > 0 {
		sb.Params = make([]Param, n)
		for i := range sb.Params {
			sb.Params[i] = Param{Key: d.str(), Value: d.str()}
		}
	}
	if n := d.count(2); n > 0 {
		sb.Tags = make([]Tag, n)
		for i := range sb.Tags {
			sb.Tags[i] = Tag{Key: d.str(), Value: d.str()}
		}
	}
	if d.bad || len(d.b) != 0 || sb.RunID == "" {
		return nil, errSpoolPayload
	}
	return sb, nil
}

// spoolScan is the outcome of scanning a byte range of a segment.
type spoolScan struct {
	// Consumed is how many bytes were fully processed (records and skipped
	// corrupt bytes). Bytes after it are an incomplete tail.
	Consumed int
	// Corrupt counts corrupt regions skipped (each region counts once).
	Corrupt int
	// Torn reports an incomplete record at the end of buf.
	Torn bool
}

// validRecordAt reports whether a complete record with a matching checksum
// starts at buf[i], and its total length.
func validRecordAt(buf []byte, i int) (int, bool) {
	if len(buf)-i < spoolRecHeaderLen || buf[i] != spoolMagic0 || buf[i+1] != spoolMagic1 {
		return 0, false
	}
	n := binary.LittleEndian.Uint32(buf[i+2:])
	if n > spoolMaxRecord || uint64(len(buf)-i-spoolRecHeaderLen) < uint64(n) {
		return 0, false
	}
	p := buf[i+spoolRecHeaderLen : i+spoolRecHeaderLen+int(n)]
	if crc32.Checksum(p, crcTable) != binary.LittleEndian.Uint32(buf[i+6:]) {
		return 0, false
	}
	return spoolRecHeaderLen + int(n), true
}

// scanSpoolRecords calls fn with every valid record payload in buf, in
// order. When final is false, an incomplete record at the end is left
// unconsumed (it may still be being written); when final is true it is a
// torn tail. A corrupt region is skipped up to the next valid record. fn's
// payload aliases buf.
func scanSpoolRecords(buf []byte, final bool, fn func(payload []byte)) spoolScan {
	var s spoolScan
	i := 0
	for i < len(buf) {
		if n, ok := validRecordAt(buf, i); ok {
			fn(buf[i+spoolRecHeaderLen : i+n])
			i += n
			continue
		}
		if incompleteRecordAt(buf, i) {
			// Either a record still being written / torn by a crash, or a
			// corrupt length. It is corrupt only if a valid record follows.
			if next := nextValidRecord(buf, i+1); next >= 0 {
				s.Corrupt++
				i = next
				continue
			}
			s.Torn = final
			if final {
				i = len(buf)
			}
			break
		}
		s.Corrupt++
		next := nextValidRecord(buf, i+1)
		if next < 0 {
			if final {
				i = len(buf)
			} else {
				// Keep the bytes: a later scan may find the record complete.
				s.Corrupt--
			}
			break
		}
		i = next
	}
	s.Consumed = i
	return s
}

// incompleteRecordAt reports whether buf[i:] looks like the beginning of a
// record that extends past the end of buf.
func incompleteRecordAt(buf []byte, i int) bool {
	rest := len(buf) - i
	if rest < 2 {
		return rest == 0 || buf[i] == spoolMagic0
	}
	if buf[i] != spoolMagic0 || buf[i+1] != spoolMagic1 {
		return false
	}
	if rest < spoolRecHeaderLen {
		return true
	}
	n := binary.LittleEndian.Uint32(buf[i+2:])
	return n <= spoolMaxRecord && uint64(rest-spoolRecHeaderLen) < uint64(n)
}

func nextValidRecord(buf []byte, from int) int {
	for j := from; j+spoolRecHeaderLen <= len(buf); j++ {
		if buf[j] != spoolMagic0 {
			continue
		}
		if _, ok := validRecordAt(buf, j); ok {
			return j
		}
	}
	return -1
}
