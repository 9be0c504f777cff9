package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func sampleBatches() []*spoolBatch {
	return []*spoolBatch{
		{RunID: "r1", Metrics: []Metric{
			{Key: "loss", Value: 0.25, Timestamp: 1714400000000, Step: 0},
			{Key: "loss", Value: math.NaN(), Timestamp: 1714400000001, Step: 1},
			{Key: "acc/top 1", Value: math.Inf(1), Timestamp: 1, Step: -3},
			{Key: "ü:x", Value: math.Inf(-1), Timestamp: 0, Step: math.MaxInt64},
		}},
		{RunID: "r2", Params: []Param{{Key: "lr", Value: "0.1"}, {Key: "note", Value: "quote \" and \n newline"}}},
		{RunID: "r3", Tags: []Tag{{Key: "phase", Value: ""}}, Metrics: []Metric{{Key: "k", Value: -0.0, Timestamp: 5}}},
	}
}

var nanEqual = cmpopts.EquateNaNs()

func TestSpoolPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	for _, sb := range sampleBatches() {
		t.Run(sb.RunID, func(t *testing.T) {
			t.Parallel()
			got, err := decodeSpoolPayload(appendSpoolPayload(nil, sb))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(sb, got, nanEqual, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeSpoolPayloadRejectsMalformed(t *testing.T) {
	t.Parallel()
	good := appendSpoolPayload(nil, sampleBatches()[0])
	tests := []struct {
		name string
		p    []byte
	}{
		{"empty", nil},
		{"wrong kind", append([]byte{9}, good[1:]...)},
		{"truncated", good[:len(good)-3]},
		{"trailing bytes", append(append([]byte(nil), good...), 0)},
		{"huge count", []byte{1, 1, 'r', 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"empty run id", appendSpoolPayload(nil, &spoolBatch{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := decodeSpoolPayload(tt.p); !errors.Is(err, errSpoolPayload) {
				t.Errorf("decode = %v, want errSpoolPayload", err)
			}
		})
	}
}

func framed(bs ...*spoolBatch) ([]byte, []int) {
	var buf []byte
	var offs []int
	for _, sb := range bs {
		offs = append(offs, len(buf))
		buf = appendSpoolRecord(buf, appendSpoolPayload(nil, sb))
	}
	return buf, offs
}

func scanRuns(buf []byte, final bool) ([]string, spoolScan) {
	var runs []string
	s := scanSpoolRecords(buf, final, func(p []byte) {
		sb, err := decodeSpoolPayload(p)
		if err != nil {
			runs = append(runs, "bad")
			return
		}
		runs = append(runs, sb.RunID)
	})
	return runs, s
}

func TestScanSpoolRecords(t *testing.T) {
	t.Parallel()
	all, offs := framed(sampleBatches()...)
	flip := func(i int) []byte {
		b := append([]byte(nil), all...)
		b[i] ^= 0x40
		return b
	}
	tests := []struct {
		name        string
		buf         []byte
		final       bool
		wantRuns    []string
		wantCorrupt int
		wantTorn    bool
		wantRest    int // bytes left unconsumed
	}{
		{"clean", all, true, []string{"r1", "r2", "r3"}, 0, false, 0},
		{"torn tail final", all[:len(all)-4], true, []string{"r1", "r2"}, 0, true, 0},
		{"torn tail still writing", all[:len(all)-4], false, []string{"r1", "r2"}, 0, false, len(all) - 4 - offs[2]},
		{"corrupt payload byte", flip(offs[1] + spoolRecHeaderLen + 2), true, []string{"r1", "r3"}, 1, false, 0},
		{"corrupt magic", flip(offs[1]), true, []string{"r1", "r3"}, 1, false, 0},
		{"corrupt length", flip(offs[1] + 4), true, []string{"r1", "r3"}, 1, false, 0},
		{"garbage prefix", append([]byte("garbage!!"), all...), true, []string{"r1", "r2", "r3"}, 1, false, 0},
		{"garbage tail", append(append([]byte(nil), all...), "xyzxyzxyzxyz"...), true, []string{"r1", "r2", "r3"}, 1, false, 0},
		{"header only", all[:5], true, nil, 0, true, 0},
		{"empty", nil, true, nil, 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runs, s := scanRuns(tt.buf, tt.final)
			if diff := cmp.Diff(tt.wantRuns, runs); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
			if s.Corrupt != tt.wantCorrupt || s.Torn != tt.wantTorn || len(tt.buf)-s.Consumed != tt.wantRest {
				t.Errorf("scan = %+v (rest %d), want corrupt %d torn %v rest %d", s, len(tt.buf)-s.Consumed, tt.wantCorrupt, tt.wantTorn, tt.wantRest)
			}
		})
	}
}

// TestReplaySpoolSkipsCorruptRecords writes a segment with a corrupt record
// in the middle and a torn tail (as a crash leaves it) and replays it.
func TestReplaySpoolSkipsCorruptRecords(t *testing.T) {
	t.Parallel()
	s := newLogBatchServer(t)
	dir := t.TempDir()
	mk := func(run string, from int) *spoolBatch {
		sb := &spoolBatch{RunID: run}
		for i := from; i < from+10; i++ {
			sb.Metrics = append(sb.Metrics, Metric{Key: "k", Value: float64(i), Timestamp: 1000, Step: int64(i)})
		}
		return sb
	}
	buf, offs := framed(mk("a", 0), mk("a", 10), mk("a", 20))
	buf[offs[1]+spoolRecHeaderLen+5] ^= 0xff // corrupt the second record
	buf = append(buf, appendSpoolRecord(nil, appendSpoolPayload(nil, mk("a", 30)))[:20]...)
	seg := append([]byte(spoolHeader), buf...)
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000007.spool"), seg, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := ReplaySpool(ctx, s.client(t), dir)
	if err == nil {
		t.Error("ReplaySpool = nil error, want the corrupt record reported")
	}
	if st.Replayed != 20 || st.Corrupt != 1 || st.Segments != 0 {
		t.Errorf("ReplayStats = %+v, want 20 replayed, 1 corrupt, no segments left", st)
	}
	var steps []int64
	for _, m := range s.series("a", "k") {
		steps = append(steps, m.Step)
	}
	want := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

func TestSpoolDirIsLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sp, err := openSpool(dir, DefaultSpoolSegmentBytes, false)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	if sp2, err := openSpool(dir, DefaultSpoolSegmentBytes, false); err == nil {
		sp2.close()
		t.Fatal("second openSpool on a locked directory succeeded")
	}
}

func TestSpoolRotatesSegments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sp, err := openSpool(dir, 64<<10, false)
	if err != nil {
		t.Fatal(err)
	}
	sb := &spoolBatch{RunID: "r"}
	for i := 0; i < 500; i++ {
		sb.Metrics = append(sb.Metrics, Metric{Key: "some/metric", Value: float64(i), Timestamp: 1, Step: int64(i)})
	}
	p := appendSpoolPayload(nil, sb)
	for i := 0; i < 20; i++ {
		if _, err := sp.appendPayload(p, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"+spoolSuffix))
	if len(files) < 2 {
		t.Fatalf("%d segment files, want rotation into several", len(files))
	}
	var n int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte(spoolHeader)) {
			t.Errorf("%s: missing header", f)
		}
		runs, s := scanRuns(data[len(spoolHeader):], true)
		if s.Corrupt != 0 || s.Torn {
			t.Errorf("%s: scan %+v", f, s)
		}
		n += len(runs)
	}
	if n != 20 {
		t.Errorf("%d records in all segments, want 20", n)
	}
}

func FuzzScanSpoolRecords(f *testing.F) {
	all, _ := framed(sampleBatches()...)
	f.Add(all, true)
	f.Add(all[:len(all)/2], false)
	f.Add([]byte{spoolMagic0, spoolMagic1, 0xff, 0xff, 0xff, 0xff}, true)
	f.Add(append([]byte("junk"), all...), true)
	f.Fuzz(func(t *testing.T, buf []byte, final bool) {
		var n int
		s := scanSpoolRecords(buf, final, func(p []byte) {
			n++
			sb, err := decodeSpoolPayload(p)
			if err != nil {
				return
			}
			// A decodable payload re-encodes to itself.
			if got := appendSpoolPayload(nil, sb); !bytes.Equal(got, p) {
				t.Fatalf("re-encoding differs:\n%x\n%x", p, got)
			}
		})
		if s.Consumed < 0 || s.Consumed > len(buf) {
			t.Fatalf("Consumed = %d of %d", s.Consumed, len(buf))
		}
		if final && s.Consumed != len(buf) {
			t.Fatalf("final scan left %d bytes", len(buf)-s.Consumed)
		}
	})
}

func FuzzSpoolPayloadRoundTrip(f *testing.F) {
	f.Add("run1", "loss", 0.5, int64(1714400000000), int64(3), "lr", "0.1")
	f.Add("r", "a/b c:d", math.NaN(), int64(0), int64(-1), "", "")
	f.Add("r", "k", math.Inf(-1), int64(math.MaxInt64), int64(math.MinInt64), "p", "\x00\xff")
	f.Fuzz(func(t *testing.T, run, key string, v float64, ts, step int64, pk, pv string) {
		if run == "" {
			return
		}
		sb := &spoolBatch{RunID: run, Metrics: []Metric{{Key: key, Value: v, Timestamp: ts, Step: step}}}
		if pk != "" {
			sb.Params = []Param{{Key: pk, Value: pv}}
			sb.Tags = []Tag{{Key: pv, Value: pk}}
		}
		rec := appendSpoolRecord(nil, appendSpoolPayload(nil, sb))
		var got *spoolBatch
		s := scanSpoolRecords(rec, true, func(p []byte) {
			var err error
			if got, err = decodeSpoolPayload(p); err != nil {
				t.Fatal(err)
			}
		})
		if s.Corrupt != 0 || got == nil {
			t.Fatalf("scan %+v, decoded %v", s, got)
		}
		if math.Float64bits(got.Metrics[0].Value) != math.Float64bits(v) {
			t.Fatalf("value bits changed: %x → %x", math.Float64bits(v), math.Float64bits(got.Metrics[0].Value))
		}
		if diff := cmp.Diff(sb, got, nanEqual, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}

func FuzzEncodeSpoolBatchJSON(f *testing.F) {
	f.Add("run1", "loss", 0.5, int64(1714400000000), int64(3), "lr", "0.1")
	f.Add("r", "k", math.NaN(), int64(0), int64(-1), "p", "quote\" back\\ \u2028 \x01")
	f.Add("r", "k", math.Inf(1), int64(1), int64(2), "p", "\xff")
	f.Fuzz(func(t *testing.T, run, key string, v float64, ts, step int64, pk, pv string) {
		if !utf8.ValidString(run) || !utf8.ValidString(key) || !utf8.ValidString(pk) || !utf8.ValidString(pv) {
			return // invalid UTF-8 is replaced (U+FFFD), as encoding/json does
		}
		sb := &spoolBatch{RunID: run, Metrics: []Metric{{Key: key, Value: v, Timestamp: ts, Step: step}},
			Params: []Param{{Key: pk, Value: pv}}, Tags: []Tag{{Key: pv, Value: pk}}}
		body := encodeSpoolBatchJSON(nil, sb)
		var got struct {
			RunID   string   `json:"run_id"`
			Metrics []Metric `json:"metrics"`
			Params  []Param  `json:"params"`
			Tags    []Tag    `json:"tags"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		want := *sb
		if diff := cmp.Diff(want.Metrics, got.Metrics, nanEqual); diff != "" || got.RunID != run ||
			!cmp.Equal(want.Params, got.Params) || !cmp.Equal(want.Tags, got.Tags) {
			t.Fatalf("round trip of %s (-want +got):\n%s", body, diff)
		}
	})
}

var updateSpoolGolden = flag.Bool("update-spool", false, "rewrite testdata/spool golden files")

// TestSpoolFormatGolden pins the on-disk format: a segment written by an
// earlier version must stay readable by the next process.
func TestSpoolFormatGolden(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "spool", "v1.spool")
	all, _ := framed(sampleBatches()...)
	want := append([]byte(spoolHeader), all...)
	if *updateSpoolGolden {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("encoder output differs from %s (run with -update-spool after a deliberate format change)", path)
	}
	var got []*spoolBatch
	s := scanSpoolRecords(data[len(spoolHeader):], true, func(p []byte) {
		sb, err := decodeSpoolPayload(p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, sb)
	})
	if s.Corrupt != 0 || s.Torn {
		t.Errorf("scan = %+v", s)
	}
	if diff := cmp.Diff(sampleBatches(), got, nanEqual, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("decoded golden segment (-want +got):\n%s", diff)
	}
}
