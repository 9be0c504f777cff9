//go:build integration

package contract_test

import (
	"encoding/json"
	"fmt"
	"strings"
)

const (
	api = "/api/2.0/mlflow/"
	art = "/api/2.0/mlflow-artifacts/artifacts"
)

func post(name, endpoint, body string) wireStep {
	return wireStep{name: name, method: "POST", path: api + endpoint, body: body}
}

func get(name, endpoint string) wireStep {
	return wireStep{name: name, method: "GET", path: api + endpoint}
}

func saving(st wireStep, vars ...string) wireStep {
	st.save = map[string]string{}
	for i := 0; i+1 < len(vars); i += 2 {
		st.save[vars[i]] = vars[i+1]
	}
	return st
}

// batchBody builds a log-batch body with n metrics, p params and g tags.
func batchBody(n, p, g int) string {
	type kv struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
		Ts    *int   `json:"timestamp,omitempty"`
	}
	one := 1
	ms, ps, ts := []kv{}, []kv{}, []kv{} // not null: MLflow answers 500 to "params": null
	for i := range n {
		ms = append(ms, kv{fmt.Sprintf("m%d", i), 1, &one})
	}
	for i := range p {
		ps = append(ps, kv{fmt.Sprintf("p%d", i), "v", nil})
	}
	for i := range g {
		ts = append(ts, kv{fmt.Sprintf("t%d", i), "v", nil})
	}
	b, _ := json.Marshal(map[string]any{"run_id": "{run}", "metrics": ms, "params": ps, "tags": ts})
	return string(b)
}

func stepsBody(run string, from, to int) string {
	var parts []string
	for s := from; s < to; s++ {
		parts = append(parts, fmt.Sprintf(`{"key":"s","value":%d,"timestamp":%d,"step":%d}`, s, 1000+s, s))
	}
	return fmt.Sprintf(`{"run_id":"{%s}","metrics":[%s]}`, run, strings.Join(parts, ","))
}

func wireSteps() []wireStep {
	long := strings.Repeat("k", 251)
	return []wireStep{
		// Server basics.
		{name: "health", method: "GET", path: "/health"},
		{name: "unknown route", method: "GET", path: api + "runs/nope"},
		{name: "wrong method", method: "GET", path: api + "runs/create"},
		{name: "no content type", method: "POST", path: api + "experiments/create", body: `{"name":"{p}-x"}`, contentType: "-"},
		{name: "text content type", method: "POST", path: api + "experiments/create", body: `{"name":"{p}-x"}`, contentType: "text/plain"},
		{name: "malformed JSON", method: "POST", path: api + "runs/log-batch", body: `{"run_id": `},

		// Experiments.
		saving(post("create experiment", "experiments/create", `{"name":"{p}-a","tags":[{"key":"team","value":"ds"}]}`), "exp", "experiment_id"),
		post("duplicate experiment", "experiments/create", `{"name":"{p}-a"}`),
		post("missing name", "experiments/create", `{}`),
		post("empty name", "experiments/create", `{"name":""}`),
		post("long name", "experiments/create", `{"name":"`+strings.Repeat("n", 501)+`"}`),
		get("get experiment", "experiments/get?experiment_id={exp}"),
		get("get by name", "experiments/get-by-name?experiment_name={p}-a"),
		get("unknown name", "experiments/get-by-name?experiment_name={p}-nope"),
		get("unknown id", "experiments/get?experiment_id=987654321"),
		get("non-integer id", "experiments/get?experiment_id=abc"),
		get("missing id", "experiments/get"),
		post("experiment tag", "experiments/set-experiment-tag", `{"experiment_id":"{exp}","key":"owner","value":"me"}`),
		post("experiment tag bad key", "experiments/set-experiment-tag", `{"experiment_id":"{exp}","key":"a!","value":"1"}`),
		post("experiment tag no value", "experiments/set-experiment-tag", `{"experiment_id":"{exp}","key":"novalue"}`),
		saving(post("second experiment", "experiments/create", `{"name":"{p}-b"}`), "exp2", "experiment_id"),
		post("rename onto existing", "experiments/update", `{"experiment_id":"{exp2}","new_name":"{p}-a"}`),
		post("delete experiment", "experiments/delete", `{"experiment_id":"{exp2}"}`),
		post("delete deleted experiment", "experiments/delete", `{"experiment_id":"{exp2}"}`),
		post("run in deleted experiment", "runs/create", `{"experiment_id":"{exp2}"}`),
		post("tag deleted experiment", "experiments/set-experiment-tag", `{"experiment_id":"{exp2}","key":"a","value":"1"}`),
		post("restore experiment", "experiments/restore", `{"experiment_id":"{exp2}"}`),
		post("restore active experiment", "experiments/restore", `{"experiment_id":"{exp2}"}`),
		post("search experiments without max_results", "experiments/search", `{"filter":"name LIKE '{p}-%'"}`),
		post("search experiments", "experiments/search", `{"filter":"name LIKE '{p}-%'","max_results":1,"order_by":["name ASC"]}`),
		post("search experiments page 2", "experiments/search", `{"filter":"name LIKE '{p}-%'","max_results":1,"order_by":["name ASC"],"page_token":"eyJvZmZzZXQiOiAxfQ=="}`),
		post("search experiments by tag", "experiments/search", `{"filter":"tags.team = 'ds' and name LIKE '{p}-%'","max_results":10}`),
		post("search experiments too many", "experiments/search", `{"max_results":50001}`),
		post("search experiments bad order", "experiments/search", `{"max_results":2,"order_by":["foo"]}`),
		post("search experiments by param", "experiments/search", `{"max_results":2,"filter":"params.a = 'x'"}`),
		post("search experiments bad token", "experiments/search", `{"max_results":2,"page_token":"xx"}`),

		// Runs.
		saving(post("create run", "runs/create", `{"experiment_id":"{exp}","run_name":"train","user_id":"ci","start_time":1700000000000,"tags":[{"key":"country","value":"DE"}]}`), "run", "run.info.run_id"),
		post("create run without experiment", "runs/create", `{"run_name":"x"}`),
		post("run name disagrees with tag", "runs/create", `{"experiment_id":"{exp}","run_name":"a","tags":[{"key":"mlflow.runName","value":"b"}]}`),
		saving(post("run with unvalidated tag and no start time", "runs/create", `{"experiment_id":"{exp}","run_name":"r2","tags":[{"key":"bad!","value":"b"}]}`), "run2", "run.info.run_id"),
		post("log batch", "runs/log-batch", `{"run_id":"{run}","metrics":[{"key":"loss","value":1.5,"timestamp":10,"step":0},{"key":"loss","value":"NaN","timestamp":11,"step":1},{"key":"loss","value":0.5,"timestamp":9,"step":2},{"key":"loss","value":0.5,"timestamp":9,"step":2},{"key":"inf","value":"Infinity","timestamp":1},{"key":"ninf","value":"-Infinity","timestamp":1},{"key":"精度","value":0.9,"timestamp":1},{"key":"int","value":2,"timestamp":"5","step":"3"},{"key":"small","value":1e-7,"timestamp":1},{"key":"big","value":1e17,"timestamp":1}],"params":[{"key":"précision/été","value":"1"},{"key":"noval"}],"tags":[{"key":"team","value":"ds"}]}`),
		post("log batch again", "runs/log-batch", `{"run_id":"{run}","metrics":[{"key":"loss","value":"NaN","timestamp":11,"step":1}]}`),
		get("history", "metrics/get-history?run_id={run}&metric_key=loss"),
		get("history page", "metrics/get-history?run_id={run}&metric_key=loss&max_results=2"),
		get("history page 2", "metrics/get-history?run_id={run}&metric_key=loss&max_results=2&page_token=eyJvZmZzZXQiOiAyfQ=="),
		get("history unknown key", "metrics/get-history?run_id={run}&metric_key=nope"),
		get("history unknown run", "metrics/get-history?run_id=0123456789abcdef0123456789abcdef&metric_key=loss"),
		post("latest: -1 then NaN at same step", "runs/log-batch", `{"run_id":"{run}","metrics":[{"key":"q","value":-1,"timestamp":5,"step":5}]}`),
		post("latest: NaN", "runs/log-metric", `{"run_id":"{run}","key":"q","value":"NaN","timestamp":5,"step":5}`),
		post("latest: NaN first", "runs/log-metric", `{"run_id":"{run}","key":"r","value":"NaN","timestamp":5,"step":5}`),
		post("latest: then 2", "runs/log-metric", `{"run_id":"{run}","key":"r","value":2,"timestamp":5,"step":5}`),
		post("latest: older step", "runs/log-metric", `{"run_id":"{run}","key":"loss","value":9,"timestamp":99,"step":1}`),
		get("get run", "runs/get?run_id={run}"),
		get("get run created without start time", "runs/get?run_id={run2}"),
		get("unknown run", "runs/get?run_id=0123456789abcdef0123456789abcdef"),
		get("malformed run id", "runs/get?run_id=bad!id"),
		post("param change", "runs/log-parameter", `{"run_id":"{run}","key":"précision/été","value":"2"}`),
		post("param same", "runs/log-parameter", `{"run_id":"{run}","key":"précision/été","value":"1"}`),
		post("param change in batch", "runs/log-batch", `{"run_id":"{run}","params":[{"key":"précision/été","value":"3"}]}`),
		post("duplicate params", "runs/log-batch", `{"run_id":"{run}","params":[{"key":"a","value":"3"},{"key":"a","value":"3"}]}`),
		post("bad metric key", "runs/log-metric", `{"run_id":"{run}","key":"a!b","value":1,"timestamp":1}`),
		post("double slash key", "runs/log-metric", `{"run_id":"{run}","key":"a//b","value":1,"timestamp":1}`),
		post("dot dot key", "runs/log-metric", `{"run_id":"{run}","key":"a/../b","value":1,"timestamp":1}`),
		post("empty metric key", "runs/log-metric", `{"run_id":"{run}","key":"","value":1,"timestamp":1}`),
		post("long metric key", "runs/log-metric", `{"run_id":"{run}","key":"`+long+`","value":1,"timestamp":1}`),
		post("missing timestamp", "runs/log-metric", `{"run_id":"{run}","key":"k","value":1}`),
		post("missing value", "runs/log-metric", `{"run_id":"{run}","key":"k","timestamp":1}`),
		post("negative timestamp", "runs/log-metric", `{"run_id":"{run}","key":"k","value":1,"timestamp":-1}`),
		post("missing run id", "runs/log-metric", `{"key":"k","value":1,"timestamp":1}`),
		post("malformed run id", "runs/log-metric", `{"run_id":"bad id!","key":"k","value":1,"timestamp":1}`),
		post("bad param key", "runs/log-parameter", `{"run_id":"{run}","key":"a!","value":"1"}`),
		post("long param key", "runs/log-parameter", `{"run_id":"{run}","key":"`+long+`","value":"1"}`),
		post("bad tag key", "runs/set-tag", `{"run_id":"{run}","key":"a!","value":"1"}`),
		post("long tag key", "runs/set-tag", `{"run_id":"{run}","key":"`+long+`","value":"1"}`),
		post("batch bad metric key", "runs/log-batch", `{"run_id":"{run}","metrics":[{"key":"a!","value":1,"timestamp":1}]}`),
		post("batch empty metric key", "runs/log-batch", `{"run_id":"{run}","metrics":[{"key":"","value":1,"timestamp":1}]}`),
		post("batch missing timestamp", "runs/log-batch", `{"run_id":"{run}","metrics":[{"key":"a","value":1}]}`),
		post("batch negative timestamp", "runs/log-batch", `{"run_id":"{run}","metrics":[{"key":"z","value":1,"timestamp":-5}]}`),
		post("batch bad param key", "runs/log-batch", `{"run_id":"{run}","params":[{"key":"a!","value":"1"}]}`),
		post("batch empty param key", "runs/log-batch", `{"run_id":"{run}","params":[{"key":"","value":"1"}]}`),
		post("batch bad tag key", "runs/log-batch", `{"run_id":"{run}","tags":[{"key":"a!","value":"1"}]}`),
		post("batch long tag key", "runs/log-batch", `{"run_id":"{run}","tags":[{"key":"`+long+`","value":"1"}]}`),
		post("batch malformed run id", "runs/log-batch", `{"run_id":"bad id!","params":[{"key":"x","value":"1"}]}`),
		post("batch unknown run", "runs/log-batch", `{"run_id":"0123456789abcdef0123456789abcdef","params":[{"key":"x","value":"1"}]}`),
		post("batch 1001 metrics", "runs/log-batch", batchBody(1001, 0, 0)),
		post("batch 101 params", "runs/log-batch", batchBody(0, 101, 0)),
		post("batch 101 tags", "runs/log-batch", batchBody(0, 0, 101)),
		post("batch 1001 entities", "runs/log-batch", batchBody(950, 51, 0)),
		post("long values are truncated", "runs/log-batch", `{"run_id":"{run}","params":[{"key":"long","value":"`+strings.Repeat("v", 6001)+`"}],"tags":[{"key":"long","value":"`+strings.Repeat("t", 8001)+`"}]}`),
		post("delete missing tag", "runs/delete-tag", `{"run_id":"{run}","key":"nope"}`),
		post("delete tag", "runs/delete-tag", `{"run_id":"{run}","key":"team"}`),
		post("unknown status", "runs/update", `{"run_id":"{run}","status":"DONE"}`),
		post("finish run", "runs/update", `{"run_id":"{run}","status":3,"end_time":1700000005000}`),
		post("rename run", "runs/update", `{"run_id":"{run}","run_name":"renamed"}`),
		get("get run after update", "runs/get?run_id={run}"),

		// Search runs.
		post("search runs", "runs/search", `{"experiment_ids":["{exp}"]}`),
		post("search runs page", "runs/search", `{"experiment_ids":["{exp}"],"max_results":1}`),
		post("search by metric", "runs/search", `{"experiment_ids":["{exp}"],"filter":"metrics.loss >= 0.5 and params.`+"`précision/été`"+` = '1'"}`),
		post("search by status", "runs/search", `{"experiment_ids":["{exp}"],"filter":"attributes.status = 'FINISHED'"}`),
		post("search by unicode metric", "runs/search", `{"experiment_ids":["{exp}"],"filter":"metrics.精度 > 0.1"}`),
		post("search by tag, double quotes", "runs/search", `{"experiment_ids":["{exp}"],"filter":"tags.country = \"DE\""}`),
		post("search order by metric", "runs/search", `{"experiment_ids":["{exp}"],"order_by":["metrics.loss DESC"]}`),
		post("search order by start time", "runs/search", `{"experiment_ids":["{exp}"],"order_by":["attributes.start_time ASC"]}`),
		post("search OR", "runs/search", `{"experiment_ids":["{exp}"],"filter":"metrics.loss = 0.5 or metrics.loss = 1"}`),
		post("search unquoted param", "runs/search", `{"experiment_ids":["{exp}"],"filter":"params.x = 1"}`),
		post("search bad order", "runs/search", `{"experiment_ids":["{exp}"],"order_by":["foo"]}`),
		post("search max 0", "runs/search", `{"experiment_ids":["{exp}"],"max_results":0}`),
		post("search max 50001", "runs/search", `{"experiment_ids":["{exp}"],"max_results":50001}`),
		post("search bad token", "runs/search", `{"experiment_ids":["{exp}"],"page_token":"xx"}`),
		post("search bad experiment id", "runs/search", `{"experiment_ids":["x"]}`),
		post("search no experiments", "runs/search", `{}`),

		// Deleted runs.
		post("delete run", "runs/delete", `{"run_id":"{run2}"}`),
		post("delete run again", "runs/delete", `{"run_id":"{run2}"}`),
		post("metric on deleted run", "runs/log-metric", `{"run_id":"{run2}","key":"k","value":1,"timestamp":1}`),
		post("batch on deleted run", "runs/log-batch", `{"run_id":"{run2}","params":[{"key":"x","value":"1"}]}`),
		post("param on deleted run", "runs/log-parameter", `{"run_id":"{run2}","key":"x","value":"1"}`),
		post("tag on deleted run", "runs/set-tag", `{"run_id":"{run2}","key":"x","value":"1"}`),
		post("update deleted run", "runs/update", `{"run_id":"{run2}","status":"FINISHED"}`),
		post("inputs on deleted run", "runs/log-inputs", `{"run_id":"{run2}","datasets":[]}`),
		post("search deleted runs", "runs/search", `{"experiment_ids":["{exp}"],"run_view_type":"DELETED_ONLY"}`),
		post("restore run", "runs/restore", `{"run_id":"{run2}"}`),
		post("restore active run", "runs/restore", `{"run_id":"{run2}"}`),
		post("delete unknown run", "runs/delete", `{"run_id":"0123456789abcdef0123456789abcdef"}`),

		// Inputs.
		post("inputs with missing fields", "runs/log-inputs", `{"run_id":"{run2}","datasets":[{"dataset":{"name":"d"}}]}`),
		post("inputs", "runs/log-inputs", `{"run_id":"{run2}","datasets":[{"tags":[{"key":"mlflow.data.context","value":"training"}],"dataset":{"name":"d","digest":"abc","source_type":"local","source":"{\"uri\":\"x\"}","schema":"s"}}]}`),
		post("same dataset again", "runs/log-inputs", `{"run_id":"{run2}","datasets":[{"tags":[{"key":"mlflow.data.context","value":"eval"}],"dataset":{"name":"d","digest":"abc","source_type":"local","source":"{\"uri\":\"y\"}"}}]}`),
		get("run with inputs", "runs/get?run_id={run2}"),

		// Bulk interval.
		post("steps", "runs/log-batch", stepsBody("run2", -3, 40)),
		get("bulk sampled", "metrics/get-history-bulk-interval?run_ids={run2}&metric_key=s&max_results=5"),
		get("bulk range", "metrics/get-history-bulk-interval?run_ids={run2}&metric_key=s&max_results=7&start_step=5&end_step=30"),
		get("bulk two runs", "metrics/get-history-bulk-interval?run_ids={run2}&run_ids={run}&metric_key=s&max_results=3"),
		get("bulk all", "metrics/get-history-bulk-interval?run_ids={run2}&metric_key=s"),
		get("bulk half range", "metrics/get-history-bulk-interval?run_ids={run2}&metric_key=s&start_step=5"),
		get("bulk reversed range", "metrics/get-history-bulk-interval?run_ids={run2}&metric_key=s&start_step=9&end_step=5"),
		get("bulk max 0", "metrics/get-history-bulk-interval?run_ids={run2}&metric_key=s&max_results=0"),
		get("bulk max 2501", "metrics/get-history-bulk-interval?run_ids={run2}&metric_key=s&max_results=2501"),
		get("bulk unknown run", "metrics/get-history-bulk-interval?run_ids=0123456789abcdef0123456789abcdef&metric_key=s"),
		get("bulk no runs", "metrics/get-history-bulk-interval?metric_key=s"),
		get("bulk no key", "metrics/get-history-bulk-interval?run_ids={run2}"),

		// Registry.
		post("create model", "registered-models/create", `{"name":"{p}-model"}`),
		post("duplicate model", "registered-models/create", `{"name":"{p}-model"}`),
		post("bad model name", "registered-models/create", `{"name":"a/b"}`),
		post("model version", "model-versions/create", `{"name":"{p}-model","source":"runs:/{run}/model","run_id":"{run}"}`),
		post("model version of unknown model", "model-versions/create", `{"name":"{p}-nope","source":"runs:/{run}/model"}`),
		post("local source without run", "model-versions/create", `{"name":"{p}-model","source":"x"}`),
		post("local source outside run", "model-versions/create", `{"name":"{p}-model","source":"x","run_id":"{run}"}`),
		post("set alias", "registered-models/alias", `{"name":"{p}-model","alias":"champion","version":"1"}`),
		post("reserved alias", "registered-models/alias", `{"name":"{p}-model","alias":"v2","version":"1"}`),
		post("alias to unknown version", "registered-models/alias", `{"name":"{p}-model","alias":"x","version":"9"}`),
		get("get alias", "registered-models/alias?name={p}-model&alias=champion"),
		get("unknown alias", "registered-models/alias?name={p}-model&alias=nope"),
		post("latest versions", "registered-models/get-latest-versions", `{"name":"{p}-model"}`),
		post("latest versions of unknown model", "registered-models/get-latest-versions", `{"name":"{p}-nope"}`),

		// Proxied artifacts.
		{name: "put artifact", method: "PUT", path: art + "/{exp}/{run}/artifacts/model/m.txt", body: "hello", contentType: "-"},
		{name: "put nested artifact", method: "PUT", path: art + "/{exp}/{run}/artifacts/model/sub/c.json", body: `{"a":1}`},
		{name: "put top artifact", method: "PUT", path: art + "/{exp}/{run}/artifacts/top.bin", body: "x", contentType: "-"},
		{name: "get artifact", method: "GET", path: art + "/{exp}/{run}/artifacts/model/m.txt"},
		{name: "get binary artifact", method: "GET", path: art + "/{exp}/{run}/artifacts/top.bin"},
		{name: "get missing artifact", method: "GET", path: art + "/{exp}/{run}/artifacts/nope.txt"},
		{name: "list proxied", method: "GET", path: art + "?path={exp}/{run}/artifacts/model"},
		{name: "list proxied file", method: "GET", path: art + "?path={exp}/{run}/artifacts/model/m.txt"},
		{name: "list proxied missing", method: "GET", path: art + "?path={exp}/{run}/artifacts/nope"},
		get("list run artifacts", "artifacts/list?run_id={run}"),
		get("list run artifacts sub", "artifacts/list?run_id={run}&path=model"),
		get("list run artifacts missing", "artifacts/list?run_id={run}&path=nope"),
		get("list unknown run artifacts", "artifacts/list?run_id=0123456789abcdef0123456789abcdef"),
		{name: "escaping path", method: "PUT", path: art + "/{exp}/{run}/artifacts/%2E%2E/evil", body: "x", contentType: "-"},
		{name: "delete artifact", method: "DELETE", path: art + "/{exp}/{run}/artifacts/top.bin"},
		get("list after delete", "artifacts/list?run_id={run}"),
		{name: "multipart create", method: "POST", path: "/api/2.0/mlflow-artifacts/mpu/create/{exp}/{run}/artifacts/f.bin", body: `{"path":"f.bin","num_parts":2}`},
		{name: "multipart abort", method: "POST", path: "/api/2.0/mlflow-artifacts/mpu/abort/{exp}/{run}/artifacts/f.bin", body: `{"path":"f.bin","upload_id":"u"}`},
		{name: "multipart download", method: "GET", path: "/api/2.0/mlflow-artifacts/presigned/{exp}/{run}/artifacts/f.bin"},
		post("search experiments default order", "experiments/search", `{"filter":"name LIKE '{p}-%'","max_results":10}`),
		post("search experiments by creation time", "experiments/search", `{"filter":"name LIKE '{p}-%'","max_results":10,"order_by":["creation_time ASC"]}`),
	}
}
