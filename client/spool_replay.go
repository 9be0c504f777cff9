package client

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ReplayStats counts what a replay did. Counts are entries, except Batches.
type ReplayStats struct {
	// Replayed is the number of entries MLflow acknowledged.
	Replayed int64
	// Failed is the number of entries MLflow rejected for good (reported in
	// the returned error); their records are removed.
	Failed int64
	// Corrupt is the number of corrupt records (or headers) skipped.
	Corrupt int64
	// Batches is the number of successful log-batch requests.
	Batches int64
	// Segments is the number of segment files left (0 after a full replay).
	Segments int
}

type replayConfig struct {
	workers       int
	backoffMin    time.Duration
	probeInterval time.Duration
}

// replayer reads spool segments in order and sends their records through
// workers (a run always goes to the same worker, so its records stay in
// order), merging consecutive records of a run up to MLflow's limits.
// A transient failure is retried with backoff up to the probe interval,
// for as long as the replayer runs: it is the background probe that
// notices MLflow is back.
type replayer struct {
	c    *Client
	sp   *spool
	log  *slog.Logger
	cfg  replayConfig
	b    *Batcher // nil for ReplaySpool
	seed maphash.Seed

	kickCh  chan struct{}
	retryMu sync.Mutex
	retryCh chan struct{}

	startOnce   sync.Once
	started     atomic.Bool
	done        chan struct{}
	unreachable atomic.Bool
	failGen     atomic.Int64 // transient failures so far

	replayed, failed, corrupt, batches, retried atomic.Int64

	errMu sync.Mutex
	errs  []error
}

type replayItem struct {
	seg *segment
	sb  *spoolBatch
}

func newReplayer(c *Client, sp *spool, log *slog.Logger, cfg replayConfig, b *Batcher) *replayer {
	if cfg.workers < 1 {
		cfg.workers = 1
	}
	return &replayer{
		c: c, sp: sp, log: log, cfg: cfg, b: b, seed: maphash.MakeSeed(),
		kickCh: make(chan struct{}, 1), retryCh: make(chan struct{}), done: make(chan struct{}),
	}
}

// kick tells the reader that new records were written.
func (r *replayer) kick() {
	if r == nil {
		return
	}
	select {
	case r.kickCh <- struct{}{}:
	default:
	}
}

// retryNow cuts short the workers' backoff waits.
func (r *replayer) retryNow() {
	r.retryMu.Lock()
	close(r.retryCh)
	r.retryCh = make(chan struct{})
	r.retryMu.Unlock()
	r.kick()
}

func (r *replayer) retryChan() <-chan struct{} {
	r.retryMu.Lock()
	defer r.retryMu.Unlock()
	return r.retryCh
}

// start runs the replayer in the background until ctx ends.
func (r *replayer) start(ctx context.Context) {
	r.startOnce.Do(func() {
		r.started.Store(true)
		go func() {
			defer close(r.done)
			r.run(ctx, false)
		}()
	})
}

func (r *replayer) report(err error) {
	if r.b != nil {
		r.b.report(err)
		return
	}
	r.errMu.Lock()
	if len(r.errs) < 16 {
		r.errs = append(r.errs, err)
	}
	r.errMu.Unlock()
	r.log.Warn("client: spool replay: failure", "error", err.Error())
}

// run reads and dispatches records until ctx ends, or, with untilEmpty,
// until every segment has been read and acknowledged.
func (r *replayer) run(ctx context.Context, untilEmpty bool) {
	work := make([]chan replayItem, r.cfg.workers)
	var wg sync.WaitGroup
	for i := range work {
		work[i] = make(chan replayItem, 8)
		wg.Add(1)
		go func(ch chan replayItem) {
			defer wg.Done()
			r.worker(ctx, ch)
		}(work[i])
	}
	defer func() {
		for _, ch := range work {
			close(ch)
		}
		wg.Wait()
	}()
	if n := r.sp.corruptHeaders; n > 0 {
		r.corrupt.Add(int64(n))
		r.report(fmt.Errorf("client: spool: %d segments with a bad header (scanned for records)", n))
	}
	var buf []byte
	for ctx.Err() == nil {
		seg, from, to, sealed := r.sp.nextRange()
		if seg == nil {
			if untilEmpty && r.sp.segmentCount() == 0 {
				return
			}
			if r.b != nil && r.sp.tryStopSpooling() {
				r.b.signalProgress()
			}
			if untilEmpty && r.sp.allRead() {
				// Wait for the workers' acknowledgements.
				select {
				case <-ctx.Done():
				case <-time.After(20 * time.Millisecond):
				}
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-r.kickCh:
			case <-r.sp.dataCh:
			case <-time.After(time.Second):
			}
			continue
		}
		n := int(to - from)
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		f, err := os.Open(seg.path)
		if err == nil {
			_, err = f.ReadAt(buf, from)
			f.Close()
		}
		if err != nil && !errors.Is(err, io.EOF) {
			r.report(fmt.Errorf("client: spool: read %s: %w", seg.path, err))
			r.sp.advance(seg, to-from, 0, true) // skip what cannot be read
			continue
		}
		var items []replayItem
		scan := scanSpoolRecords(buf, sealed, func(p []byte) {
			sb, err := decodeSpoolPayload(p)
			if err != nil {
				r.corrupt.Add(1)
				r.report(fmt.Errorf("client: spool: %s: corrupt record skipped", seg.path))
				return
			}
			items = append(items, replayItem{seg: seg, sb: sb})
		})
		if scan.Corrupt > 0 {
			r.corrupt.Add(int64(scan.Corrupt))
			r.report(fmt.Errorf("client: spool: %s: %d corrupt regions skipped", seg.path, scan.Corrupt))
		}
		if scan.Torn {
			r.log.Info("client: spool: torn tail ignored", "segment", seg.path)
		}
		r.sp.advance(seg, int64(scan.Consumed), len(items), sealed)
		for _, it := range items {
			w := work[maphash.String(r.seed, it.sb.RunID)%uint64(len(work))]
			select {
			case w <- it:
			case <-ctx.Done():
				return
			}
		}
	}
}

// allRead reports whether every segment has been read (acks may be pending).
func (sp *spool) allRead() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, s := range sp.segs {
		if !s.readDone {
			return false
		}
	}
	return true
}

func mergeable(a, b *spoolBatch) bool {
	return a.RunID == b.RunID && len(a.Params) == 0 && len(b.Params) == 0 &&
		len(a.Metrics)+len(b.Metrics) <= MaxMetricsPerBatch &&
		len(a.Tags)+len(b.Tags) <= MaxParamsTagsPerBatch &&
		a.entities()+b.entities() <= MaxEntitiesPerBatch &&
		tagBytes(a)+tagBytes(b) <= batchBodyBudget/2
}

func tagBytes(sb *spoolBatch) int {
	n := 0
	for _, t := range sb.Tags {
		n += len(t.Key) + len(t.Value) + 32
	}
	return n
}

// worker sends the items of its runs in order.
func (r *replayer) worker(ctx context.Context, ch chan replayItem) {
	var next *replayItem
	for {
		var it replayItem
		if next != nil {
			it, next = *next, nil
		} else {
			var ok bool
			select {
			case it, ok = <-ch:
				if !ok {
					return
				}
			case <-ctx.Done():
				return
			}
		}
		group := []replayItem{it}
		merged := it.sb
	merge:
		for {
			select {
			case nx, ok := <-ch:
				if !ok {
					break merge
				}
				if mergeable(merged, nx.sb) {
					if merged == it.sb {
						merged = &spoolBatch{RunID: it.sb.RunID,
							Metrics: append([]Metric(nil), it.sb.Metrics...),
							Tags:    append([]Tag(nil), it.sb.Tags...)}
					}
					merged.Metrics = append(merged.Metrics, nx.sb.Metrics...)
					merged.Tags = append(merged.Tags, nx.sb.Tags...)
					group = append(group, nx)
					continue
				}
				next = &nx
				break merge
			default:
				break merge
			}
		}
		if !r.deliver(ctx, merged) {
			return // stopped: records stay in the spool for the next run
		}
		for _, g := range group {
			r.sp.ack(g.seg, 1)
		}
		if r.b != nil {
			r.b.signalProgress()
		}
	}
}

// deliver sends sb until it is acknowledged or rejected for good (true),
// or ctx ends (false).
func (r *replayer) deliver(ctx context.Context, sb *spoolBatch) bool {
	body := encodeSpoolBatchJSON(nil, sb)
	for attempt := 1; ; attempt++ {
		err := r.c.doJSON(ctx, http.MethodPost, logBatchPath, body, nil, false)
		if err == nil {
			r.unreachable.Store(false)
			r.replayed.Add(int64(sb.entities()))
			r.batches.Add(1)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if !IsRetryable(err) && !errors.Is(err, context.DeadlineExceeded) {
			if len(sb.Params) > 1 && errors.Is(err, ErrInvalidParameter) {
				for _, p := range sb.Params {
					if !r.deliver(ctx, &spoolBatch{RunID: sb.RunID, Params: []Param{p}}) {
						return false
					}
				}
				return true
			}
			r.failed.Add(int64(sb.entities()))
			r.report(&BatchError{RunID: sb.RunID, Metrics: len(sb.Metrics), Params: len(sb.Params), Tags: len(sb.Tags), Err: err})
			return true
		}
		r.failGen.Add(1)
		if r.unreachable.CompareAndSwap(false, true) {
			r.log.Info("client: spool replay: mlflow unreachable, probing", "error", err.Error())
		}
		r.retried.Add(1)
		t := time.NewTimer(backoff(attempt, r.cfg.backoffMin, r.cfg.probeInterval))
		select {
		case <-t.C:
		case <-r.retryChan():
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
}

// encodeSpoolBatchJSON appends the log-batch body of sb to dst.
func encodeSpoolBatchJSON(dst []byte, sb *spoolBatch) []byte {
	dst = append(dst, `{"run_id":`...)
	dst = appendString(dst, sb.RunID)
	if len(sb.Metrics) > 0 {
		dst = append(dst, `,"metrics":[`...)
		for i := range sb.Metrics {
			m := &sb.Metrics[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendMetricEntry(dst, m.Key, m.Value, m.Timestamp, m.Step)
		}
		dst = append(dst, ']')
	}
	return append(appendParamsAndTags(dst, sb.Params, sb.Tags), '}')
}

// ReplaySpool replays the spool directory dir (left by a Batcher created
// WithSpoolDir, for example in a process that was killed) through c: records
// are sent in order, segment files are deleted once every record in them is
// acknowledged, corrupt records are skipped and counted. It returns when the
// directory is empty, or when ctx ends (what is left stays for a later
// replay). Transient failures are retried until ctx ends; records MLflow
// rejects for good are removed and reported in the error. Re-sending a
// point that reached MLflow before is safe: its content is identical, and
// the SQL store de-duplicates it. It locks dir for its duration.
func ReplaySpool(ctx context.Context, c *Client, dir string) (ReplayStats, error) {
	if c == nil {
		return ReplayStats{}, errors.New("client: spool: nil client")
	}
	if _, err := os.Stat(dir); err != nil {
		return ReplayStats{}, fmt.Errorf("client: spool: %w", err)
	}
	sp, err := openSpool(dir, DefaultSpoolSegmentBytes, false)
	if err != nil {
		return ReplayStats{}, err
	}
	log := c.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := newReplayer(c, sp, log, replayConfig{workers: DefaultBatcherSenders, backoffMin: 100 * time.Millisecond, probeInterval: 5 * time.Second}, nil)
	r.run(ctx, true)
	st := ReplayStats{
		Replayed: r.replayed.Load(), Failed: r.failed.Load(), Corrupt: r.corrupt.Load(),
		Batches: r.batches.Load(), Segments: sp.segmentCount(),
	}
	cerr := sp.close()
	r.errMu.Lock()
	errs := append([]error(nil), r.errs...)
	r.errMu.Unlock()
	if ctx.Err() != nil && st.Segments > 0 {
		errs = append(errs, fmt.Errorf("client: spool: replay stopped with %d segments left: %w", st.Segments, context.Cause(ctx)))
	}
	if cerr != nil {
		errs = append(errs, cerr)
	}
	return st, errors.Join(errs...)
}
