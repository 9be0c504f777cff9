package client

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

const (
	logBatchPath = "/api/2.0/mlflow/runs/log-batch"
	// batchBodyBudget keeps a log-batch body under MLflow's ~1 MB limit.
	batchBodyBudget = 900_000
	// idlePassesBeforeRetire: a run queue that stayed empty this many flush
	// intervals is dropped from memory (its interned keys with it).
	idlePassesBeforeRetire = 120
)

// batcherLane is one sender. Lanes share the work: a lane takes the next
// batch of any run that has no batch in flight (runQueue.inFlight), so a
// run's batches are sent one at a time and in order, while different runs
// are sent concurrently by up to WithSenders lanes.
type batcherLane struct {
	b         *Batcher
	id        int
	stop      chan struct{}
	lastFlush uint64

	ready []*runQueue
	bt    laneBatch
	body  []byte
	rec   []byte
}

// laneBatch is a batch taken from one run queue, in lane-owned buffers.
type laneBatch struct {
	rq      *runQueue
	sh      *batcherShard
	keys    []string
	metrics []mentry
	params  []Param
	tags    []Tag
}

func (bt *laneBatch) entities() int { return len(bt.metrics) + len(bt.params) + len(bt.tags) }

func newBatcherLane(b *Batcher, id int) *batcherLane {
	return &batcherLane{
		b:    b,
		id:   id,
		stop: make(chan struct{}),
		bt:   laneBatch{metrics: make([]mentry, 0, MaxMetricsPerBatch)},
	}
}

func (l *batcherLane) run() {
	defer l.b.laneWG.Done()
	t := time.NewTicker(l.b.s.flushInterval)
	defer t.Stop()
	for {
		select {
		case <-l.b.work:
			all := false
			if seq := l.b.flushSeq.Load(); seq != l.lastFlush {
				l.lastFlush, all = seq, true
			}
			l.drain(all, false)
		case <-t.C:
			if l.id == 0 {
				l.b.refreshClock()
			}
			l.drain(true, l.id == 0)
		case <-l.stop:
			l.drain(true, false)
			return
		}
	}
}

// ready reports whether rq has a batch to send now: a full one, or
// entries a Flush is waiting for. The shard mutex must be held.
func (rq *runQueue) ready(batchSize int) bool {
	if rq.inFlight {
		return false
	}
	return rq.pending >= batchSize || len(rq.params) >= MaxParamsTagsPerBatch || len(rq.tags) >= MaxParamsTagsPerBatch ||
		(rq.taken < rq.flushTo && (rq.pending > 0 || len(rq.params) > 0 || len(rq.tags) > 0))
}

// drain sends what is ready: with all, everything queued at the start of
// the pass; otherwise only full batches. retire (lane 0, on its interval
// pass) also drops run queues idle for idlePassesBeforeRetire intervals.
func (l *batcherLane) drain(all, retire bool) {
	b := l.b
	var retired []*runQueue
	n := len(b.shards)
	for {
		progressed := false
		for i := 0; i < n; i++ {
			// Lanes start at different shards to spread over the runs.
			sh := &b.shards[(i+l.id*n/len(b.lanes))%n]
			sh.mu.Lock()
			l.ready = l.ready[:0]
			for id, rq := range sh.runs {
				if rq.pending == 0 && len(rq.params) == 0 && len(rq.tags) == 0 {
					if retire && rq.enq == rq.settled && !rq.inFlight {
						rq.idle++
						if rq.idle > idlePassesBeforeRetire {
							delete(sh.runs, id)
							if sh.last == rq {
								sh.last = nil
							}
							retired = append(retired, rq)
						}
					}
					continue
				}
				rq.idle = 0
				if rq.inFlight {
					continue
				}
				if all || rq.ready(b.s.batchSize) {
					l.ready = append(l.ready, rq)
				}
			}
			sh.mu.Unlock()
			for _, rq := range retired {
				for _, c := range rq.chunks {
					b.putChunk(c)
				}
				rq.chunks, rq.tail = nil, nil
				b.release(rq.strBytes)
			}
			retired = retired[:0]
			for _, rq := range l.ready {
				// With all, send what was queued when the pass started;
				// otherwise full batches only.
				sh.mu.Lock()
				budget := rq.pending + len(rq.params) + len(rq.tags)
				sh.mu.Unlock()
				for budget > 0 {
					k := l.take(sh, rq, all)
					if k == 0 {
						break
					}
					budget -= k
					progressed = true
					l.deliver()
				}
			}
		}
		if !progressed || all {
			if all {
				all = false
				continue
			}
			return
		}
	}
}

// take moves one batch of rq into l.bt and returns its entity count. Params
// go in batches of their own (so a conflicting param value cannot fail a
// batch of metrics); metrics share batches with tags.
func (l *batcherLane) take(sh *batcherShard, rq *runQueue, all bool) int {
	b := l.b
	bt := &l.bt
	bt.rq, bt.sh = rq, sh
	bt.metrics = bt.metrics[:0]
	bt.params = bt.params[:0]
	bt.tags = bt.tags[:0]
	var released int64
	var freed []*chunk
	sh.mu.Lock()
	if rq.inFlight { // another lane is sending this run's previous batch
		sh.mu.Unlock()
		return 0
	}
	all = all || rq.taken < rq.flushTo
	if len(rq.params) > 0 && (all || len(rq.params) >= MaxParamsTagsPerBatch) {
		size := 0
		n := 0
		for n < len(rq.params) && n < MaxParamsTagsPerBatch {
			p := rq.params[n]
			sz := len(p.Key) + len(p.Value) + 32
			if n > 0 && size+sz > batchBodyBudget {
				break
			}
			size += sz
			released += int64(sz)
			n++
		}
		bt.params = append(bt.params, rq.params[:n]...)
		clear(rq.params[:n])
		rq.params = rq.params[n:]
		if len(rq.params) == 0 {
			rq.params = nil
		}
	} else {
		size := 0
		if len(rq.tags) > 0 && (all || len(rq.tags) >= MaxParamsTagsPerBatch || rq.pending >= b.s.batchSize) {
			n := 0
			for n < len(rq.tags) && n < MaxParamsTagsPerBatch {
				t := rq.tags[n]
				sz := len(t.Key) + len(t.Value) + 32
				if n > 0 && size+sz > batchBodyBudget/2 {
					break
				}
				size += sz
				released += int64(sz)
				n++
			}
			bt.tags = append(bt.tags, rq.tags[:n]...)
			clear(rq.tags[:n])
			rq.tags = rq.tags[n:]
			if len(rq.tags) == 0 {
				rq.tags = nil
			}
		}
		limit := b.s.batchSize
		if limit > MaxEntitiesPerBatch-len(bt.tags) {
			limit = MaxEntitiesPerBatch - len(bt.tags)
		}
		if !all && rq.pending < limit && len(bt.tags) == 0 {
			limit = 0
		}
		// Keys are at most 250 characters: 1000 metrics stay far below
		// the body budget.
		for len(bt.metrics) < limit && len(rq.chunks) > 0 {
			c := rq.chunks[0]
			k := c.n - c.off
			if room := limit - len(bt.metrics); k > room {
				k = room
			}
			bt.metrics = append(bt.metrics, c.e[c.off:c.off+k]...)
			c.off += k
			rq.pending -= k
			if c.off == c.n && (c.n == chunkCap || c == rq.tail) {
				rq.chunks[0] = nil
				rq.chunks = rq.chunks[1:]
				if c == rq.tail {
					rq.tail = nil
				}
				freed = append(freed, c)
			} else if c.off == c.n {
				break
			}
		}
		if len(rq.chunks) == 0 {
			rq.chunks = nil
		}
	}
	bt.keys = rq.keys
	rq.inFlight = bt.entities() > 0
	rq.taken += uint64(bt.entities())
	sh.mu.Unlock()
	for _, c := range freed {
		b.putChunk(c)
	}
	if released > 0 {
		b.release(released)
	}
	return bt.entities()
}

// deliver sends l.bt: directly, or to the spool when the batcher is
// spooling, retrying transient failures within the retry budget.
func (l *batcherLane) deliver() {
	b := l.b
	bt := &l.bt
	if bt.entities() == 0 {
		return
	}
	if b.spool != nil && b.spool.spoolingNow() {
		if l.spoolBatch(false) {
			return
		}
	}
	l.body = l.encodeJSON(l.body[:0])
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := l.sendOnce(l.body)
		if err == nil {
			b.batches.Add(1)
			l.settle(&b.sent, nil)
			return
		}
		if !IsRetryable(err) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			if len(bt.params) > 1 && errors.Is(err, ErrInvalidParameter) {
				l.splitParams()
				return
			}
			b.failed.Add(int64(bt.entities()))
			l.settle(nil, l.batchError(err))
			return
		}
		hard := b.hardCtx.Err() != nil
		spooling := b.spool != nil && b.spool.spoolingNow()
		if !hard && !spooling {
			b.retried.Add(1)
		}
		if b.spool != nil && (hard || spooling || time.Since(start) > b.s.retryBudget) {
			l.spoolBatch(true)
			return
		}
		if hard || time.Since(start) > b.s.retryBudget {
			b.failed.Add(int64(bt.entities()))
			l.settle(nil, l.batchError(err))
			return
		}
		t := time.NewTimer(backoff(attempt, b.s.backoffMin, b.s.backoffMax))
		var spoolOn <-chan struct{}
		if b.spool != nil {
			spoolOn = b.spool.onChan()
		}
		select {
		case <-t.C:
		case <-spoolOn:
			t.Stop()
		case <-b.hardCtx.Done():
			t.Stop()
		}
	}
}

// sendOnce makes one log-batch attempt. The attempt is abandoned when the
// batcher starts spooling or Shutdown's deadline passes.
func (l *batcherLane) sendOnce(body []byte) error {
	b := l.b
	ctx, cancel := context.WithCancel(b.hardCtx)
	defer cancel()
	if b.spool != nil {
		on := b.spool.onChan()
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-on:
				cancel()
			case <-done:
			}
		}()
	}
	return b.c.doJSON(ctx, http.MethodPost, logBatchPath, body, nil, false)
}

// splitParams re-sends a rejected params batch one param at a time, so only
// the conflicting params fail.
func (l *batcherLane) splitParams() {
	b := l.b
	bt := &l.bt
	all := append([]Param(nil), bt.params...)
	n := len(all)
	var errs []error
	for _, p := range all {
		bt.params = append(bt.params[:0], p)
		bt.metrics = bt.metrics[:0]
		bt.tags = bt.tags[:0]
		body := l.encodeJSON(nil)
		var err error
		for attempt := 1; ; attempt++ {
			err = l.sendOnce(body)
			if err == nil || !IsRetryable(err) || attempt >= 5 {
				break
			}
			time.Sleep(backoff(attempt, b.s.backoffMin, b.s.backoffMax))
		}
		if err == nil {
			b.batches.Add(1)
			b.sent.Add(1)
			continue
		}
		b.failed.Add(1)
		errs = append(errs, &BatchError{RunID: bt.rq.id, Params: 1, Err: err})
	}
	// Settle the whole original batch once.
	bt.params = bt.params[:0]
	l.settleN(n, errors.Join(errs...))
}

func (l *batcherLane) batchError(err error) error {
	bt := &l.bt
	return &BatchError{RunID: bt.rq.id, Metrics: len(bt.metrics), Params: len(bt.params), Tags: len(bt.tags), Err: err}
}

// spoolBatch writes l.bt to the spool. With force it turns spooling on;
// without it, it writes only if the batcher is spooling and reports whether
// it did. On a spool write error the batch is counted failed.
func (l *batcherLane) spoolBatch(force bool) bool {
	b := l.b
	l.rec = l.encodeSpool(l.rec[:0])
	ok, err := b.spool.appendPayload(l.rec, force)
	if err != nil {
		b.failed.Add(int64(l.bt.entities()))
		l.settle(nil, l.batchError(err))
		return true
	}
	if !ok {
		return false
	}
	if force {
		b.startSpooling(ErrSpooling)
	}
	b.rp.kick()
	l.settle(&b.spooled, nil)
	return true
}

// startSpooling turns the spool on (if it was not) and reports it once.
func (b *Batcher) startSpooling(reason error) {
	if b.spool.setSpooling() {
		b.notice(reason)
		b.wakeAll()
	}
}

func (l *batcherLane) settle(counter *atomic.Int64, err error) {
	n := l.bt.entities()
	if counter != nil {
		counter.Add(int64(n))
	}
	l.settleN(n, err)
}

func (l *batcherLane) settleN(n int, err error) {
	bt := &l.bt
	bt.sh.mu.Lock()
	bt.rq.settled += uint64(n)
	bt.rq.inFlight = false
	bt.sh.depth -= int64(n)
	more := bt.rq.ready(l.b.s.batchSize)
	bt.sh.mu.Unlock()
	if more {
		l.b.wakeLane()
	}
	if err != nil {
		l.b.report(err)
	}
	l.b.signalProgress()
}

// encodeJSON appends the log-batch body of l.bt to dst.
func (l *batcherLane) encodeJSON(dst []byte) []byte {
	bt := &l.bt
	dst = append(dst, `{"run_id":`...)
	dst = appendString(dst, bt.rq.id)
	if len(bt.metrics) > 0 {
		dst = append(dst, `,"metrics":[`...)
		for i := range bt.metrics {
			e := &bt.metrics[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendMetricEntry(dst, bt.keys[e.key], e.value, e.ts, e.step)
		}
		dst = append(dst, ']')
	}
	return append(appendParamsAndTags(dst, bt.params, bt.tags), '}')
}

func appendMetricEntry(dst []byte, key string, v float64, ts, step int64) []byte {
	dst = append(dst, `{"key":`...)
	dst = appendString(dst, key)
	dst = append(dst, `,"value":`...)
	dst = appendFloat(dst, v)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	dst = append(dst, `,"step":`...)
	dst = strconv.AppendInt(dst, step, 10)
	return append(dst, '}')
}

// encodeSpool appends the spool payload of l.bt to dst.
func (l *batcherLane) encodeSpool(dst []byte) []byte {
	bt := &l.bt
	dst = append(dst, spoolKindBatch)
	dst = appendSpoolString(dst, bt.rq.id)
	dst = binary.AppendUvarint(dst, uint64(len(bt.metrics)))
	for i := range bt.metrics {
		e := &bt.metrics[i]
		dst = appendSpoolMetric(dst, bt.keys[e.key], e.value, e.ts, e.step)
	}
	dst = binary.AppendUvarint(dst, uint64(len(bt.params)))
	for _, p := range bt.params {
		dst = appendSpoolString(appendSpoolString(dst, p.Key), p.Value)
	}
	dst = binary.AppendUvarint(dst, uint64(len(bt.tags)))
	for _, t := range bt.tags {
		dst = appendSpoolString(appendSpoolString(dst, t.Key), t.Value)
	}
	return dst
}
