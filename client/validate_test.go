package client

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestCheckEntityKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  string
		rule string // "" = valid
	}{
		{"auc", ""},
		{"val/auc", ""},
		{"a.b-c d:e_f", ""},
		{"métrique_été", ""},
		{"精度", ""},
		{"точность/val", ""},
		{"x²", ""},                // U+00B2 SUPERSCRIPT TWO is No: Python isnumeric
		{"Ⅻ", ""},                 // Nl
		{"٣", ""},                 // Arabic-Indic digit
		{"e\u0301", ruleKeyChars}, // combining acute (Mn): not \w in Python
		{"हिन्दी", ruleKeyChars},  // Devanagari vowel signs (Mc/Mn)
		{"", ruleRequired},
		{"a!", ruleKeyChars},
		{"a@b", ruleKeyChars},
		{"tab\t", ruleKeyChars},
		{"new\nline", ruleKeyChars},
		{"emoji😀", ruleKeyChars},
		{"/leading", ruleKeyPath},
		{"trailing/", ruleKeyPath},
		{"double//slash", ruleKeyPath},
		{"./x", ruleKeyPath},
		{"a/./b", ruleKeyPath},
		{"a/../b", ruleKeyPath},
		{"..", ruleKeyPath},
		{"..a", ruleKeyPath},
		{".", ruleKeyPath},
		{"a/..", ruleKeyPath},
		{".hidden", ""},
		{"a..b", ""},
		{"a/.b", ""},
		{strings.Repeat("k", 250), ""},
		{strings.Repeat("k", 251), ruleMaxLen(250)},
		{strings.Repeat("é", 250), ""}, // 500 bytes, 250 characters
		{strings.Repeat("é", 251), ruleMaxLen(250)},
		{"bad\xffutf8", ruleUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			err := checkEntityKey("key", tt.key)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("checkEntityKey(%q) = %v, want nil", tt.key, err)
				}
				return
			}
			if err == nil || err.Rule != tt.rule {
				t.Fatalf("checkEntityKey(%q) = %v, want rule %q", tt.key, err, tt.rule)
			}
		})
	}
}

func TestValidateBatch(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("v", n) }
	tests := []struct {
		name      string
		b         Batch
		wantField string
		wantRule  string
	}{
		{"empty", Batch{}, "", ""},
		{"valid with NaN and Inf", Batch{Metrics: []Metric{{Key: "a", Value: math.NaN()}, {Key: "b", Value: math.Inf(-1), Step: -5}}}, "", ""},
		{"bad metric key", Batch{Metrics: []Metric{{Key: "ok"}, {Key: "bad!"}}}, "metrics[1].key", ruleKeyChars},
		{"negative timestamp", Batch{Metrics: []Metric{{Key: "a", Timestamp: -1}}}, "metrics[0].timestamp", ruleTimestamp},
		{"param value 6000", Batch{Params: []Param{{"p", long(6000)}}}, "", ""},
		{"param value 6001", Batch{Params: []Param{{"p", long(6001)}}}, "params[0].value", ruleMaxLen(6000)},
		{"tag value 8000", Batch{Tags: []Tag{{"t", long(8000)}}}, "", ""},
		{"tag value 8001", Batch{Tags: []Tag{{"t", long(8001)}}}, "tags[0].value", ruleMaxLen(8000)},
		{"duplicate param keys", Batch{Params: []Param{{"a", "1"}, {"b", "2"}, {"a", "1"}}}, "params[2].key", ruleDupParam},
		{"duplicate tags allowed", Batch{Tags: []Tag{{"a", "1"}, {"a", "2"}}}, "", ""},
		{"bad tag key", Batch{Tags: []Tag{{"a//b", "1"}}}, "tags[0].key", ruleKeyPath},
		{"over server limits is valid", Batch{Metrics: make1000("m", 2500), Params: makeParams(150)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateBatch(tt.b)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("ValidateBatch = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ValidateBatch = %v, want *ValidationError", err)
			}
			if ve.Field != tt.wantField || ve.Rule != tt.wantRule {
				t.Errorf("got field %q rule %q, want %q %q", ve.Field, ve.Rule, tt.wantField, tt.wantRule)
			}
			if !errors.Is(err, ErrInvalidParameter) {
				t.Error("not ErrInvalidParameter")
			}
			if strings.Contains(err.Error(), long(100)) {
				t.Error("error carries the whole value")
			}
		})
	}
}

func make1000(prefix string, n int) []Metric {
	ms := make([]Metric, n)
	for i := range ms {
		ms[i] = Metric{Key: prefix + string(rune('a'+i%26)), Value: float64(i), Timestamp: int64(1000 + i), Step: int64(i)}
	}
	return ms
}

func makeParams(n int) []Param {
	ps := make([]Param, n)
	for i := range ps {
		ps[i] = Param{Key: "p" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26)), Value: "v"}
	}
	return ps
}

func TestValidateIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id    string
		run   bool
		exp   bool
		field string
	}{
		{"0a1b2c3d4e5f60718293a4b5c6d7e8f9", true, true, ""},
		{"0", true, true, ""},
		{"run-1_x", true, true, ""},
		{"", false, false, ""},
		{"-abc", false, false, ""},
		{"_abc", false, false, ""},
		{"a b", false, false, ""},
		{"a/b", false, false, ""},
		{"a" + strings.Repeat("b", 63), true, true, ""},
		{"a" + strings.Repeat("b", 64), true, false, ""},
		{"a" + strings.Repeat("b", 255), true, false, ""},
		{"a" + strings.Repeat("b", 256), false, false, ""},
		{"aé", true, true, ""},
	}
	for _, tt := range tests {
		if got := validateRunID(tt.id) == nil; got != tt.run {
			t.Errorf("validateRunID(%q) valid = %v, want %v", tt.id, got, tt.run)
		}
		if got := validateExperimentID(tt.id) == nil; got != tt.exp {
			t.Errorf("validateExperimentID(%q) valid = %v, want %v", tt.id, got, tt.exp)
		}
	}
}

func TestValidateExperimentName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{"x": true, "": false, strings.Repeat("n", 500): true, strings.Repeat("n", 501): false, strings.Repeat("ü", 500): true, "a/b: c!": true} {
		if got := validateExperimentName(name) == nil; got != ok {
			t.Errorf("validateExperimentName(%d chars) valid = %v, want %v", len([]rune(name)), got, ok)
		}
	}
}

func TestValidateAliasAndModelName(t *testing.T) {
	t.Parallel()
	for alias, ok := range map[string]bool{"champion": true, "prod-de_1": true, "latest": false, "LATEST": false, "v1": false, "V22": false, "v": true, "vx": true, "a b": false, "": false} {
		if got := validateAlias(alias) == nil; got != ok {
			t.Errorf("validateAlias(%q) valid = %v, want %v", alias, got, ok)
		}
	}
	for name, ok := range map[string]bool{"churn": true, "churn model": true, "a/b": false, "a:b": false, "  ": false, "": false} {
		if got := validateModelName(name) == nil; got != ok {
			t.Errorf("validateModelName(%q) valid = %v, want %v", name, got, ok)
		}
	}
}

func TestValidateDatasetInputs(t *testing.T) {
	t.Parallel()
	ok := DatasetInput{Dataset: Dataset{Name: "d", Digest: "abc", SourceType: "s3", Source: "{}"}}
	if err := validateDatasetInputs([]DatasetInput{ok}); err != nil {
		t.Fatalf("valid input: %v", err)
	}
	bad := ok
	bad.Dataset.Digest = strings.Repeat("x", 37)
	if err := validateDatasetInputs([]DatasetInput{ok, bad}); err == nil || !strings.Contains(err.Error(), "datasets[1].dataset.digest") {
		t.Errorf("long digest: %v", err)
	}
	missing := ok
	missing.Dataset.Source = ""
	if err := validateDatasetInputs([]DatasetInput{missing}); err == nil {
		t.Error("missing source accepted")
	}
}

func TestValidateMetricNoAlloc(t *testing.T) {
	m := Metric{Key: "val/auc_été", Value: 1, Timestamp: 1}
	if n := testing.AllocsPerRun(100, func() { _ = ValidateMetric(m) }); n != 0 {
		t.Errorf("ValidateMetric allocates %v times, want 0", n)
	}
}
