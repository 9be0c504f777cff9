package client

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Flush sends everything enqueued before the call and waits until each of
// those entries is settled: acknowledged by MLflow, written to the spool
// (and fsynced), or failed. When the spool holds entries and MLflow is
// reachable, Flush also waits for them to be replayed; while MLflow is
// unreachable, spooled entries count as settled. It returns the background
// failures recorded since the previous Flush (a join of *BatchError and
// other errors), or ctx's error if ctx ends first. After Shutdown it returns
// ErrClosed. Flush satisfies Flusher, so a Batcher can be passed as
// RunOptions.Flusher to end a run only after its points are flushed.
func (b *Batcher) Flush(ctx context.Context) error {
	if b.closed.Load() {
		return ErrClosed
	}
	return b.flush(ctx)
}

type flushTarget struct {
	sh  *batcherShard
	rq  *runQueue
	enq uint64
}

func (b *Batcher) flush(ctx context.Context) error {
	var targets []flushTarget
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		for _, rq := range sh.runs {
			if rq.enq > rq.settled {
				targets = append(targets, flushTarget{sh: sh, rq: rq, enq: rq.enq})
				rq.flushTo = rq.enq
			}
		}
		sh.mu.Unlock()
	}
	b.wakeAll()
	for len(targets) > 0 {
		ch := b.progress()
		t := targets[len(targets)-1]
		t.sh.mu.Lock()
		settled := t.rq.settled
		t.sh.mu.Unlock()
		if settled >= t.enq {
			targets = targets[:len(targets)-1]
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return errors.Join(b.takeErrors(), context.Cause(ctx))
		}
	}
	if b.spool != nil {
		if err := b.spool.sync(); err != nil {
			b.report(err)
		}
		if id, ok := b.spool.mark(); ok && (b.s.replayExisting || b.s.syncSpool) {
			// Make an attempt now; stop waiting only if MLflow fails an
			// attempt made after this Flush began.
			gen := b.rp.failGen.Load()
			b.rp.retryNow()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for !b.spool.drainedThrough(id) && !(b.rp.unreachable.Load() && b.rp.failGen.Load() > gen) {
				select {
				case <-b.progress():
				case <-tick.C:
				case <-ctx.Done():
					return errors.Join(b.takeErrors(), context.Cause(ctx))
				}
			}
		}
	}
	return b.takeErrors()
}

// Shutdown stops accepting entries (later calls return ErrClosed), flushes
// like Flush, stops the senders and the replayer, and closes the spool. If
// ctx ends first, in-flight sends are abandoned: their entries, and any
// still queued, are written to the spool when there is one, and counted as
// failed otherwise. Entries left in the spool are replayed by the next
// Batcher on the same directory, or by ReplaySpool. It runs once; later
// calls return ErrClosed. It returns the background failures not yet
// returned by Flush.
func (b *Batcher) Shutdown(ctx context.Context) error {
	first := false
	b.stopOnce.Do(func() { first = true })
	if !first {
		<-b.stopped
		return ErrClosed
	}
	defer close(b.stopped)
	b.closed.Store(true)
	close(b.closedCh)
	stopHard := context.AfterFunc(ctx, b.hardCancel)
	defer stopHard()
	var errs []error
	if err := b.flush(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, l := range b.lanes {
		close(l.stop)
	}
	b.laneWG.Wait()
	// An enqueue call racing with Shutdown may have added entries after the
	// lanes' last pass: count and report them rather than lose them silently.
	var late int64
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		late += sh.depth
		sh.depth = 0
		sh.mu.Unlock()
	}
	if late > 0 {
		b.failed.Add(late)
		b.report(fmt.Errorf("client: batcher: %d entries enqueued during shutdown were not sent: %w", late, ErrClosed))
	}
	b.hardCancel()
	if b.rp != nil && b.rp.started.Load() {
		<-b.rp.done
	}
	if b.spool != nil {
		if err := b.spool.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := b.takeErrors(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Close is Shutdown bounded by the close timeout (WithCloseTimeout,
// default 30 s).
func (b *Batcher) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), b.s.closeTimeout)
	defer cancel()
	return b.Shutdown(ctx)
}

// Replay replays the spool now (cutting short the background probe's wait)
// and waits until the spool is empty or ctx ends. It needs WithSpoolDir.
// It returns the background failures recorded so far, or ctx's error.
func (b *Batcher) Replay(ctx context.Context) error {
	if b.spool == nil {
		return errors.New("client: batcher: replay needs WithSpoolDir")
	}
	if b.closed.Load() {
		return ErrClosed
	}
	b.rp.start(b.hardCtx)
	b.rp.retryNow()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for b.spool.segmentCount() > 0 || (!b.s.syncSpool && b.spool.spoolingNow()) {
		select {
		case <-b.progress():
		case <-tick.C:
		case <-ctx.Done():
			return errors.Join(b.takeErrors(), context.Cause(ctx))
		}
	}
	return b.takeErrors()
}
