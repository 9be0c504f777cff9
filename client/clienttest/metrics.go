package clienttest

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// storedValue applies the store's treatment of ±Inf.
func (s *Server) storedValue(v float64) float64 {
	if s.StoreInf {
		return v
	}
	switch {
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

// greaterPoint is the SQL store's latest-metric rule: (step, timestamp,
// value) > ..., where a NaN counts as its stored value 0 (checked against
// MLflow 3.17: at equal step and timestamp, NaN replaces -1 but not 2).
func greaterPoint(a, b point) bool {
	if a.step != b.step {
		return a.step > b.step
	}
	if a.timestamp != b.timestamp {
		return a.timestamp > b.timestamp
	}
	return nanAsZero(a.value) > nanAsZero(b.value)
}

func nanAsZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// addPoint stores one metric value unless an identical point exists (the
// SQL store's primary key dedupe). Callers hold s.mu.
func (s *Server) addPoint(rn *run, p point) {
	p.value = s.storedValue(p.value)
	id := pointID{key: p.key, timestamp: p.timestamp, step: p.step, value: p.value}
	if math.IsNaN(p.value) {
		id.value, id.isNaN = 0, true
	}
	if _, dup := rn.seen[id]; dup {
		return
	}
	rn.seen[id] = struct{}{}
	if _, ok := rn.history[p.key]; !ok {
		rn.metricKeys = append(rn.metricKeys, p.key)
	}
	rn.history[p.key] = append(rn.history[p.key], p)
	if cur, ok := rn.latest[p.key]; !ok || greaterPoint(p, cur) {
		rn.latest[p.key] = p
	}
}

func (s *Server) logMetric(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		runIDRequest
		rMetric
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := req.id()
	if err != nil {
		return err
	}
	if err := validateMetric(-1, req.rMetric); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	rn, err := s.activeRun(id)
	if err != nil {
		return err
	}
	s.addPoint(rn, point{key: *req.Key, value: req.Value.v, timestamp: req.Timestamp.v, step: req.Step.v})
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

// paramConflict is the message of a changed param value in log-parameter.
func paramConflict(runID, key, old, new string) *apiErr {
	return invalidf("Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for run ID='%s'. Attempted logging new value '%s'.", key, old, runID, new)
}

func (s *Server) logParam(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		runIDRequest
		Key   *string `json:"key"`
		Value *string `json:"value"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := req.id()
	if err != nil {
		return err
	}
	v, err := validateParam("", req.Key, req.Value)
	if err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	rn, err := s.activeRun(id)
	if err != nil {
		return err
	}
	if old, ok := getKV(rn.params, *req.Key); ok {
		if old != v {
			return paramConflict(id, *req.Key, old, v)
		}
	} else {
		rn.params = append(rn.params, kv{*req.Key, v})
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

func (s *Server) logBatch(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		runIDRequest
		Metrics []rMetric `json:"metrics"`
		Params  []rTag    `json:"params"`
		Tags    []rTag    `json:"tags"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := req.id()
	if err != nil {
		return err
	}
	if err := validateRunID(id); err != nil {
		return err
	}
	// _validate_batch_log_data, then the limits, then unique param keys.
	for i, m := range req.Metrics {
		if err := validateMetric(i, m); err != nil {
			return err
		}
	}
	params := make([]kv, len(req.Params))
	for i, p := range req.Params {
		v, err := validateParam(fmt.Sprintf("params[%d].", i), p.Key, p.Value)
		if err != nil {
			return err
		}
		params[i] = kv{*p.Key, v}
	}
	tags := make([]kv, len(req.Tags))
	for i, t := range req.Tags {
		v, err := validateTag(fmt.Sprintf("tags[%d].", i), t.Key, t.Value)
		if err != nil {
			return err
		}
		tags[i] = kv{*t.Key, v}
	}
	if err := batchLimits(len(req.Metrics), len(params), len(tags)); err != nil {
		return err
	}
	var dups []string
	seen := make(map[string]bool, len(params))
	for _, p := range params {
		if seen[p.key] && !slices.Contains(dups, p.key) {
			dups = append(dups, p.key)
		}
		seen[p.key] = true
	}
	if len(dups) > 0 {
		return invalidf("Duplicate parameter keys have been submitted: %s. Please ensure the request contains only one param value per param key.", pyList(dups))
	}

	s.lock()
	defer s.mu.Unlock()
	rn, err := s.activeRun(id)
	if err != nil {
		return err
	}
	// Params first, all or nothing (the store checks every param before
	// inserting any), then metrics, then tags.
	var conflicts []string
	for _, p := range params {
		if old, ok := getKV(rn.params, p.key); ok && old != p.value {
			conflicts = append(conflicts, "{'key': '"+p.key+"', 'old_value': '"+old+"', 'new_value': '"+p.value+"'}")
		}
	}
	if len(conflicts) > 0 {
		return invalidf("Changing param values is not allowed. Params were already logged='[%s]' for run ID='%s'.", strings.Join(conflicts, ", "), id)
	}
	for _, p := range params {
		if _, ok := getKV(rn.params, p.key); !ok {
			rn.params = append(rn.params, p)
		}
	}
	for _, m := range req.Metrics {
		s.addPoint(rn, point{key: *m.Key, value: m.Value.v, timestamp: m.Timestamp.v, step: m.Step.v})
	}
	for _, t := range tags {
		rn.setTag(t.key, t.value)
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

func batchLimits(metrics, params, tags int) *apiErr {
	if metrics > maxMetricsPerBatch {
		return invalidf("A batch logging request can contain at most %d metrics. Got %d metrics. Please split up metrics across multiple requests and try again.", maxMetricsPerBatch, metrics)
	}
	if params > maxParamsTagsPerBatch {
		return invalidf("A batch logging request can contain at most %d params. Got %d params. Please split up params across multiple requests and try again.", maxParamsTagsPerBatch, params)
	}
	if tags > maxParamsTagsPerBatch {
		return invalidf("A batch logging request can contain at most %d tags. Got %d tags. Please split up tags across multiple requests and try again.", maxParamsTagsPerBatch, tags)
	}
	if total := metrics + params + tags; total > maxEntitiesPerBatch {
		return invalidf("A batch logging request can contain at most %d metrics, params, and tags. Got %d metrics, params, and tags. Please split up metrics, params, and tags across multiple requests and try again.", maxEntitiesPerBatch, total)
	}
	return nil
}

// pyList formats strings as Python's repr of a list.
func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func (s *Server) getMetricHistory(w http.ResponseWriter, r *http.Request) *apiErr {
	id, err := queryRunID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	key := q.Get("metric_key")
	if key == "" {
		return missingParam("metric_key")
	}
	maxResults := -1
	if v := q.Get("max_results"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 0 {
			return invalidf("Invalid value %s for parameter 'max_results' supplied.", quote(v))
		}
		maxResults = n
	}
	offset, err := parsePageToken(q.Get("page_token"))
	if err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	var hist []point
	// An unknown run has an empty history (no 404), as on the real server.
	if rn, ok := s.runs[id]; ok {
		hist = slices.Clone(rn.history[key])
	}
	// The SQL store orders the history by (timestamp, step, value).
	sort.SliceStable(hist, func(i, j int) bool {
		a, b := hist[i], hist[j]
		if a.timestamp != b.timestamp {
			return a.timestamp < b.timestamp
		}
		if a.step != b.step {
			return a.step < b.step
		}
		return nanAsZero(a.value) < nanAsZero(b.value)
	})
	var resp struct {
		Metrics       []wMetric `json:"metrics,omitempty"`
		NextPageToken string    `json:"next_page_token,omitempty"`
	}
	hist = hist[min(offset, len(hist)):]
	if maxResults >= 0 && len(hist) > maxResults {
		hist = hist[:maxResults]
		resp.NextPageToken = pageToken(offset + maxResults)
	}
	for _, p := range hist {
		resp.Metrics = append(resp.Metrics, wMetric{Key: p.key, Value: jfloat(p.value), Timestamp: p.timestamp, Step: p.step})
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) getMetricHistoryBulkInterval(w http.ResponseWriter, r *http.Request) *apiErr {
	q := r.URL.Query()
	runIDs := q["run_ids"]
	if len(runIDs) == 0 {
		return missingParam("run_ids")
	}
	if len(runIDs) > maxRunsBulkInterval {
		return invalidf("GetMetricHistoryBulkInterval request must specify at most %d run_ids. Received %d run_ids.", maxRunsBulkInterval, len(runIDs))
	}
	key := q.Get("metric_key")
	if key == "" {
		return missingParam("metric_key")
	}
	maxResults := maxResultsPerRun
	if v := q.Get("max_results"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil {
			return invalidf("Invalid value %s for parameter 'max_results' supplied.", quote(v))
		}
		if n < 1 || n > maxResultsPerRun {
			return invalidf("max_results must be between 1 and %d. See the API docs for more information about request parameters.", maxResultsPerRun)
		}
		maxResults = n
	}
	var startStep, endStep int64
	rangeSet := false
	sv, ev := q.Get("start_step"), q.Get("end_step")
	switch {
	case sv != "" && ev != "":
		var e1, e2 error
		startStep, e1 = strconv.ParseInt(sv, 10, 64)
		endStep, e2 = strconv.ParseInt(ev, 10, 64)
		if e1 != nil || e2 != nil {
			return invalidf("Invalid value for parameter 'start_step' or 'end_step' supplied.")
		}
		if startStep > endStep {
			return invalidf("end_step must be greater than start_step. Found start_step=%d and end_step=%d.", startStep, endStep)
		}
		rangeSet = true
	case sv != "" || ev != "":
		return invalidf("If either start step or end step are specified, both must be specified.")
	}
	s.lock()
	defer s.mu.Unlock()
	// Unknown runs contribute nothing (no 404), as on the real server.
	runs := make([]*run, len(runIDs))
	for i, id := range runIDs {
		if rn, ok := s.runs[id]; ok {
			runs[i] = rn
		}
	}
	var resp struct {
		Metrics []wMetric `json:"metrics,omitempty"`
	}
	for i, rn := range runs {
		if rn == nil {
			continue
		}
		var rows []point
		for _, p := range rn.history[key] {
			if !rangeSet || (p.step >= startStep && p.step <= endStep) {
				rows = append(rows, p)
			}
		}
		for _, p := range sampleRows(rows, maxResults) {
			resp.Metrics = append(resp.Metrics, wMetric{Key: p.key, Value: jfloat(p.value), Timestamp: p.timestamp, Step: p.step, RunID: runIDs[i]})
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// sampleRows is the SQL store's per-run sampling
// (_sample_rows_with_window_functions): order the points by (step,
// timestamp, value, is_nan), split them into maxResults NTILE buckets, keep
// the first point of each bucket, and make sure the last point is included
// (replacing the last sample when there are already maxResults).
func sampleRows(rows []point, maxResults int) []point {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, comparePointsByStep)
	n := len(rows)
	if n == 0 {
		return nil
	}
	var out []point
	// NTILE(k): the first n%k buckets hold n/k+1 rows, the others n/k.
	k := maxResults
	size, extra := n/k, n%k
	idx := 0
	for b := 0; b < k && idx < n; b++ {
		out = append(out, rows[idx])
		idx += size
		if b < extra {
			idx++
		}
		if size == 0 && b >= extra {
			break
		}
	}
	last := rows[n-1]
	if comparePointsByStep(out[len(out)-1], last) != 0 {
		if len(out) >= maxResults {
			out[len(out)-1] = last
		} else {
			out = append(out, last)
		}
	}
	return out
}

// comparePointsByStep orders by (step, timestamp, value, is_nan) with a NaN
// compared as its stored value 0.
func comparePointsByStep(a, b point) int {
	if c := cmp.Compare(a.step, b.step); c != 0 {
		return c
	}
	if c := cmp.Compare(a.timestamp, b.timestamp); c != 0 {
		return c
	}
	if c := cmp.Compare(nanAsZero(a.value), nanAsZero(b.value)); c != 0 {
		return c
	}
	return cmp.Compare(boolInt(math.IsNaN(a.value)), boolInt(math.IsNaN(b.value)))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
