package client

import (
	"errors"
	"log/slog"
	"time"
)

// Batcher defaults.
const (
	// DefaultBatcherMaxQueueBytes bounds the memory held by queued entries.
	// With it, a process that enqueues 1,000,000 points while MLflow is down
	// stays under 64 MiB RSS (the rest goes to the spool, or callers block).
	DefaultBatcherMaxQueueBytes = 24 << 20
	// DefaultBatcherFlushInterval is how long a partial batch may wait.
	DefaultBatcherFlushInterval = time.Second
	// DefaultBatcherSenders is the number of concurrent sender lanes.
	DefaultBatcherSenders = 4
	// DefaultBatcherRetryBudget is how long a batch is retried before it is
	// spooled (with a spool directory) or reported as failed (without).
	DefaultBatcherRetryBudget = 2 * time.Minute
	// DefaultBatcherCloseTimeout bounds Close.
	DefaultBatcherCloseTimeout = 30 * time.Second
	// DefaultSpoolSegmentBytes is the size at which a spool segment is
	// rotated (and fsynced).
	DefaultSpoolSegmentBytes = 8 << 20
	// DefaultSpoolProbeInterval is the longest wait between replay attempts
	// while MLflow is unreachable.
	DefaultSpoolProbeInterval = 10 * time.Second
)

// BatcherOption configures a Batcher. Options validate their arguments and
// return an error from NewBatcher when invalid.
type BatcherOption func(*batcherSettings) error

type batcherSettings struct {
	maxQueueBytes  int64
	flushInterval  time.Duration
	senders        int
	batchSize      int
	drop           bool
	retryBudget    time.Duration
	backoffMin     time.Duration
	backoffMax     time.Duration
	closeTimeout   time.Duration
	spoolDir       string
	syncSpool      bool
	segmentBytes   int64
	probeInterval  time.Duration
	errorHandler   func(error)
	logger         *slog.Logger
	replayExisting bool
}

func defaultBatcherSettings() batcherSettings {
	return batcherSettings{
		maxQueueBytes:  DefaultBatcherMaxQueueBytes,
		flushInterval:  DefaultBatcherFlushInterval,
		senders:        DefaultBatcherSenders,
		batchSize:      MaxMetricsPerBatch,
		retryBudget:    DefaultBatcherRetryBudget,
		backoffMin:     100 * time.Millisecond,
		backoffMax:     5 * time.Second,
		closeTimeout:   DefaultBatcherCloseTimeout,
		segmentBytes:   DefaultSpoolSegmentBytes,
		probeInterval:  DefaultSpoolProbeInterval,
		replayExisting: true,
	}
}

// WithMaxQueueBytes bounds the memory of queued entries (default
// DefaultBatcherMaxQueueBytes, at least 1 MiB). When the bound is reached,
// callers block (default), entries are dropped (WithDropWhenFull) or, with a
// spool directory, the oldest queued batches are moved to the spool.
func WithMaxQueueBytes(n int64) BatcherOption {
	return func(s *batcherSettings) error {
		if n < 1<<20 {
			return errors.New("client: batcher: max queue bytes must be at least 1 MiB")
		}
		s.maxQueueBytes = n
		return nil
	}
}

// WithFlushInterval sets how long a partial batch may wait before it is
// sent (default 1 s, at least 1 ms).
func WithFlushInterval(d time.Duration) BatcherOption {
	return func(s *batcherSettings) error {
		if d < time.Millisecond {
			return errors.New("client: batcher: flush interval must be at least 1ms")
		}
		s.flushInterval = d
		return nil
	}
}

// WithSenders sets the number of concurrent sender lanes (default 4,
// 1..256). A run has at most one batch in flight, so its batches are sent
// one at a time and in order; different runs are sent concurrently. An
// MLflow server on SQLite serializes writes, so more senders do not help it;
// raise this for a server with several workers on Postgres or MySQL.
func WithSenders(n int) BatcherOption {
	return func(s *batcherSettings) error {
		if n < 1 || n > 256 {
			return errors.New("client: batcher: senders must be in 1..256")
		}
		s.senders = n
		return nil
	}
}

// WithBatchSize sets the number of metrics that triggers a send of a run's
// batch (default and maximum 1000, MLflow's per-request limit).
func WithBatchSize(n int) BatcherOption {
	return func(s *batcherSettings) error {
		if n < 1 || n > MaxMetricsPerBatch {
			return errors.New("client: batcher: batch size must be in 1..1000")
		}
		s.batchSize = n
		return nil
	}
}

// WithDropWhenFull makes enqueue calls drop entries, instead of blocking,
// when the queue is at its memory bound and there is no spool. Every drop is
// counted in Stats().Dropped and reported to the error handler and logger.
func WithDropWhenFull() BatcherOption {
	return func(s *batcherSettings) error {
		s.drop = true
		return nil
	}
}

// WithRetryBudget sets how long a batch is retried on transient failures
// (default 2 min). Past it the batch is spooled if a spool directory is set,
// and reported as failed otherwise.
func WithRetryBudget(d time.Duration) BatcherOption {
	return func(s *batcherSettings) error {
		if d < 0 {
			return errors.New("client: batcher: retry budget must not be negative")
		}
		s.retryBudget = d
		return nil
	}
}

// WithRetryBackoff sets the first and the longest wait between attempts of a
// batch (default 100 ms and 5 s; the wait doubles, with jitter).
func WithRetryBackoff(min, max time.Duration) BatcherOption {
	return func(s *batcherSettings) error {
		if min <= 0 || max < min {
			return errors.New("client: batcher: backoff needs 0 < min <= max")
		}
		s.backoffMin, s.backoffMax = min, max
		return nil
	}
}

// WithCloseTimeout sets the bound of Close (default 30 s).
func WithCloseTimeout(d time.Duration) BatcherOption {
	return func(s *batcherSettings) error {
		if d <= 0 {
			return errors.New("client: batcher: close timeout must be positive")
		}
		s.closeTimeout = d
		return nil
	}
}

// WithSpoolDir enables the spool: batches that cannot be delivered within
// the retry budget, or that would push the queue past its memory bound, are
// appended to segment files in dir (created if missing) and replayed in
// order when MLflow answers again. Segments left by an earlier process are
// replayed too. One batcher (or ReplaySpool) may use a directory at a time.
func WithSpoolDir(dir string) BatcherOption {
	return func(s *batcherSettings) error {
		if dir == "" {
			return errors.New("client: batcher: spool dir must not be empty")
		}
		s.spoolDir = dir
		return nil
	}
}

// WithSyncSpool makes every enqueue call write its entries to the spool and
// fsync before returning, and sends only from the spool: nothing that an
// enqueue call accepted is lost if the process is killed. It costs one
// fsync per call. It needs WithSpoolDir.
func WithSyncSpool() BatcherOption {
	return func(s *batcherSettings) error {
		s.syncSpool = true
		return nil
	}
}

// WithSpoolSegmentBytes sets the size at which spool segments rotate
// (default 8 MiB, at least 64 KiB).
func WithSpoolSegmentBytes(n int64) BatcherOption {
	return func(s *batcherSettings) error {
		if n < 64<<10 {
			return errors.New("client: batcher: spool segment size must be at least 64 KiB")
		}
		s.segmentBytes = n
		return nil
	}
}

// WithSpoolProbeInterval sets the longest wait between replay attempts
// while MLflow is unreachable (default 10 s).
func WithSpoolProbeInterval(d time.Duration) BatcherOption {
	return func(s *batcherSettings) error {
		if d < time.Millisecond {
			return errors.New("client: batcher: probe interval must be at least 1ms")
		}
		s.probeInterval = d
		return nil
	}
}

// WithErrorHandler sets a function called (from a background goroutine) with
// every background failure: failed batches, drops and spooling. It must not
// block for long.
func WithErrorHandler(h func(error)) BatcherOption {
	return func(s *batcherSettings) error {
		if h == nil {
			return errors.New("client: batcher: error handler must not be nil")
		}
		s.errorHandler = h
		return nil
	}
}

// WithBatcherLogger sets the batcher's logger (default: the client's).
func WithBatcherLogger(l *slog.Logger) BatcherOption {
	return func(s *batcherSettings) error {
		if l == nil {
			return errors.New("client: batcher: logger must not be nil")
		}
		s.logger = l
		return nil
	}
}

// WithoutSpoolReplay stops the batcher from replaying spool segments in the
// background; Replay still does. Useful to inspect a spool.
func WithoutSpoolReplay() BatcherOption {
	return func(s *batcherSettings) error {
		s.replayExisting = false
		return nil
	}
}
