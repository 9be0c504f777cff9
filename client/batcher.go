package client

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Batcher logs metrics, params and tags in the background: enqueue calls
// validate their input, stamp timestamps and return at once; sender lanes
// group entries per run into log-batch requests within MLflow's limits
// (1000 metrics, 100 params, 100 tags, 1000 entities, under 1 MB) and send
// them on size and on an interval, retrying transient failures. It is
// modelled on OpenTelemetry's batch span processor and kafka-go's Writer.
// Use it when a pipeline logs many points (per-step metrics, per-feature
// drift scores) and must not wait on MLflow or lose points when MLflow is
// slow or down; use Client.LogBatch when the caller wants the answer of
// each call.
//
// A Batcher is safe for concurrent use. Enqueuing a metric allocates
// nothing once its run and key have been seen and does no I/O on the
// caller's goroutine. Its memory is bounded (WithMaxQueueBytes, default 24
// MiB): when full, enqueue calls block (the default; the ...Context
// variants give up when their context ends), drop and count
// (WithDropWhenFull), or, with a spool directory, the oldest batches move to
// disk. Every background failure is returned by the next Flush or Close,
// passed to the error handler (WithErrorHandler) and logged.
//
// Ordering and duplicates: a run has at most one batch in flight, so its
// batches are sent one at a time, in enqueue order (different runs are sent
// concurrently by WithSenders lanes). A batch that is
// retried or replayed is re-sent with identical content (timestamps are
// fixed at enqueue), and MLflow's SQL store drops points identical to stored
// ones, so a point is never stored twice. The one exception is a NaN point
// re-sent to an MLflow server without PR #24683 (before 3.17): its duplicate
// check fails on NaN and the batch is answered 500 until the retry budget
// runs out. Params: re-sending the same value is a no-op; a different value
// is rejected by MLflow (a *BatchError wrapping ErrInvalidParameter, not
// retried; params are sent in batches of their own, split one by one on
// rejection, so only the conflicting param fails). Tags: the last value sent
// wins, so replaying an old spool after a newer value of the same tag was set
// directly (not through this spool) brings the older value back; set a tag
// through one path only.
//
// Durability (WithSpoolDir): a batch that cannot be delivered within the
// retry budget (WithRetryBudget, default 2 min), or that would push the queue
// past its bound, is appended to a spool segment: length-prefixed,
// CRC-32C-checksummed records, fsynced when a segment rotates (8 MiB) and on
// Flush and Shutdown. From then on new batches queue behind it in the spool
// (order is kept) until a background probe finds MLflow answering and the
// spool has been replayed; segments are deleted only after MLflow
// acknowledged every record in them. Segments left by a killed process are
// replayed by the next Batcher on the directory, or by ReplaySpool
// (examples/replay). A torn tail is ignored; a corrupt record is skipped,
// counted (Stats().Corrupt) and reported.
//
// Loss window: without WithSyncSpool, entries still in memory (not yet
// acknowledged nor spooled: at most the queue bound, normally about one
// flush interval of points) are lost if the process is killed; spooled
// entries survive a process crash as soon as they are written, and an OS
// crash once fsynced. With WithSyncSpool every enqueue call writes and
// fsyncs its entries before it returns and entries are sent from the spool
// only: no loss window, at the cost of one fsync per call.
//
// Shutdown (or Close, bounded by WithCloseTimeout, default 30 s) must be
// called to release the goroutines; Flush is what ActiveRun.End calls
// through RunOptions.Flusher.
type Batcher struct {
	c    *Client
	s    batcherSettings
	log  *slog.Logger
	seed maphash.Seed

	shards    []batcherShard
	shardMask uint64
	lanes     []*batcherLane
	work      chan struct{} // one token per pending wake-up of an idle lane
	flushSeq  atomic.Uint64 // bumped when every lane must send everything

	closed   atomic.Bool
	closedCh chan struct{}
	stopOnce sync.Once
	stopped  chan struct{} // closed when Shutdown finished
	stopErr  error

	// hardCtx is cancelled when Shutdown's context ends: in-flight sends
	// are abandoned (and spooled, or counted failed).
	hardCtx    context.Context
	hardCancel context.CancelFunc
	laneWG     sync.WaitGroup

	mem     atomic.Int64 // queued bytes
	freeMu  sync.Mutex
	free    []*chunk
	waiters atomic.Int32
	spaceMu sync.Mutex
	spaceCh chan struct{}

	progressMu sync.Mutex
	progressCh chan struct{}

	sent, retried, failed, dropped, spooled, replayed, corrupt, batches atomic.Int64
	syncEnqueued                                                        atomic.Int64

	errMu       sync.Mutex
	errs        []error
	errsDropped int
	dropNoticed atomic.Bool

	spool *spool
	rp    *replayer

	clock atomic.Pointer[batchClock]
}

// batchClock stamps enqueue times: wall-clock milliseconds from a recent
// time.Now plus the monotonic time elapsed since, which is about half the
// cost of time.Now per call. Lanes refresh it every flush interval, so it
// follows wall-clock adjustments with at most that delay.
type batchClock struct {
	wallMs int64
	mono   time.Time
}

func (b *Batcher) nowMillis() int64 {
	c := b.clock.Load()
	return c.wallMs + int64(time.Since(c.mono)/time.Millisecond)
}

func (b *Batcher) refreshClock() {
	t := time.Now()
	// Align mono to the millisecond boundary of wallMs.
	frac := time.Duration(t.UnixNano() % int64(time.Millisecond))
	b.clock.Store(&batchClock{wallMs: t.UnixMilli(), mono: t.Add(-frac)})
}

// BatcherStats is a snapshot of a Batcher's counters. Counts are entries
// (metric points, params and tags), except Retried and Batches.
type BatcherStats struct {
	// Enqueued is the number of entries accepted by enqueue calls.
	Enqueued int64
	// Sent is the number of entries MLflow acknowledged (including replayed ones).
	Sent int64
	// Retried is the number of log-batch attempts that were repeated.
	Retried int64
	// Failed is the number of entries rejected by MLflow or abandoned.
	Failed int64
	// Dropped is the number of entries dropped because the queue was full
	// (only with WithDropWhenFull).
	Dropped int64
	// Spooled is the number of entries written to the spool.
	Spooled int64
	// Replayed is the number of entries delivered from the spool.
	Replayed int64
	// Corrupt is the number of corrupt spool records skipped by replay.
	Corrupt int64
	// Batches is the number of successful log-batch requests.
	Batches int64
	// QueueDepth is the number of entries enqueued and not yet settled
	// (sent, failed, dropped or spooled).
	QueueDepth int64
	// QueueBytes is the memory held by queued entries, the quantity bounded
	// by WithMaxQueueBytes.
	QueueBytes int64
	// SpoolSegments is the number of spool segment files not yet replayed.
	SpoolSegments int
}

// BatchError reports entries of one run that the batcher could not log:
// MLflow rejected them (Err is then an *APIError, for example a param whose
// value changed), or they were abandoned at shutdown without a spool.
type BatchError struct {
	RunID                 string
	Metrics, Params, Tags int
	Err                   error
}

// Error returns a one-line description.
func (e *BatchError) Error() string {
	return fmt.Sprintf("client: batcher: run %s: %d metrics, %d params, %d tags not logged: %v",
		e.RunID, e.Metrics, e.Params, e.Tags, e.Err)
}

// Unwrap returns the underlying error.
func (e *BatchError) Unwrap() error { return e.Err }

// ErrQueueFull is reported (to the error handler, the logger and the next
// Flush) when entries were dropped because the queue was full.
var ErrQueueFull = errors.New("client: batcher: queue full, entries dropped")

// ErrSpooling is reported when MLflow could not be reached within the retry
// budget (or the queue was full) and entries are being written to the spool.
// It is a notice: the entries are kept on disk and replayed.
var ErrSpooling = errors.New("client: batcher: mlflow unreachable or queue full, spooling to disk")

// NewBatcher starts a Batcher that logs through c. It starts its sender
// goroutines (and, with a spool directory, opens and locks the directory and
// replays segments left there). Call Shutdown or Close to stop it.
func NewBatcher(c *Client, opts ...BatcherOption) (*Batcher, error) {
	if c == nil {
		return nil, errors.New("client: batcher: nil client")
	}
	s := defaultBatcherSettings()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&s); err != nil {
			return nil, err
		}
	}
	if s.syncSpool && s.spoolDir == "" {
		return nil, errors.New("client: batcher: WithSyncSpool needs WithSpoolDir")
	}
	if s.logger == nil {
		s.logger = c.logger
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	b := &Batcher{
		c:          c,
		s:          s,
		log:        s.logger,
		seed:       maphash.MakeSeed(),
		closedCh:   make(chan struct{}),
		stopped:    make(chan struct{}),
		spaceCh:    make(chan struct{}),
		progressCh: make(chan struct{}),
	}
	b.hardCtx, b.hardCancel = context.WithCancel(context.Background())
	b.refreshClock()
	nShards := 1
	for nShards < s.senders*4 {
		nShards <<= 1
	}
	b.shards = make([]batcherShard, nShards)
	b.shardMask = uint64(nShards - 1)
	for i := range b.shards {
		b.shards[i].runs = make(map[string]*runQueue)
	}
	b.work = make(chan struct{}, s.senders)
	b.lanes = make([]*batcherLane, s.senders)
	for i := range b.lanes {
		b.lanes[i] = newBatcherLane(b, i)
	}
	if s.spoolDir != "" {
		sp, err := openSpool(s.spoolDir, s.segmentBytes, s.syncSpool)
		if err != nil {
			return nil, err
		}
		b.spool = sp
		b.rp = newReplayer(c, sp, b.log, replayConfig{
			workers:       s.senders,
			backoffMin:    s.backoffMin,
			probeInterval: s.probeInterval,
		}, b)
	}
	for _, l := range b.lanes {
		b.laneWG.Add(1)
		go l.run()
	}
	if b.rp != nil && (s.replayExisting || s.syncSpool) {
		b.rp.start(b.hardCtx)
	}
	return b, nil
}

// Stats returns a snapshot of the counters. It is safe to call at any time,
// including after Shutdown.
func (b *Batcher) Stats() BatcherStats {
	st := BatcherStats{
		Sent:       b.sent.Load(),
		Retried:    b.retried.Load(),
		Failed:     b.failed.Load(),
		Dropped:    b.dropped.Load(),
		Spooled:    b.spooled.Load(),
		Replayed:   b.replayed.Load(),
		Corrupt:    b.corrupt.Load(),
		Batches:    b.batches.Load(),
		QueueBytes: b.mem.Load(),
		Enqueued:   b.syncEnqueued.Load(),
	}
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		st.Enqueued += sh.enqueued
		st.QueueDepth += sh.depth
		sh.mu.Unlock()
	}
	if b.spool != nil {
		st.SpoolSegments = b.spool.segmentCount()
	}
	if r := b.rp; r != nil {
		rep := r.replayed.Load()
		st.Replayed += rep
		st.Sent += rep
		st.Failed += r.failed.Load()
		st.Corrupt += r.corrupt.Load()
		st.Batches += r.batches.Load()
	}
	return st
}

// report records a background failure: kept for the next Flush/Close,
// passed to the error handler and logged.
func (b *Batcher) report(err error) {
	b.errMu.Lock()
	if len(b.errs) < 16 {
		b.errs = append(b.errs, err)
	} else {
		b.errsDropped++
	}
	b.errMu.Unlock()
	b.log.Warn("client: batcher: background failure", "error", err.Error())
	if h := b.s.errorHandler; h != nil {
		h(err)
	}
}

// notice passes a non-failure event (spooling) to the handler and logger
// without making Flush fail.
func (b *Batcher) notice(err error) {
	b.log.Warn("client: batcher: notice", "error", err.Error())
	if h := b.s.errorHandler; h != nil {
		h(err)
	}
}

// takeErrors returns and clears the recorded failures.
func (b *Batcher) takeErrors() error {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	if len(b.errs) == 0 {
		return nil
	}
	errs := b.errs
	if b.errsDropped > 0 {
		errs = append(errs, fmt.Errorf("client: batcher: %d more failures not shown", b.errsDropped))
	}
	b.errs, b.errsDropped = nil, 0
	return errors.Join(errs...)
}

// signalProgress wakes Flush waiters.
func (b *Batcher) signalProgress() {
	b.progressMu.Lock()
	close(b.progressCh)
	b.progressCh = make(chan struct{})
	b.progressMu.Unlock()
}

func (b *Batcher) progress() <-chan struct{} {
	b.progressMu.Lock()
	defer b.progressMu.Unlock()
	return b.progressCh
}

// backoff returns the wait before attempt n (n >= 1) with jitter.
func backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	// Up to 25% jitter, from the clock (no shared RNG state).
	j := time.Duration(uint64(time.Now().UnixNano()) % uint64(d/4+1))
	return d - d/8 + j
}
