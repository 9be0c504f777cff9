package client

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// MLflow's server limits (mlflow/utils/validation.py).
const (
	MaxEntityKeyLength        = 250       // metric, param and run-tag keys
	MaxParamValueLength       = 6000      // param values
	MaxTagValueLength         = 8000      // run-tag values
	MaxExperimentNameLength   = 500       // experiment names
	MaxExperimentTagKeyLength = 250       // experiment tag keys
	MaxExperimentTagValLength = 5000      // experiment tag values
	MaxParamsTagsPerBatch     = 100       // params per log-batch; tags per log-batch
	MaxMetricsPerBatch        = 1000      // metrics per log-batch
	MaxEntitiesPerBatch       = 1000      // metrics + params + tags per log-batch
	MaxBatchRequestBytes      = 1_000_000 // log-batch body size the client keeps under
	MaxDatasetsPerBatch       = 1000      // datasets per log-inputs
	maxDatasetNameSize        = 500       // MAX_DATASET_NAME_SIZE
	maxDatasetDigestSize      = 36        // MAX_DATASET_DIGEST_SIZE
	maxDatasetSourceSize      = 65535     // MAX_DATASET_SOURCE_SIZE
	maxDatasetSchemaSize      = 1048575
	maxDatasetProfileSize     = 16777215
	maxInputTagKeySize        = 255
	maxInputTagValueSize      = 500
	maxModelTagKeyLength      = 250
	maxAliasLength            = 255
	maxRunIDLength            = 256 // ^[a-zA-Z0-9][\w\-]{0,255}$
	maxExperimentIDLength     = 64  // ^[a-zA-Z0-9][\w\-]{0,63}$
	searchMaxResultsThreshold = 50000
)

// Rules named in ValidationError.Rule.
const (
	ruleKeyChars    = "names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon (:) and slashes (/)"
	ruleKeyPath     = "names must be normalized paths: not empty, no leading or trailing '/', no '//', no '.' or '..' segments"
	ruleRequired    = "must not be empty"
	ruleRunIDFormat = "run IDs must match ^[a-zA-Z0-9][\\w\\-]{0,255}$"
	ruleExpIDFormat = "experiment IDs must match ^[a-zA-Z0-9][\\w\\-]{0,63}$"
	ruleTimestamp   = "timestamp must be >= 0 (milliseconds since the Unix epoch)"
	ruleDupParam    = "duplicate param key in one batch"
	ruleUTF8        = "must be valid UTF-8"
)

func ruleMaxLen(n int) string { return "longer than " + strconv.Itoa(n) + " characters" }

// isWordRune reports whether r matches Python's Unicode \w: str.isalnum()
// (letters Lu Ll Lt Lm Lo, plus characters with a numeric value: Nd Nl No)
// or '_'. Combining marks (Mn, Mc) do not match, as in Python (checked
// against CPython 3.11's re over every code point: identical except for
// characters added in Unicode 15, which Go knows and CPython 3.11 does not).
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// checkEntityKey applies MLflow's name rules to a metric, param or tag key:
// the character set ^[/\w.\- :]*$ with Python-Unicode \w, the path rule
// (posixpath.normpath(name) == name, not ".", not starting with ".." or "/"),
// and the length limit. It does not allocate on success.
func checkEntityKey(field, key string) *ValidationError {
	if key == "" {
		return newValidationError(field, ruleRequired, key)
	}
	if !utf8.ValidString(key) {
		return newValidationError(field, ruleUTF8, key)
	}
	n := 0
	for _, r := range key {
		n++
		if !(isWordRune(r) || r == '/' || r == '.' || r == '-' || r == ' ' || r == ':') {
			return newValidationError(field, ruleKeyChars, key)
		}
	}
	if !isNormalPath(key) {
		return newValidationError(field, ruleKeyPath, key)
	}
	if n > MaxEntityKeyLength {
		return newValidationError(field, ruleMaxLen(MaxEntityKeyLength), key)
	}
	return nil
}

// isNormalPath reports whether posixpath.normpath(s) == s, s != "." and s
// does not start with ".." or "/".
func isNormalPath(s string) bool {
	if s == "" || s == "." || s[0] == '/' || s[len(s)-1] == '/' {
		return false
	}
	if len(s) >= 2 && s[0] == '.' && s[1] == '.' {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '/' {
			seg := s[start:i]
			if seg == "" || seg == "." || seg == ".." {
				return false
			}
			start = i + 1
		}
	}
	return true
}

// checkMaxRunes reports whether s has at most n runes (Python len()).
func checkMaxRunes(field, s string, n int) *ValidationError {
	if len(s) <= n {
		return nil
	}
	if utf8.RuneCountInString(s) > n {
		return &ValidationError{Field: field, Rule: ruleMaxLen(n)}
	}
	return nil
}

// checkID applies ^[a-zA-Z0-9][\w\-]{0,max-1}$.
func checkID(field, id string, max int, rule string) *ValidationError {
	if id == "" {
		return newValidationError(field, ruleRequired, id)
	}
	c := id[0]
	if !(('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')) {
		return newValidationError(field, rule, id)
	}
	n := 0
	for _, r := range id {
		n++
		if r == utf8.RuneError || !(isWordRune(r) || r == '-') {
			return newValidationError(field, rule, id)
		}
	}
	if n > max {
		return newValidationError(field, rule, id)
	}
	return nil
}

func validateRunID(runID string) error {
	if e := checkID("run_id", runID, maxRunIDLength, ruleRunIDFormat); e != nil {
		return e
	}
	return nil
}

func validateExperimentID(id string) error {
	if e := checkID("experiment_id", id, maxExperimentIDLength, ruleExpIDFormat); e != nil {
		return e
	}
	return nil
}

func validateExperimentName(name string) error {
	if name == "" {
		return newValidationError("name", "experiment name "+ruleRequired, name)
	}
	if !utf8.ValidString(name) {
		return newValidationError("name", ruleUTF8, name)
	}
	if e := checkMaxRunes("name", name, MaxExperimentNameLength); e != nil {
		return e
	}
	return nil
}

func validateExperimentTag(field string, t Tag) error {
	if t.Key == "" {
		return newValidationError(field+".key", ruleRequired, t.Key)
	}
	if e := checkMaxRunes(field+".key", t.Key, MaxExperimentTagKeyLength); e != nil {
		return e
	}
	if e := checkMaxRunes(field+".value", t.Value, MaxExperimentTagValLength); e != nil {
		return e
	}
	return nil
}

// ValidateMetric checks m against MLflow's rules: key rules (characters,
// normalized path, at most 250 characters) and timestamp >= 0. NaN and ±Inf
// values are valid. It returns a *ValidationError and does not modify m.
// It is safe for concurrent use.
func ValidateMetric(m Metric) error {
	if e := validateMetricAt(&m); e != nil {
		e.Field = "metric." + e.Field
		return e
	}
	return nil
}

// validateMetricAt checks m; the error's Field is relative ("key",
// "timestamp") for the caller to prefix.
func validateMetricAt(m *Metric) *ValidationError {
	if e := checkEntityKey("key", m.Key); e != nil {
		return e
	}
	if m.Timestamp < 0 {
		return newValidationError("timestamp", ruleTimestamp, strconv.FormatInt(m.Timestamp, 10))
	}
	return nil // any float64 value is valid, NaN and ±Inf included
}

// ValidateParam checks p: key rules and a value of at most 6000 characters.
// It returns a *ValidationError (which never quotes the value) and is safe
// for concurrent use.
func ValidateParam(p Param) error {
	if e := validateParamAt(&p); e != nil {
		e.Field = "param." + e.Field
		return e
	}
	return nil
}

func validateParamAt(p *Param) *ValidationError {
	if e := checkEntityKey("key", p.Key); e != nil {
		return e
	}
	if e := checkMaxRunes("value", p.Value, MaxParamValueLength); e != nil {
		return e
	}
	return nil
}

// ValidateTag checks a run tag t: key rules and a value of at most 8000
// characters. It returns a *ValidationError (which never quotes the value)
// and is safe for concurrent use.
func ValidateTag(t Tag) error {
	if e := validateTagAt(&t); e != nil {
		e.Field = "tag." + e.Field
		return e
	}
	return nil
}

func validateTagAt(t *Tag) *ValidationError {
	if e := checkEntityKey("key", t.Key); e != nil {
		return e
	}
	if e := checkMaxRunes("value", t.Value, MaxTagValueLength); e != nil {
		return e
	}
	return nil
}

// ValidateBatch applies ValidateMetric, ValidateParam and ValidateTag to
// every element of b and rejects duplicate param keys. Batches larger than
// one request allows are valid: LogBatch splits them. Field names carry the
// index, e.g. "metrics[12].key". It does not modify b and is safe for
// concurrent use.
func ValidateBatch(b Batch) error {
	for i := range b.Metrics {
		if e := validateMetricAt(&b.Metrics[i]); e != nil {
			e.Field = "metrics[" + strconv.Itoa(i) + "]." + e.Field
			return e
		}
	}
	for i := range b.Params {
		if e := validateParamAt(&b.Params[i]); e != nil {
			e.Field = "params[" + strconv.Itoa(i) + "]." + e.Field
			return e
		}
	}
	for i := range b.Tags {
		if e := validateTagAt(&b.Tags[i]); e != nil {
			e.Field = "tags[" + strconv.Itoa(i) + "]." + e.Field
			return e
		}
	}
	if len(b.Params) > 1 {
		seen := make(map[string]struct{}, len(b.Params))
		for i, p := range b.Params {
			if _, dup := seen[p.Key]; dup {
				return newValidationError("params["+strconv.Itoa(i)+"].key", ruleDupParam, p.Key)
			}
			seen[p.Key] = struct{}{}
		}
	}
	return nil
}

// validateDatasetInputs checks log-inputs against MLflow's dataset limits.
func validateDatasetInputs(inputs []DatasetInput) error {
	if len(inputs) > MaxDatasetsPerBatch {
		return &ValidationError{Field: "datasets", Rule: "more than " + strconv.Itoa(MaxDatasetsPerBatch) + " datasets in one call"}
	}
	for i, in := range inputs {
		f := "datasets[" + strconv.Itoa(i) + "]"
		d := in.Dataset
		for _, req := range []struct{ name, v string }{{"name", d.Name}, {"digest", d.Digest}, {"source_type", d.SourceType}, {"source", d.Source}} {
			if req.v == "" {
				return &ValidationError{Field: f + ".dataset." + req.name, Rule: ruleRequired}
			}
		}
		for _, lim := range []struct {
			name string
			v    string
			n    int
		}{{"name", d.Name, maxDatasetNameSize}, {"digest", d.Digest, maxDatasetDigestSize}, {"source", d.Source, maxDatasetSourceSize},
			{"schema", d.Schema, maxDatasetSchemaSize}, {"profile", d.Profile, maxDatasetProfileSize}} {
			if e := checkMaxRunes(f+".dataset."+lim.name, lim.v, lim.n); e != nil {
				return e
			}
		}
		for j, t := range in.Tags {
			tf := f + ".tags[" + strconv.Itoa(j) + "]"
			if t.Key == "" {
				return &ValidationError{Field: tf + ".key", Rule: ruleRequired}
			}
			if e := checkMaxRunes(tf+".key", t.Key, maxInputTagKeySize); e != nil {
				return e
			}
			if e := checkMaxRunes(tf+".value", t.Value, maxInputTagValueSize); e != nil {
				return e
			}
		}
	}
	return nil
}

// validateModelName checks a registered-model name: not blank, no '/' or ':'.
func validateModelName(name string) error {
	if name == "" || isBlank(name) {
		return newValidationError("name", "registered model name "+ruleRequired, name)
	}
	for _, r := range name {
		if r == '/' || r == ':' {
			return newValidationError("name", "registered model names may not contain '/' or ':'", name)
		}
	}
	return nil
}

// validateAlias applies ^[\w\-]*$, length 255, and the reserved names.
func validateAlias(alias string) error {
	if alias == "" {
		return newValidationError("alias", ruleRequired, alias)
	}
	n := 0
	for _, r := range alias {
		n++
		if !(isWordRune(r) || r == '-') {
			return newValidationError("alias", "aliases may only contain alphanumerics, underscores and dashes", alias)
		}
	}
	if n > maxAliasLength {
		return newValidationError("alias", ruleMaxLen(maxAliasLength), alias)
	}
	if equalFoldASCII(alias, "latest") || ((alias[0] == 'v' || alias[0] == 'V') && len(alias) > 1 && allDigits(alias[1:])) {
		return newValidationError("alias", "alias is reserved ('latest' and v<number>)", alias)
	}
	return nil
}

func isBlank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
