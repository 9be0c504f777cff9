package clienttest

import (
	"encoding/json"
	"path"
	"regexp"
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

// validateKey checks a metric, param or tag key.
func validateKey(param string, key *string) *apiErr {
	if key == nil {
		return missingParam(param)
	}
	if !validName(*key) {
		return invalidValue(param, *key, badCharactersMessage)
	}
	if !pathUnique(*key) {
		return invalidValue(param, *key, "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to "+quote(path.Clean(*key)))
	}
	return nil
}

// checkLength is _validate_length_limit: values over the limit are an error,
// or are truncated when truncate is set (MLFLOW_TRUNCATE_LONG_VALUES, on by
// default on the real server, applies to param and tag values).
func checkLength(entity string, limit int, value string, truncateLong bool) (string, *apiErr) {
	n := utf8.RuneCountInString(value)
	if n <= limit {
		return value, nil
	}
	if truncateLong {
		return firstRunes(value, limit), nil
	}
	return "", invalidf("%s '%s' had length %d, which exceeded length limit of %d", entity, firstRunes(value, 250), n, limit)
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

func validateRunID(id string) *apiErr {
	if id == "" {
		return missingParam("run_id")
	}
	if !runIDPattern.MatchString(id) {
		return invalidf("Invalid run ID: '%s'", id)
	}
	return nil
}

func validateExperimentID(id string) *apiErr {
	if !experimentIDPattern.MatchString(id) {
		return invalidf("Invalid experiment ID: '%s'", id)
	}
	return nil
}

func validateExperimentName(name string) *apiErr {
	if name == "" {
		return invalidf("Invalid experiment name: '%s'", name)
	}
	if utf8.RuneCountInString(name) > maxExperimentNameLength {
		return invalidf("Experiment name '%s' had length %d, which exceeded length limit of %d", firstRunes(name, 250), utf8.RuneCountInString(name), maxExperimentNameLength)
	}
	return nil
}

// validateParam checks one param and returns its (possibly truncated) value.
func validateParam(key, value *string) (string, *apiErr) {
	if err := validateKey("key", key); err != nil {
		return "", err
	}
	if _, err := checkLength("Param key", maxEntityKeyLength, *key, false); err != nil {
		return "", err
	}
	if value == nil {
		return "", missingParam("value")
	}
	return checkLength("Param value", maxParamValueLength, *value, true)
}

// validateTag checks one run tag and returns its (possibly truncated) value.
func validateTag(key, value *string) (string, *apiErr) {
	if err := validateKey("key", key); err != nil {
		return "", err
	}
	if _, err := checkLength("Tag key", maxEntityKeyLength, *key, false); err != nil {
		return "", err
	}
	if value == nil {
		return "", nil
	}
	return checkLength("Tag value", maxTagValueLength, *value, true)
}

func validateExperimentTag(key, value *string) *apiErr {
	if err := validateKey("key", key); err != nil {
		return err
	}
	if _, err := checkLength("Tag key", maxExpTagKeyLength, *key, false); err != nil {
		return err
	}
	if value != nil {
		if _, err := checkLength("Tag value", maxExpTagValueLength, *value, false); err != nil {
			return err
		}
	}
	return nil
}

func validateMetric(m rMetric) *apiErr {
	if err := validateKey("key", m.Key); err != nil {
		return err
	}
	if _, err := checkLength("Metric name", maxEntityKeyLength, *m.Key, false); err != nil {
		return err
	}
	if !m.Value.set {
		return missingParam("value")
	}
	if !m.Timestamp.set {
		return missingParam("timestamp")
	}
	if m.Timestamp.v < 0 {
		return invalidf("Got invalid timestamp %d for metric '%s' (value=%v). Timestamp must be a nonnegative long (64-bit integer) ", m.Timestamp.v, *m.Key, m.Value.v)
	}
	return nil
}
