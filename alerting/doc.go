// Package alerting turns evaluation breaches into alerts: it pushes breach
// series to Amazon Managed Service for Prometheus (AMP) or any Prometheus
// remote-write 1.0 receiver, publishes alerts to SNS or a chat webhook,
// throttles the direct path, and ships the AMP rules and Alertmanager
// configuration that match what it emits.
//
// # Two paths
//
// The main path is Prometheus-native: the evaluation step calls
// Writer.Push(ctx, Breached, alerts...) (and Push(ctx, Cleared, ...) for the
// checks that pass, see FromReport). AMP evaluates the shipped rule
// (AMPRuleGroups) and its Alertmanager (AMPAlertManagerDefinition) groups per
// model_group, deduplicates, inhibits warnings under criticals, throttles
// (warnings repeat at most every 24 h, criticals every 1 h) and publishes a
// JSON Message to an SNS topic that Teams/Slack/e-mail subscribe to.
//
// The direct path (SNSNotifier, WebhookNotifier, behind the Notifier
// interface) publishes at once, typically for critical breaches. It bypasses
// Alertmanager's deduplication, so wrap it in a ThrottledNotifier.
//
// Both paths publish the same JSON schema (Message, parsed by ParseMessage;
// Source tells them apart), the same subject style and the same String
// message attributes (severity, model_group, model, status, source) for SNS
// subscription filter policies.
//
// # Series and labels
//
// Per alert the Writer pushes three gauges with identical labels:
//
//	mlwatch_eval_breach     1 while breached, 0 once cleared, staleness marker when ended
//	mlwatch_eval_observed   the observed metric value
//	mlwatch_eval_threshold  the threshold it was checked against
//
// Labels: model, model_group, metric, severity (warning|critical), and country
// and pipeline when set (an empty optional label is omitted, never sent
// empty). The run ID, run URL, baseline, check name and summary are never
// labels: a label per run would create a new series on every run. They
// travel in the SNS message body instead; the Alertmanager message gets the
// observed and threshold values through rule annotations.
//
// Cardinality: one label set per model × country × metric × severity (the
// pipeline is expected to follow from model and country), times three gauges.
// With 20 models, 5 countries, 20 metrics and 2 severities that is 4,000
// label sets and 12,000 series, far below AMP's default of 10 million active
// series per workspace. Drift checks add one "drift:<feature>" metric per
// monitored feature (and segment). Alertmanager aggregation groups are one per
// model_group and severity (AMP's limit: 1,000).
//
// Label values must pass Alert.Validate: non-empty where required, valid
// UTF-8, at most 128 bytes, no control characters and no '"' or '\'. The last
// rule exists because Alertmanager 0.25 templates cannot JSON-escape; with it
// the shipped template always produces valid JSON. model_group is further
// restricted to ASCII [A-Za-z0-9._-], at most 40 bytes, so that the subject
// "[RESOLVED] mlwatch critical breach model_group=<g>" stays under SNS's 100
// characters. SanitizeLabelValue repairs a value instead of rejecting it.
//
// # Remote write
//
// Encoder writes remote-write 1.0 WriteRequest protobuf with protowire (the
// bytes are those gogo-generated prompb writes) and compresses it in the
// snappy block format (never the framed format) with klauspost/compress's
// s2.EncodeSnappy: Snappy-compatible output, about a third less CPU than
// snappy.Encode's "better" mode, which compresses breach batches only
// slightly smaller. An Encoder reuses its buffers: no allocations per call. Labels are validated against the spec's regular
// expressions, duplicates and empty values are rejected, at most 70 labels
// (AMP's limit) are allowed, and labels are sorted. Requests carry
// Content-Encoding: snappy, Content-Type: application/x-protobuf,
// X-Prometheus-Remote-Write-Version: 0.1.0 and User-Agent: mlwatch-go/<Version>;
// WithHeader cannot override them.
//
// Timestamps are Unix milliseconds and never in the future: Push clamps an
// alert's Time to now (an alert from a host with a fast clock is still an
// alert; a future sample would shift the receiver's out-of-bounds window for
// every series), and keeps each series' timestamps strictly increasing by
// moving a repeated timestamp 1 ms on. The lower-level Write rejects future
// samples with a *ValidationError, since there the caller controls the times.
//
// # Authentication
//
// NewAMPWriter signs with SigV4 (aws-sdk-go-v2's signer, service "aps") with
// credentials from the default AWS chain: environment, shared files, web
// identity, the container or instance role (in a SageMaker job, its execution
// role; the role needs aps:RemoteWrite). WithSigV4 injects any
// aws.CredentialsProvider. SigV4Transport is the underlying http.RoundTripper.
// SNSNotifier uses the SNS SDK with the same default chain; the topic's
// region comes from its ARN.
//
// # Errors and retries
//
// Input errors are *ValidationError (errors.Is ErrInvalidAlert) and
// constructor errors *ConfigError (ErrConfig), both returned before anything
// is sent. Remote write retries 5xx answers, network errors and 429 with
// capped, jittered exponential backoff bounded by the context; a 429's
// Retry-After is honoured up to RetryPolicy.MaxRetryAfter, a longer one ends
// the retries. Other 4xx answers are never retried and come back as
// *WriteError with the receiver's (truncated) message. SNS throttling errors
// are retried a bounded number of times; other SNS errors are left to the
// SDK's retryer. Whatever could not be delivered is returned to the caller in
// a *DeliveryError (Failed lists the alerts); nothing is dropped silently.
//
// # Observability
//
// Loggers are silent by default (With*Logger). Each remote-write request,
// SNS publish and webhook post is one OpenTelemetry client span ("prometheus
// remote_write", "sns publish", "webhook post") from the injected
// TracerProvider (With*TracerProvider) or the global one, with status code,
// attempts and counts; never URLs of webhooks, keys or signed headers.
//
// # Throttling the direct path
//
// Throttler allows at most one warning per key (model_group by default) per
// 24 h, and a critical at once but not again within 1 h for the same model
// group, model and metric. Its state must outlive ephemeral containers, so it
// lives in a StateStore:
//
//   - MLflowStore (recommended default, and what the example uses for
//     SageMaker jobs): tags "mlwatch.alert.<hash>" = last-sent Unix ms on a
//     dedicated experiment "mlwatch-alert-state". Every pipeline already has
//     an MLflow client and credentials, so it needs no new infrastructure and
//     survives any container. Pipelines of one model group often run at the
//     same moment (one per country on one schedule); a plain read-then-write
//     would let each send the group's daily warning, so MLflowStore arbitrates
//     with claims (write a nonce, wait, read back twice; the last writer
//     sends). MLflow has no compare-and-set, so a claim delayed by more than
//     two settle times (WithClaimSettle, default 1s) can still produce a
//     duplicate warning; it can never suppress every sender, so no alert is
//     lost. That is acceptable for notifications the throttle only aims to
//     thin out. Claims add about 2 s to the direct path.
//   - FileStore: one JSON file replaced atomically (temporary file, fsync,
//     rename), for long-lived processes with a disk. It takes no lock: one
//     writer per file.
//
// When the store cannot be read, the throttler fails open (sends) and
// reports the error.
//
// # Shipped configuration
//
// AMPRuleGroups returns config/amp/rules.yml, the rule groups namespace body.
// AMPAlertManagerDefinition returns config/amp/alertmanager.yml for a topic:
// template_files plus alertmanager_config with group_by [model_group], a
// critical → warning inhibition on [model, metric], per-severity repeat
// intervals, sigv4.region and no api_url (AMP forbids it). LocalConfig
// returns the local equivalents (Alertmanager 0.25 and Prometheus 2.42 on
// 127.0.0.1, SNS on moto) that scripts/teststack.sh runs and `make test`
// validates with promtool and amtool.
package alerting
