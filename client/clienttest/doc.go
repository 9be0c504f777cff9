// Package clienttest provides a fake MLflow tracking server for testing code
// that uses package client, in the spirit of net/http/httptest: the fake is a
// real HTTP server on loopback and the real client runs against it
// unchanged.
//
// # Usage
//
//	func TestPipeline(t *testing.T) {
//		srv, c := clienttest.NewServer(t)
//		if err := pipeline.Run(ctx, c); err != nil {
//			t.Fatal(err)
//		}
//		runs := srv.Runs()
//		// ... inspect runs, srv.MetricHistory(id, "auc"), srv.Params(id) ...
//	}
//
// [Server] is an [net/http.Handler] whose zero value is ready, so it can
// also be mounted by hand: httptest.NewServer(&clienttest.Server{}), or
// under a path prefix with http.StripPrefix to test tracking URIs behind a
// proxy.
//
// # Fidelity
//
// The fake implements every endpoint package client calls, with MLflow's
// validation (key characters and path rules, length limits, the log-batch
// limits of 1000 metrics, 100 params, 100 tags and 1000 entities, duplicate
// param keys, param immutability, writes to deleted runs, run and
// experiment ID formats), MLflow's error codes and HTTP statuses
// (RESOURCE_ALREADY_EXISTS is 400, RESOURCE_DOES_NOT_EXIST is 404), and
// MLflow's JSON (snake_case, int64 as numbers, "NaN"/"Infinity"). POST
// requests must carry Content-Type application/json. Like MLflow's SQL
// store, it stores an identical metric point (key, timestamp, step, value)
// only once, reports as a run's latest metric the point with the greatest
// (step, timestamp, value), and returns ±Inf as ±1.7976931348623157e308
// (set [Server.StoreInf] for the file store's "Infinity"). Artifacts
// uploaded through the proxied artifact API are kept in memory; runs get
// artifact URIs mlflow-artifacts:/<experiment>/<run>/artifacts.
//
// The same contract suite (internal/contract) runs against the fake and a
// real MLflow server to keep the fake honest.
//
// # Search
//
// Search filters support the subset pipelines use: comparisons joined by
// AND on metrics.<key> (=, !=, <, <=, >, >= with a number), params.<key>
// and tags.<key> (=, !=, LIKE, ILIKE with a quoted string) and the
// attributes status, run_name, run_id, user_id, start_time and end_time
// (experiments: name, experiment_id, creation_time, last_update_time and
// tags). Keys with special characters are quoted with backticks, as in
// metrics.`précision/été`. Anything else (OR, IN, parentheses, datasets,
// other attributes) is answered with 400 INVALID_PARAMETER_VALUE rather
// than a silently wrong result. order_by supports attributes, metrics,
// params and tags, ASC or DESC; absent values sort last. Page tokens are
// opaque.
//
// # Differences from MLflow
//
// The fake was compared request by request with MLflow 3.17.2 (SQLite
// store, proxied artifacts); internal/contract pins the comparison. Known,
// deliberate differences:
//
//   - Search filters and order_by support only the subset above; MLflow
//     supports more (OR is rejected by both, with the same message).
//   - Strings that are not MLflow's ("NaN", "Infinity", "-Infinity", or a
//     decimal number) are rejected as metric values with 400, where MLflow
//     accepts Python spellings such as "nan" and stores odd values; JSON
//     null for a repeated field is read as empty, where MLflow answers 500.
//   - Messages that quote database errors (duplicate names on rename, a
//     run without experiment) carry the same error code and status but a
//     shorter text; model version sources that are local paths are shown
//     resolved against the fake's working directory.
//   - Experiments and runs live in memory; there is one workspace
//     ("default"), no traces, logged models, datasets search or users.
//   - The multipart artifact endpoints answer 501 NOT_IMPLEMENTED, like a
//     server whose artifact store is local disk.
//
// # Faults and inspection
//
// [Server.Fail] injects per-endpoint faults (HTTP statuses with MLflow or
// raw bodies, Retry-After, delays, dropped connections, and failures after
// the request was handled); [Server.Requests] counts requests per endpoint.
// [Server.Experiments], [Server.Runs], [Server.Run], [Server.MetricHistory],
// [Server.Params], [Server.Tags] and [Server.Artifacts] return copies of the
// state.
package clienttest
