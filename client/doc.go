// Package client is a Go client for the MLflow tracking REST API, built for
// pipelines that log model metrics: experiments, runs, params, tags,
// stepped metrics, datasets, metric history and the model registry.
//
// A Client is created with New (explicit tracking URI and options) or
// NewFromEnv (the MLFLOW_* environment variables of MLflow's Python client).
// It is immutable and safe for concurrent use. Every call takes a context
// and validates its input with MLflow's own rules before sending anything.
//
//	c, err := client.NewFromEnv()
//	run, err := c.StartRun(ctx, client.RunOptions{ExperimentName: "churn-de", RunName: "daily"})
//	defer run.End(ctx, &err)
//	err = c.LogBatch(ctx, run.ID(), client.Batch{Metrics: points})
//
// # Tracking URI
//
// The tracking URI is http:// or https:// and may carry a path prefix when
// MLflow runs behind a proxy ("https://ml.example.com/mlflow"); every API
// path is appended to it. RunURL builds UI links under the same prefix.
//
// # Authentication
//
// Basic auth (WithBasicAuth, MLFLOW_TRACKING_USERNAME/_PASSWORD or
// ~/.mlflow/credentials) wins over a bearer token (WithBearerToken,
// MLFLOW_TRACKING_TOKEN), as in MLflow. TLS is configured with WithTLSConfig
// or the MLFLOW_TRACKING_INSECURE_TLS / _SERVER_CERT_PATH / _CLIENT_CERT_PATH
// variables (INSECURE_TLS together with SERVER_CERT_PATH is an error).
// WithRequestSigner adds request signing (AWS SigV4). Credentials never
// appear in errors, log lines or span attributes.
//
// # Errors
//
// A non-2xx answer is an *APIError carrying the HTTP status, MLflow's
// error_code, the message, the method and the API path. errors.Is maps it
// onto ErrNotFound, ErrAlreadyExists, ErrInvalidParameter,
// ErrUnauthenticated, ErrPermissionDenied, ErrRateLimited, ErrUnavailable
// and ErrInternal using MLflow's error-code table, or the HTTP status when
// the body is not MLflow JSON (Flask's HTML 500 page, the plain-text 403 of
// MLflow's host check). Error bodies are read up to 1 MiB. Input rejected
// before any request is a *ValidationError naming the field and the rule;
// it matches ErrInvalidParameter. IsRetryable tells transient failures apart.
//
// # Retries and idempotency
//
// Retries use github.com/hashicorp/go-retryablehttp with MLflow's policy:
// HTTP 408, 429, 500, 502, 503, 504 and network errors are retried up to
// 7 times; the wait before retry n is 0 for the first retry, then
// 2s·2^(n-1) plus up to 1 s of jitter, capped at 120 s (urllib3's
// schedule); Retry-After is honoured on 413, 429 and 503 (capped at 120 s).
// Each attempt is limited to 120 s; the whole call is bounded by its
// context. See RetryPolicy and WithTimeout. Which calls are retried:
//
//	endpoint                      retried  why it is safe
//	experiments/get, get-by-name  yes      read-only
//	experiments/search, runs/get  yes      read-only
//	runs/search, metrics/*        yes      read-only
//	registered-models/alias GET   yes      read-only
//	experiments/create            no       a retry after success would fail with ALREADY_EXISTS;
//	                                       GetOrCreateExperiment recovers by looking the name up
//	experiments/set-experiment-tag yes     last write wins
//	experiments/delete, restore   yes      setting a state is idempotent
//	runs/create                   special  not retried by the transport; CreateRun adds the tag
//	                                       mlwatch.requestId=<uuid> and, before re-sending after an
//	                                       ambiguous failure, searches the experiment for a run with
//	                                       that tag and returns it instead of creating a second run
//	                                       (after a timeout it first lets the server settle, up to
//	                                       10 s; a failed search is repeated, never followed by a
//	                                       create); runs left by earlier attempts are deleted
//	runs/update, delete, restore  yes      setting a state is idempotent
//	runs/set-tag                  yes      last write wins
//	runs/delete-tag               yes      a retry after success reports ErrNotFound
//	runs/log-parameter            yes      the same (key, value) again is a no-op on the server
//	runs/log-metric, log-batch    yes      timestamps are fixed before the first attempt, so a retry
//	                                       re-sends identical points and MLflow's SQL store drops
//	                                       exact duplicates (MLflow ≥ 3.10; NaN points needed PR #24683;
//	                                       the file store appends duplicates)
//	runs/log-inputs               yes      datasets are deduplicated by name and digest
//	registered-models/create      no       a retry after success would fail with ALREADY_EXISTS
//	model-versions/create         no       a retry could register a second version
//	registered-models/alias POST  yes      setting an alias is idempotent
//	get-latest-versions           yes      read-only
//
// # Pagination
//
// Search and history calls return one page and its NextPageToken; their
// ...Seq twins (SearchRunsSeq, SearchExperimentsSeq, GetMetricHistorySeq)
// return an iter.Seq2[T, error] that fetches every page.
//
// # Batching
//
// LogBatch validates the whole batch first (nothing is sent if any element
// is invalid, including duplicate param keys), then splits it like the
// Python client into requests of at most 1000 metrics, 100 params, 100 tags
// and 1000 entities, each body under 1 MB. Metrics keep the timestamp they
// were given; a zero timestamp becomes the time of the call. The input is
// never modified. Metric and log-batch bodies are encoded by a hand-written
// encoder (about one allocation per request).
//
// For high-rate logging use a Batcher (NewBatcher): enqueue calls validate
// and return at once, without network I/O; background senders batch per run
// within the same limits, retry, and, with WithSpoolDir, spool to disk what
// MLflow cannot take, replaying it later or in the next process (ReplaySpool,
// examples/replay). Attach it to a run with RunOptions.Flusher so that
// ActiveRun.End flushes it before ending the run.
//
// # NaN and infinity
//
// NaN, +Inf and -Inf are sent as "NaN", "Infinity" and "-Infinity" and read
// back from either the strings or numbers. MLflow's SQL store (the default
// since MLflow 3.7) stores ±Inf as ±1.7976931348623157e308 (math.MaxFloat64)
// and returns that finite number; SQLite also returns -0 as 0. NaN
// round-trips exactly (checked against the Python client by the
// cross-check test). The client does not change values on read: it
// returns what the server stored. Call NormalizeInf to map
// ±MaxFloat64 back to ±Inf where infinity semantics matter (package evaluate
// does this).
//
// # Run lifecycle
//
// StartRun creates a run with system tags (mlflow.user, mlflow.source.*,
// git commit and CI links from GitLab/GitHub variables, the SageMaker
// processing job name) or resumes MLFLOW_RUN_ID. End, deferred with a
// pointer to the function's error, ends it FINISHED, FAILED (error or panic,
// which is re-raised) or KILLED (context cancelled), after flushing an
// attached Flusher such as a batcher.
//
// # Observability
//
// Each API operation is one OpenTelemetry span ("mlflow runs/log-batch")
// from the TracerProvider given with WithTracerProvider or the global one,
// with the attributes mlflow.endpoint, http.request.method,
// http.response.status_code, mlwatch.attempts and mlflow.error_code; never
// values, params or credentials. Retries are logged at debug level with the
// keys endpoint, attempt and status on the logger given with WithLogger
// (go-retryablehttp's own lines go there too, at debug level). By default
// nothing is logged.
package client
