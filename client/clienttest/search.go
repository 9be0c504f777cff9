package clienttest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// pageToken encodes an offset as MLflow does: base64 of {"offset": n}.
// Clients must treat it as opaque.
func pageToken(offset int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, `{"offset": %d}`, offset)) // Python's json.dumps spacing
}

func parsePageToken(tok string) (int, *apiErr) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return 0, invalidf("Invalid page token, could not base64-decode")
	}
	var v struct {
		Offset *int `json:"offset"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, invalidf("Invalid page token, decoded value=%s", raw)
	}
	if v.Offset == nil || *v.Offset < 0 {
		return 0, invalidf("Invalid page token, parsed value=%s", raw)
	}
	return *v.Offset, nil
}

// page slices items by offset and size and returns the next token.
func page[T any](items []T, offset, size int) ([]T, string) {
	items = items[min(offset, len(items)):]
	if len(items) > size {
		return items[:size], pageToken(offset + size)
	}
	return items, ""
}

var viewTypes = map[string]string{"": "ACTIVE_ONLY", "1": "ACTIVE_ONLY", "2": "DELETED_ONLY", "3": "ALL", "ACTIVE_ONLY": "ACTIVE_ONLY", "DELETED_ONLY": "DELETED_ONLY", "ALL": "ALL"}

func viewMatches(view, lifecycle string) bool {
	switch view {
	case "ACTIVE_ONLY":
		return lifecycle == stageActive
	case "DELETED_ONLY":
		return lifecycle == stageDeleted
	}
	return true
}

// searchRequest is the request of runs/search and experiments/search.
type searchRequest struct {
	ExperimentIDs []string        `json:"experiment_ids"`
	Filter        string          `json:"filter"`
	RunViewType   json.RawMessage `json:"run_view_type"`
	ViewType      json.RawMessage `json:"view_type"`
	MaxResults    optInt          `json:"max_results"`
	OrderBy       []string        `json:"order_by"`
	PageToken     string          `json:"page_token"`
}

func viewTypeOf(raw json.RawMessage) (string, *apiErr) {
	s := strings.Trim(string(raw), `"`)
	v, ok := viewTypes[s]
	if !ok {
		return "", invalidf("Invalid value %s for parameter 'view_type' supplied.", string(raw))
	}
	return v, nil
}

// maxResultsOf checks max_results of a search. runs/search defaults it to
// 1000; experiments/search (required) treats a missing one as 0, an error.
func maxResultsOf(o optInt, runs bool) (int, *apiErr) {
	if !o.set && runs {
		return defaultSearchMaxResults, nil
	}
	if o.v <= 0 {
		return 0, invalidf("Invalid value %d for parameter 'max_results' supplied. It must be a positive integer", o.v)
	}
	if o.v > searchMaxResults {
		if runs {
			return 0, invalidf("Invalid value %d for parameter 'max_results' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters.", o.v)
		}
		return 0, invalidf("Invalid value %d for parameter 'max_results' supplied. It must be at most %d", o.v, searchMaxResults)
	}
	return int(o.v), nil
}

type orderKey struct {
	kind, key string
	asc       bool
}

func parseOrderBy(items []string, attrs map[string]string) ([]orderKey, *apiErr) {
	var out []orderKey
	for _, item := range items {
		fields := strings.Fields(item)
		if len(fields) == 0 || len(fields) > 2 {
			return nil, invalidf("Invalid order_by clause '%s'. Could not be parsed.", item)
		}
		k := orderKey{asc: true}
		if len(fields) == 2 {
			switch strings.ToUpper(fields[1]) {
			case "ASC":
			case "DESC":
				k.asc = false
			default:
				return nil, invalidf("Invalid ordering key in order_by clause '%s'.", item)
			}
		}
		ident := strings.ReplaceAll(fields[0], "`", "")
		if prefix, key, ok := strings.Cut(ident, "."); ok {
			kind, known := kindPrefixes[strings.ToLower(prefix)]
			if !known {
				return nil, invalidf("Invalid order_by entity type '%s'", prefix)
			}
			k.kind, k.key = kind, key
		} else {
			k.kind, k.key = "attribute", ident
		}
		if k.kind == "attribute" {
			if _, ok := attrs[k.key]; !ok {
				return nil, invalidf("Invalid attribute key '%s' specified. Valid keys are '%s'", k.key, attrKeys(attrs))
			}
		}
		out = append(out, k)
	}
	return out, nil
}

// attrKeys formats the valid keys as the repr of a Python set (whose
// order on the real server varies between processes).
func attrKeys(attrs map[string]string) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, "'"+k+"'")
	}
	slices.Sort(keys)
	return "{" + strings.Join(keys, ", ") + "}"
}

// runAttrs are the run attributes the fake can filter and order by.
var runAttrs = map[string]string{"status": "str", "run_name": "str", "run_id": "str", "user_id": "str", "start_time": "num", "end_time": "num"}

func (rn *run) attr(key string) (string, float64, bool) {
	switch key {
	case "status":
		return rn.status, 0, true
	case "run_name":
		return rn.name, 0, true
	case "run_id":
		return rn.id, 0, true
	case "user_id":
		return rn.userID, 0, true
	case "start_time":
		return "", float64(rn.startTime), true
	case "end_time":
		if rn.endTime == nil {
			return "", 0, false
		}
		return "", float64(*rn.endTime), true
	}
	return "", 0, false
}

func (rn *run) matches(cs []clause) bool {
	for i := range cs {
		c := &cs[i]
		switch c.kind {
		case "metric":
			p, ok := rn.latest[c.key]
			if !ok || !c.matchNum(p.value) {
				return false
			}
		case "param":
			v, ok := getKV(rn.params, c.key)
			if !ok || !compareStr(c.op, v, c.str) {
				return false
			}
		case "tag":
			v, ok := getKV(rn.tags, c.key)
			if !ok || !compareStr(c.op, v, c.str) {
				return false
			}
		case "attribute":
			s, n, ok := rn.attr(c.key)
			if !ok {
				return false
			}
			if runAttrs[c.key] == "num" {
				if !c.matchNum(n) {
					return false
				}
			} else if !compareStr(c.op, s, c.str) {
				return false
			}
		}
	}
	return true
}

// sortValue is a run's value for one order key: rank 0 = number or string,
// 1 = NaN (metrics), 2 = absent; missing and NaN sort last either way, as in
// the SQL store.
func (rn *run) sortValue(k orderKey) (rank int, num float64, str string) {
	switch k.kind {
	case "metric":
		p, ok := rn.latest[k.key]
		if !ok {
			return 2, 0, ""
		}
		if math.IsNaN(p.value) {
			return 1, 0, ""
		}
		return 0, p.value, ""
	case "param", "tag":
		list := rn.params
		if k.kind == "tag" {
			list = rn.tags
		}
		v, ok := getKV(list, k.key)
		if !ok {
			return 2, 0, ""
		}
		return 0, 0, v
	default:
		s, n, ok := rn.attr(k.key)
		if !ok {
			return 2, 0, ""
		}
		return 0, n, s
	}
}

func compareRuns(a, b *run, keys []orderKey) int {
	for _, k := range keys {
		ra, na, sa := a.sortValue(k)
		rb, nb, sb := b.sortValue(k)
		if c := cmp.Compare(ra, rb); c != 0 {
			return c
		}
		c := cmp.Compare(na, nb)
		if c == 0 {
			c = strings.Compare(sa, sb)
		}
		if !k.asc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	// Tie-break: start_time DESC, then run id.
	if c := cmp.Compare(b.startTime, a.startTime); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func (s *Server) searchRuns(w http.ResponseWriter, r *http.Request) *apiErr {
	var req searchRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	view, err := viewTypeOf(req.RunViewType)
	if err != nil {
		return err
	}
	size, err := maxResultsOf(req.MaxResults, true)
	if err != nil {
		return err
	}
	for _, id := range req.ExperimentIDs {
		if err := validateExperimentID(id); err != nil {
			return err
		}
	}
	offset, err := parsePageToken(req.PageToken)
	if err != nil {
		return err
	}
	clauses, ferr := parseFilter(req.Filter)
	if ferr == nil {
		ferr = checkClauses(req.Filter, clauses, runAttrs, true)
	}
	if ferr != nil {
		var fe *filterError
		if errors.As(ferr, &fe) && fe.invalidClause != "" {
			return invalidf("%s: '%s'", fe.msg, fe.invalidClause)
		}
		return invalidf("%s", ferr.Error())
	}
	order, err := parseOrderBy(req.OrderBy, runAttrs)
	if err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	exps := make(map[string]bool, len(req.ExperimentIDs))
	for _, id := range req.ExperimentIDs {
		exps[id] = true
	}
	var found []*run
	for _, rn := range s.runs {
		if exps[rn.experimentID] && viewMatches(view, rn.lifecycle) && rn.matches(clauses) {
			found = append(found, rn)
		}
	}
	slices.SortFunc(found, func(a, b *run) int { return compareRuns(a, b, order) })
	pageRuns, next := page(found, offset, size)
	var resp struct {
		Runs          []wRun `json:"runs,omitempty"`
		NextPageToken string `json:"next_page_token,omitempty"`
	}
	for _, rn := range pageRuns {
		resp.Runs = append(resp.Runs, rn.wire())
	}
	resp.NextPageToken = next
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// experimentAttrs are the experiment attributes the fake can filter and
// order by.
var experimentAttrs = map[string]string{"name": "str", "experiment_id": "str", "creation_time": "num", "last_update_time": "num"}

func (e *experiment) attr(key string) (string, float64) {
	switch key {
	case "name":
		return e.name, 0
	case "experiment_id":
		return e.id, 0
	case "creation_time":
		return "", float64(e.creationTime)
	case "last_update_time":
		return "", float64(e.lastUpdateTime)
	}
	return "", 0
}

func (e *experiment) matches(cs []clause) bool {
	for i := range cs {
		c := &cs[i]
		if c.kind == "tag" {
			v, ok := getKV(e.tags, c.key)
			if !ok || !compareStr(c.op, v, c.str) {
				return false
			}
			continue
		}
		s, n := e.attr(c.key)
		if experimentAttrs[c.key] == "num" {
			if !c.matchNum(n) {
				return false
			}
		} else if !compareStr(c.op, s, c.str) {
			return false
		}
	}
	return true
}

// compareExperiments is _get_search_experiments_order_by_clauses: by
// default creation_time DESC, experiment_id ASC; otherwise the given keys
// with experiment_id DESC as the tie-breaker.
func compareExperiments(a, b *experiment, keys []orderKey) int {
	if len(keys) == 0 {
		keys = []orderKey{{kind: "attribute", key: "creation_time"}, {kind: "attribute", key: "experiment_id", asc: true}}
	} else if !slices.ContainsFunc(keys, func(k orderKey) bool { return k.kind == "attribute" && k.key == "experiment_id" }) {
		keys = append(slices.Clone(keys), orderKey{kind: "attribute", key: "experiment_id"})
	}
	for _, k := range keys {
		var c int
		switch {
		case k.kind == "tag":
			va, oka := getKV(a.tags, k.key)
			vb, okb := getKV(b.tags, k.key)
			if oka != okb {
				if oka {
					return -1
				}
				return 1
			}
			c = strings.Compare(va, vb)
		case k.key == "experiment_id":
			ia, _ := strconv.Atoi(a.id)
			ib, _ := strconv.Atoi(b.id)
			c = cmp.Compare(ia, ib)
		default:
			sa, na := a.attr(k.key)
			sb, nb := b.attr(k.key)
			c = cmp.Compare(na, nb)
			if c == 0 {
				c = strings.Compare(sa, sb)
			}
		}
		if !k.asc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func (s *Server) searchExperiments(w http.ResponseWriter, r *http.Request) *apiErr {
	var req searchRequest
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		req.Filter = q.Get("filter")
		req.OrderBy = q["order_by"]
		req.PageToken = q.Get("page_token")
		if v := q.Get("view_type"); v != "" {
			req.ViewType = json.RawMessage(strconv.Quote(v))
		}
		if v := q.Get("max_results"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return invalidf("Invalid value %s for parameter 'max_results' supplied.", quote(v))
			}
			req.MaxResults = optInt{n, true}
		}
	} else if err := decodeBody(r, &req); err != nil {
		return err
	}
	view, err := viewTypeOf(req.ViewType)
	if err != nil {
		return err
	}
	size, err := maxResultsOf(req.MaxResults, false)
	if err != nil {
		return err
	}
	offset, err := parsePageToken(req.PageToken)
	if err != nil {
		return err
	}
	clauses, ferr := parseFilter(req.Filter)
	if ferr == nil {
		ferr = checkClauses(req.Filter, clauses, experimentAttrs, false)
	}
	var fe *filterError
	if ferr != nil {
		if errors.As(ferr, &fe) {
			if fe.invalidClause != "" {
				return invalidf("%s: %s", fe.msg, fe.invalidClause)
			}
			return invalidf("%s", fe.msg)
		}
		return invalidf("%v", ferr)
	}
	for _, c := range clauses {
		if c.kind == "param" {
			return invalidf("Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', 'tags')")
		}
	}
	order, err := parseOrderBy(req.OrderBy, experimentAttrs)
	if err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	var found []*experiment
	for _, e := range s.experiments {
		if viewMatches(view, e.lifecycle) && e.matches(clauses) {
			found = append(found, e)
		}
	}
	slices.SortFunc(found, func(a, b *experiment) int { return compareExperiments(a, b, order) })
	pageExps, next := page(found, offset, size)
	var resp struct {
		Experiments   []wExperiment `json:"experiments,omitempty"`
		NextPageToken string        `json:"next_page_token,omitempty"`
	}
	for _, e := range pageExps {
		resp.Experiments = append(resp.Experiments, e.wire())
	}
	resp.NextPageToken = next
	writeJSON(w, http.StatusOK, resp)
	return nil
}
