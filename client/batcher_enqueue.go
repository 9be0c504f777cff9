package client

import (
	"context"
	"hash/maphash"
	"sync"
	"unsafe"
)

// Queue layout: runs are spread over shards by a hash of the run ID; each
// shard has a mutex and a map of run queues. A run queue interns its metric
// keys (validated once, on first use) and holds points in fixed-size chunks
// of compact entries, so enqueuing a point allocates nothing once its run and
// key are known. Chunks are recycled through a free list; the bytes of
// chunks in use plus interned strings and queued params/tags are the queue
// memory bounded by WithMaxQueueBytes.

const chunkCap = 128

// mentry is one queued metric point.
type mentry struct {
	key   uint32
	value float64
	ts    int64
	step  int64
}

type chunk struct {
	off, n int
	e      [chunkCap]mentry
}

const chunkBytes = int64(unsafe.Sizeof(chunk{}))

// runQueue is the queue of one run. Fields are guarded by the shard mutex.
type runQueue struct {
	id       string
	keyIdx   map[string]uint32
	keys     []string
	chunks   []*chunk // FIFO; the last one is filled
	tail     *chunk
	params   []Param
	tags     []Tag
	pending  int   // metrics queued and not yet taken by a lane
	strBytes int64 // bytes accounted for interned keys
	enq      uint64
	settled  uint64
	idle     int
	inFlight bool   // a lane is sending a batch of this run
	taken    uint64 // entries taken by lanes (settled + in flight)
	flushTo  uint64 // Flush asked for entries up to here to be sent
}

type batcherShard struct {
	mu       sync.Mutex
	runs     map[string]*runQueue
	last     *runQueue
	enqueued int64
	depth    int64
	_        [64]byte
}

func (b *Batcher) shardFor(runID string) *batcherShard {
	return &b.shards[maphash.String(b.seed, runID)&b.shardMask]
}

// LogMetric enqueues one metric point, stamped with the current time. It
// validates runID and key synchronously (a *ValidationError), never does
// network I/O, and blocks only while the queue is full (the default policy).
// After Shutdown it returns ErrClosed. It is safe for concurrent use.
func (b *Batcher) LogMetric(runID, key string, value float64, step int64) error {
	return b.enqueueMetric(nil, runID, key, value, b.nowMillis(), step)
}

// LogMetricContext is LogMetric that gives up waiting for queue space when
// ctx ends, returning the context's error.
func (b *Batcher) LogMetricContext(ctx context.Context, runID, key string, value float64, step int64) error {
	return b.enqueueMetric(ctx, runID, key, value, b.nowMillis(), step)
}

// LogMetrics enqueues metric points of one run. A zero Timestamp is
// stamped with the current time; RunID fields are ignored. All points are
// validated before any is enqueued. ms is not modified or retained.
func (b *Batcher) LogMetrics(runID string, ms []Metric) error {
	return b.LogMetricsContext(nil, runID, ms) //nolint:staticcheck // nil ctx: wait without limit
}

// LogMetricsContext is LogMetrics that gives up waiting for queue space
// when ctx ends (points enqueued before that stay enqueued).
func (b *Batcher) LogMetricsContext(ctx context.Context, runID string, ms []Metric) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if err := validateRunID(runID); err != nil {
		return err
	}
	now := b.nowMillis()
	for i := range ms {
		m := ms[i]
		if m.Timestamp == 0 {
			m.Timestamp = now
		}
		if err := ValidateMetric(m); err != nil {
			return err
		}
	}
	if b.s.syncSpool {
		sb := &spoolBatch{RunID: runID, Metrics: make([]Metric, len(ms))}
		for i, m := range ms {
			if m.Timestamp == 0 {
				m.Timestamp = now
			}
			m.RunID = ""
			sb.Metrics[i] = m
		}
		return b.enqueueSync(sb)
	}
	for _, m := range ms {
		ts := m.Timestamp
		if ts == 0 {
			ts = now
		}
		if err := b.enqueueMetric(ctx, runID, m.Key, m.Value, ts, m.Step); err != nil {
			return err
		}
	}
	return nil
}

// enqueueMetric is the hot path. ctx may be nil (wait without limit).
func (b *Batcher) enqueueMetric(ctx context.Context, runID, key string, value float64, ts, step int64) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if b.s.syncSpool {
		m := Metric{Key: key, Value: value, Timestamp: ts, Step: step}
		if err := validateRunID(runID); err != nil {
			return err
		}
		if err := ValidateMetric(m); err != nil {
			return err
		}
		return b.enqueueSync(&spoolBatch{RunID: runID, Metrics: []Metric{m}})
	}
	sh := b.shardFor(runID)
	for {
		sh.mu.Lock()
		rq := sh.last
		if rq == nil || rq.id != runID {
			rq = sh.runs[runID]
			if rq == nil {
				sh.mu.Unlock()
				if err := b.addRun(sh, runID); err != nil {
					return err
				}
				continue
			}
			sh.last = rq
		}
		k, ok := rq.keyIdx[key]
		if !ok {
			sh.mu.Unlock()
			if err := b.addKey(sh, rq, key, value, ts, step); err != nil {
				return err
			}
			continue
		}
		c := rq.tail
		if c == nil || c.n == chunkCap {
			c = b.tryChunk()
			if c == nil {
				sh.mu.Unlock()
				if err := b.waitSpace(ctx); err != nil {
					if err == errDropped {
						return nil
					}
					return err
				}
				continue
			}
			rq.chunks = append(rq.chunks, c)
			rq.tail = c
		}
		c.e[c.n] = mentry{key: k, value: value, ts: ts, step: step}
		c.n++
		rq.pending++
		rq.enq++
		sh.enqueued++
		sh.depth++
		full := rq.pending == b.s.batchSize
		sh.mu.Unlock()
		if full {
			b.wakeLane()
		}
		return nil
	}
}

// addRun validates runID and creates its queue.
func (b *Batcher) addRun(sh *batcherShard, runID string) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	cost := int64(len(runID)) + 256
	b.mem.Add(cost)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.runs[runID]; ok {
		b.mem.Add(-cost)
		return nil
	}
	sh.runs[runID] = &runQueue{id: runID, keyIdx: make(map[string]uint32), strBytes: cost}
	return nil
}

// addKey validates a new metric key (with the point that introduced it)
// and interns it in rq.
func (b *Batcher) addKey(sh *batcherShard, rq *runQueue, key string, value float64, ts, step int64) error {
	if err := ValidateMetric(Metric{Key: key, Value: value, Timestamp: ts, Step: step}); err != nil {
		return err
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.runs[rq.id] != rq { // the run queue was retired meanwhile; the caller retries
		return nil
	}
	if _, ok := rq.keyIdx[key]; ok {
		return nil
	}
	cost := int64(len(key)) + 64
	b.mem.Add(cost)
	rq.strBytes += cost
	rq.keyIdx[key] = uint32(len(rq.keys))
	rq.keys = append(rq.keys, key)
	return nil
}

// LogParam enqueues a param. Validation errors are returned at once;
// a value that conflicts with one already logged is reported later (a
// *BatchError wrapping MLflow's 400 answer) and not retried.
func (b *Batcher) LogParam(runID, key, value string) error {
	return b.LogParamsContext(nil, runID, []Param{{Key: key, Value: value}})
}

// LogParams enqueues params of one run; see LogParam. ps is not modified or retained.
func (b *Batcher) LogParams(runID string, ps []Param) error {
	return b.LogParamsContext(nil, runID, ps)
}

// LogParamsContext is LogParams that gives up waiting for queue space when ctx ends.
func (b *Batcher) LogParamsContext(ctx context.Context, runID string, ps []Param) error {
	return b.enqueueStrings(ctx, runID, ps, nil)
}

// SetTag enqueues a run tag (the last value set wins on the server).
func (b *Batcher) SetTag(runID, key, value string) error {
	return b.SetTagsContext(nil, runID, []Tag{{Key: key, Value: value}})
}

// SetTags enqueues tags of one run. ts is not modified or retained.
func (b *Batcher) SetTags(runID string, ts []Tag) error {
	return b.SetTagsContext(nil, runID, ts)
}

// SetTagsContext is SetTags that gives up waiting for queue space when ctx ends.
func (b *Batcher) SetTagsContext(ctx context.Context, runID string, ts []Tag) error {
	return b.enqueueStrings(ctx, runID, nil, ts)
}

func (b *Batcher) enqueueStrings(ctx context.Context, runID string, ps []Param, ts []Tag) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if err := validateRunID(runID); err != nil {
		return err
	}
	var cost int64
	for _, p := range ps {
		if err := ValidateParam(p); err != nil {
			return err
		}
		cost += int64(len(p.Key)+len(p.Value)) + 32
	}
	for _, t := range ts {
		if err := ValidateTag(t); err != nil {
			return err
		}
		cost += int64(len(t.Key)+len(t.Value)) + 32
	}
	if len(ps)+len(ts) == 0 {
		return nil
	}
	if b.s.syncSpool {
		return b.enqueueSync(&spoolBatch{RunID: runID, Params: append([]Param(nil), ps...), Tags: append([]Tag(nil), ts...)})
	}
	sh := b.shardFor(runID)
	for {
		if !b.reserve(cost) {
			if err := b.waitSpace(ctx); err != nil {
				if err == errDropped {
					b.dropped.Add(int64(len(ps) + len(ts) - 1)) // waitSpace counted one
					return nil
				}
				return err
			}
			continue
		}
		sh.mu.Lock()
		rq := sh.runs[runID]
		if rq == nil {
			sh.mu.Unlock()
			b.release(cost)
			if err := b.addRun(sh, runID); err != nil {
				return err
			}
			continue
		}
		rq.params = append(rq.params, ps...)
		rq.tags = append(rq.tags, ts...)
		n := len(ps) + len(ts)
		rq.enq += uint64(n)
		sh.enqueued += int64(n)
		sh.depth += int64(n)
		full := len(rq.params) >= MaxParamsTagsPerBatch || len(rq.tags) >= MaxParamsTagsPerBatch
		sh.mu.Unlock()
		if full {
			b.wakeLane()
		}
		return nil
	}
}

// enqueueSync writes one record to the spool and fsyncs it (WithSyncSpool).
func (b *Batcher) enqueueSync(sb *spoolBatch) error {
	if err := b.spool.appendSync(sb); err != nil {
		return err
	}
	n := int64(sb.entities())
	b.syncEnqueued.Add(n)
	b.spooled.Add(n)
	b.rp.kick()
	return nil
}

// wakeLane wakes one idle lane to send full batches.
func (b *Batcher) wakeLane() {
	select {
	case b.work <- struct{}{}:
	default:
	}
}

// wakeAll makes every lane send everything queued.
func (b *Batcher) wakeAll() {
	b.flushSeq.Add(1)
	for range b.lanes {
		select {
		case b.work <- struct{}{}:
		default:
		}
	}
}

// reserve accounts n bytes if they fit under the bound.
func (b *Batcher) reserve(n int64) bool {
	for {
		cur := b.mem.Load()
		if cur+n > b.s.maxQueueBytes && cur > 0 {
			return false
		}
		if b.mem.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// release returns n bytes and wakes callers waiting for space.
func (b *Batcher) release(n int64) {
	b.mem.Add(-n)
	if b.waiters.Load() > 0 {
		b.spaceMu.Lock()
		close(b.spaceCh)
		b.spaceCh = make(chan struct{})
		b.spaceMu.Unlock()
	}
}

// tryChunk returns an empty chunk if one fits under the memory bound.
func (b *Batcher) tryChunk() *chunk {
	if !b.reserve(chunkBytes) {
		return nil
	}
	b.freeMu.Lock()
	if n := len(b.free); n > 0 {
		c := b.free[n-1]
		b.free = b.free[:n-1]
		b.freeMu.Unlock()
		return c
	}
	b.freeMu.Unlock()
	return new(chunk)
}

// putChunk recycles c and releases its bytes.
func (b *Batcher) putChunk(c *chunk) {
	c.off, c.n = 0, 0
	b.freeMu.Lock()
	if len(b.free) < 256 {
		b.free = append(b.free, c)
	}
	b.freeMu.Unlock()
	b.release(chunkBytes)
}

// errDropped tells the enqueue path that the entry was dropped (counted).
var errDropped = errDroppedT{}

type errDroppedT struct{}

func (errDroppedT) Error() string { return "client: batcher: dropped" }

// waitSpace handles a full queue: drop (counted), or move batches to the
// spool and wait, or wait for the senders.
func (b *Batcher) waitSpace(ctx context.Context) error {
	if b.s.drop && b.spool == nil {
		b.dropped.Add(1)
		if b.dropNoticed.CompareAndSwap(false, true) {
			b.report(ErrQueueFull)
		}
		return errDropped
	}
	b.waiters.Add(1)
	defer b.waiters.Add(-1)
	b.spaceMu.Lock()
	ch := b.spaceCh
	b.spaceMu.Unlock()
	if b.mem.Load()+chunkBytes <= b.s.maxQueueBytes {
		return nil
	}
	if b.spool != nil {
		b.startSpooling(ErrSpooling)
	}
	b.wakeAll()
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	select {
	case <-ch:
		return nil
	case <-done:
		return ctx.Err()
	case <-b.closedCh:
		return ErrClosed
	}
}
