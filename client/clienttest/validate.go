package clienttest

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Server-side limits (mlflow/utils/validation.py).
const (
	maxEntityKeyLength      = 250
	maxParamValueLength     = 6000
	maxTagValueLength       = 8000
	maxExperimentNameLength = 500
	maxExpTagKeyLength      = 250
	maxExpTagValueLength    = 5000
	maxParamsTagsPerBatch   = 100
	maxMetricsPerBatch      = 1000
	maxEntitiesPerBatch     = 1000
	maxDatasetsPerBatch     = 1000
	maxDatasetNameSize      = 500
	maxDatasetDigestSize    = 36
	maxDatasetSourceSize    = 65535
	maxDatasetSchemaSize    = 1048575
	maxDatasetProfileSize   = 16777215
	maxInputTagKeySize      = 255
	maxInputTagValueSize    = 500
	maxAliasLength          = 255
	searchMaxResults        = 50000
	defaultSearchMaxResults = 1000
	maxRunsBulkInterval     = 100
	maxResultsPerRun        = 2500
)

var (
	runIDPattern        = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,255}$`)
	experimentIDPattern = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,63}$`)
	reservedAlias       = regexp.MustCompile(`^[vV]\d+$`)
)

const badCharactersMessage = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."

// isWordRune reports whether r matches Python's Unicode \w: letters, digits
// and other numeric characters, and the underscore.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// validName is MLflow's _is_valid_name: ^[/\w.\- :]*$ with Unicode \w.
func validName(name string) bool {
	for _, r := range name {
		switch {
		case isWordRune(r), r == '/', r == '.', r == '-', r == ' ', r == ':':
		default:
			return false
		}
	}
	return utf8.ValidString(name)
}

// pathUnique is the negation of MLflow's path_not_unique: the name must be
// its own posixpath.normpath, not ".", and start with neither ".." nor "/".
func pathUnique(name string) bool {
	return path.Clean(name) == name && name != "." && !strings.HasPrefix(name, "..") && !strings.HasPrefix(name, "/")
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func invalidValue(param, value, msg string) *apiErr {
	return invalidf("Invalid value %s for parameter '%s' supplied: %s", quote(value), param, msg)
}

// validateKey checks a metric, param or tag key: missing (or empty) keys
// are reported under missingName, bad ones under invalidName, as the real
// server names them ("key", "name", "metrics[3].name", ...).
func validateKey(missingName, invalidName string, key *string) *apiErr {
	if key == nil || *key == "" {
		return missingParam(missingName)
	}
	if !validName(*key) {
		return invalidValue(invalidName, *key, badCharactersMessage)
	}
	if !pathUnique(*key) {
		return invalidValue(invalidName, *key, "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '"+path.Clean(*key)+"'")
	}
	return nil
}

// lengthLimit is the server's check of a key's length.
func lengthLimit(entity string, limit int, value string) *apiErr {
	if utf8.RuneCountInString(value) > limit {
		return invalidf("'%s' exceeds the maximum length of %d characters", entity, limit)
	}
	return nil
}

// truncateValue cuts param and tag values to the limit, as the real server
// does with MLFLOW_TRUNCATE_LONG_VALUES (on by default).
func truncateValue(value *string, limit int) string {
	if value == nil {
		return ""
	}
	if utf8.RuneCountInString(*value) > limit {
		return firstRunes(*value, limit)
	}
	return *value
}

func firstRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// validateRunID is the run ID format check, which the real server applies
// only in log-batch; elsewhere a malformed ID is simply not found.
func validateRunID(id string) *apiErr {
	if id == "" {
		return missingParam("run_id")
	}
	if !runIDPattern.MatchString(id) {
		return invalidf("Invalid value %s for parameter 'run_id' supplied.", quote(id))
	}
	return nil
}

// validateExperimentID: the SQL store's experiment IDs are integers.
func validateExperimentID(id string) *apiErr {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil || !experimentIDPattern.MatchString(id) {
		return invalidf("Invalid experiment ID '%s'. Experiment ID must be a valid integer.", id)
	}
	return nil
}

func validateExperimentName(name string) *apiErr {
	if name == "" {
		return invalidf("Invalid experiment name: '%s'", name)
	}
	if utf8.RuneCountInString(name) > maxExperimentNameLength {
		return invalidf("'name' exceeds the maximum length of %d characters", maxExperimentNameLength)
	}
	return nil
}

// validateParam checks one param (prefix is "" or "params[i].") and
// returns its value, truncated to the limit; a missing value is "".
func validateParam(prefix string, key, value *string) (string, *apiErr) {
	if err := validateKey(prefix+"key", prefix+"key", key); err != nil {
		return "", err
	}
	if err := lengthLimit("Param key", maxEntityKeyLength, *key); err != nil {
		return "", err
	}
	return truncateValue(value, maxParamValueLength), nil
}

// validateTag checks one run tag (prefix is "" or "tags[i].") and returns
// its value, truncated to the limit; a missing value is "".
func validateTag(prefix string, key, value *string) (string, *apiErr) {
	if err := validateKey(prefix+"key", prefix+"key", key); err != nil {
		return "", err
	}
	if err := lengthLimit(prefix+"key", maxEntityKeyLength, *key); err != nil {
		return "", err
	}
	return truncateValue(value, maxTagValueLength), nil
}

// validateExperimentTag checks an experiment tag key. The real server
// (3.17) does not enforce the 5000-character value limit.
func validateExperimentTag(key, value *string) *apiErr {
	if err := validateKey("key", "key", key); err != nil {
		return err
	}
	return lengthLimit("key", maxExpTagKeyLength, *key)
}

// validateMetric checks one metric; i is its index in a log-batch, or -1
// (error messages name "metrics[i].key" or "key").
func validateMetric(i int, m rMetric) *apiErr {
	if m.Key != nil && *m.Key != "" && validName(*m.Key) && pathUnique(*m.Key) &&
		m.Value.set && m.Timestamp.set && m.Timestamp.v >= 0 && utf8.RuneCountInString(*m.Key) <= maxEntityKeyLength {
		return nil // the common case, without building field names
	}
	prefix := ""
	if i >= 0 {
		prefix = fmt.Sprintf("metrics[%d].", i)
	}
	if err := validateKey(prefix+"key", prefix+"name", m.Key); err != nil {
		return err
	}
	if err := lengthLimit("Metric name", maxEntityKeyLength, *m.Key); err != nil {
		return err
	}
	if !m.Value.set {
		return missingParam(prefix + "value")
	}
	if !m.Timestamp.set {
		return missingParam(prefix + "timestamp")
	}
	if m.Timestamp.v < 0 {
		return invalidf("Invalid value %d for parameter '%stimestamp' supplied: metric '%s' (value=%s). Timestamp must be a nonnegative long (64-bit integer) ", m.Timestamp.v, prefix, *m.Key, appendPyFloat(nil, m.Value.v))
	}
	return nil
}
