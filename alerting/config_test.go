package alerting

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

type amRoute struct {
	Receiver       string    `yaml:"receiver"`
	GroupBy        []string  `yaml:"group_by"`
	GroupWait      string    `yaml:"group_wait"`
	GroupInterval  string    `yaml:"group_interval"`
	RepeatInterval string    `yaml:"repeat_interval"`
	Matchers       []string  `yaml:"matchers"`
	Routes         []amRoute `yaml:"routes"`
}

type amConfig struct {
	Templates    []string `yaml:"templates"`
	Route        amRoute  `yaml:"route"`
	InhibitRules []struct {
		SourceMatchers []string `yaml:"source_matchers"`
		TargetMatchers []string `yaml:"target_matchers"`
		Equal          []string `yaml:"equal"`
	} `yaml:"inhibit_rules"`
	Receivers []struct {
		Name       string           `yaml:"name"`
		SNSConfigs []map[string]any `yaml:"sns_configs"`
	} `yaml:"receivers"`
}

func parseAMP(t *testing.T, b []byte) (map[string]string, amConfig) {
	t.Helper()
	var def struct {
		TemplateFiles      map[string]string `yaml:"template_files"`
		AlertmanagerConfig string            `yaml:"alertmanager_config"`
	}
	if err := yaml.Unmarshal(b, &def); err != nil {
		t.Fatalf("AMP definition is not YAML: %v", err)
	}
	var cfg amConfig
	if err := yaml.Unmarshal([]byte(def.AlertmanagerConfig), &cfg); err != nil {
		t.Fatalf("alertmanager_config is not YAML: %v", err)
	}
	return def.TemplateFiles, cfg
}

func parseLocalAM(t *testing.T) amConfig {
	t.Helper()
	b, err := LocalConfig("alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg amConfig
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestAMPAlertManagerDefinitionShape(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:sns:eu-west-1:111122223333:mlwatch-alerts"
	b, err := AMPAlertManagerDefinition(arn, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "MLWATCH_") {
		t.Errorf("placeholders left in definition")
	}
	files, cfg := parseAMP(t, b)
	tmpl, err := LocalConfig("mlwatch.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(tmpl), files["mlwatch_template"]); diff != "" {
		t.Errorf("AMP template differs from local/mlwatch.tmpl (-local +amp):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"mlwatch_template"}, cfg.Templates); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
	checkRouting(t, cfg, 5*24*time.Hour)
	sns := cfg.Receivers[0].SNSConfigs[0]
	for _, forbidden := range []string{"api_url", "http_config"} {
		if _, ok := sns[forbidden]; ok {
			t.Errorf("AMP sns_config has %s (AMP rejects it)", forbidden)
		}
	}
	sig, _ := sns["sigv4"].(map[string]any)
	if sig["region"] != "eu-west-1" || len(sig) != 1 {
		t.Errorf("sigv4 = %v, want only region eu-west-1 (no static keys on AMP)", sig)
	}
	if sns["topic_arn"] != arn {
		t.Errorf("topic_arn = %v", sns["topic_arn"])
	}
}

func TestLocalAlertmanagerMatchesAMP(t *testing.T) {
	t.Parallel()
	b, err := AMPAlertManagerDefinition("arn:aws:sns:us-east-1:123456789012:mlwatch-alerts", "")
	if err != nil {
		t.Fatal(err)
	}
	_, amp := parseAMP(t, b)
	local := parseLocalAM(t)
	checkRouting(t, local, 5*24*time.Hour)
	// Same routing tree and inhibition apart from the timings of the top route.
	strip := func(c amConfig) amConfig {
		c.Templates = nil
		c.Receivers = nil
		c.Route.GroupWait, c.Route.GroupInterval = "", ""
		return c
	}
	if diff := cmp.Diff(strip(amp), strip(local)); diff != "" {
		t.Errorf("local routing differs from AMP (-amp +local):\n%s", diff)
	}
	sns := local.Receivers[0].SNSConfigs[0]
	if sns["api_url"] != "http://127.0.0.1:15000" || sns["topic_arn"] != "arn:aws:sns:us-east-1:123456789012:mlwatch-alerts" {
		t.Errorf("local sns_config not pointing at moto: %v", sns)
	}
	delete(sns, "api_url")
	delete(sns["sigv4"].(map[string]any), "access_key")
	delete(sns["sigv4"].(map[string]any), "secret_key")
	if diff := cmp.Diff(amp.Receivers[0].SNSConfigs[0], sns); diff != "" {
		t.Errorf("local sns_config differs from AMP beyond api_url/keys (-amp +local):\n%s", diff)
	}
	if local.Route.GroupWait != "1s" || local.Route.GroupInterval != "5s" {
		t.Errorf("local timings %s/%s, want 1s/5s", local.Route.GroupWait, local.Route.GroupInterval)
	}
}

// checkRouting checks group_by, the severity routes, repeat intervals and the
// inhibition rule.
func checkRouting(t *testing.T, cfg amConfig, maxRepeat time.Duration) {
	t.Helper()
	if diff := cmp.Diff([]string{LabelModelGroup}, cfg.Route.GroupBy); diff != "" {
		t.Errorf("group_by (-want +got):\n%s", diff)
	}
	repeat := map[string]time.Duration{}
	for _, r := range append([]amRoute{cfg.Route}, cfg.Route.Routes...) {
		d, err := time.ParseDuration(r.RepeatInterval)
		if err != nil || d > maxRepeat {
			t.Errorf("repeat_interval %q: want a duration <= %v", r.RepeatInterval, maxRepeat)
		}
		if len(r.Matchers) == 1 {
			repeat[r.Matchers[0]] = d
		}
	}
	if repeat[`severity="warning"`] != 24*time.Hour {
		t.Errorf("warning repeat_interval = %v, want 24h", repeat[`severity="warning"`])
	}
	if c := repeat[`severity="critical"`]; c == 0 || c >= 24*time.Hour {
		t.Errorf("critical repeat_interval = %v, want shorter than warnings", c)
	}
	if len(cfg.InhibitRules) != 1 {
		t.Fatalf("inhibit_rules = %d, want 1", len(cfg.InhibitRules))
	}
	ir := cfg.InhibitRules[0]
	if !slices.Equal(ir.SourceMatchers, []string{`severity="critical"`}) || !slices.Equal(ir.TargetMatchers, []string{`severity="warning"`}) ||
		!slices.Equal(ir.Equal, []string{LabelModel, LabelMetric}) {
		t.Errorf("inhibit rule = %+v, want critical -> warning on [model metric]", ir)
	}
	if len(cfg.Receivers) != 1 || len(cfg.Receivers[0].SNSConfigs) != 1 {
		t.Fatalf("want one receiver with one sns_config")
	}
	sns := cfg.Receivers[0].SNSConfigs[0]
	attrs, _ := sns["attributes"].(map[string]any)
	for _, k := range []string{"severity", "model_group", "model"} {
		if _, ok := attrs[k]; !ok {
			t.Errorf("sns attributes lack %q: %v", k, attrs)
		}
	}
}

func TestRulesMatchSenderLabels(t *testing.T) {
	t.Parallel()
	var rules struct {
		Groups []struct {
			Name     string `yaml:"name"`
			Interval string `yaml:"interval"`
			Rules    []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(AMPRuleGroups(), &rules); err != nil {
		t.Fatal(err)
	}
	if len(rules.Groups) != 1 || len(rules.Groups[0].Rules) != 1 {
		t.Fatalf("want one group with one rule, got %+v", rules)
	}
	r := rules.Groups[0].Rules[0]
	if r.Alert != AlertName || r.Expr != MetricBreach+" > 0" {
		t.Errorf("rule = %s: %s, want %s: %s > 0", r.Alert, r.Expr, AlertName, MetricBreach)
	}
	if _, ok := r.Labels[LabelSeverity]; ok {
		t.Errorf("rule overrides severity; it must come from the series")
	}
	// Every $labels.X the annotations use must be a label the sender emits.
	names := SeriesLabelNames()
	used := map[string]bool{}
	for _, v := range r.Annotations {
		for _, m := range regexp.MustCompile(`\$labels\.([a-zA-Z_]+)`).FindAllStringSubmatch(v, -1) {
			used[m[1]] = true
			if !slices.Contains(names, m[1]) {
				t.Errorf("annotation uses $labels.%s, which the sender does not emit (%v)", m[1], names)
			}
		}
	}
	if !used[LabelModel] || !used[LabelMetric] {
		t.Errorf("annotations name neither model nor metric: %v", r.Annotations)
	}
	// The observed/threshold queries must select on every label, or they would match several series.
	for _, k := range []string{"observed", "threshold"} {
		for _, l := range names {
			if !strings.Contains(r.Annotations[k], l+"=%q") {
				t.Errorf("annotation %s does not select on %s", k, l)
			}
		}
	}
	// The AM config's labels must be emitted too.
	for _, l := range []string{LabelModelGroup, LabelModel, LabelMetric, LabelSeverity} {
		if !slices.Contains(names, l) {
			t.Errorf("Alertmanager config uses %s, not emitted", l)
		}
	}
}

func TestAMPAlertManagerDefinitionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ arn, region string }{
		{"", "us-east-1"},
		{"arn:aws:sqs:us-east-1:123456789012:q", ""},
		{"arn:aws:sns:us-east-1:123456789012:t.fifo", ""},
		{"arn:aws:sns:us-east-1:123456789012:t", "eu-west-1"},
		{"arn:aws:sns:us-east-1:123456789012:t\n  api_url: x", ""},
		{"arn:aws:sns:us-east-1:123456789012:t", "us-east-1'\nx"},
	}
	for _, tt := range tests {
		if _, err := AMPAlertManagerDefinition(tt.arn, tt.region); !errors.Is(err, ErrConfig) {
			t.Errorf("AMPAlertManagerDefinition(%q, %q) err = %v, want ErrConfig", tt.arn, tt.region, err)
		}
	}
	if _, err := LocalConfig("../amp/rules.yml"); !errors.Is(err, ErrConfig) {
		t.Errorf("LocalConfig(bad) err = %v", err)
	}
}

func TestLocalPrometheusUsesShippedRules(t *testing.T) {
	t.Parallel()
	b, err := LocalConfig("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global    map[string]string `yaml:"global"`
		RuleFiles []string          `yaml:"rule_files"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"../amp/rules.yml"}, cfg.RuleFiles); diff != "" {
		t.Errorf("rule_files (-want +got):\n%s", diff)
	}
	if cfg.Global["evaluation_interval"] != "1s" {
		t.Errorf("evaluation_interval = %q, want 1s", cfg.Global["evaluation_interval"])
	}
}
