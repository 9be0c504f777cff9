package alerting

import (
	"embed"
	"fmt"
	"regexp"
	"strings"
)

//go:embed config/amp/rules.yml config/amp/alertmanager.yml config/local/alertmanager.yml config/local/prometheus.yml config/local/mlwatch.tmpl
var configFS embed.FS

func mustRead(name string) []byte {
	b, err := configFS.ReadFile(name)
	if err != nil {
		panic("alerting: embedded config missing: " + name) // impossible: checked at build time by go:embed
	}
	return b
}

// AlertName is the name of the Prometheus alert the shipped rules raise
// (label "alertname"); the direct SNS path uses it too.
const AlertName = "MLWatchEvalBreach"

// AMPRuleGroups returns the shipped Prometheus rules file
// (config/amp/rules.yml), valid as the body of an AMP rule groups namespace
// (CreateRuleGroupsNamespace / PutRuleGroupsNamespace `data`). It alerts on
// mlwatch_eval_breach > 0 with the labels Writer pushes. The result is a new
// copy the caller may modify.
func AMPRuleGroups() []byte { return mustRead("config/amp/rules.yml") }

// LocalConfig returns one of the shipped local-stack files: "alertmanager.yml",
// "prometheus.yml" or "mlwatch.tmpl" (a new copy), or an error for any
// other name. The files point at moto on 127.0.0.1:15000.
func LocalConfig(name string) ([]byte, error) {
	switch name {
	case "alertmanager.yml", "prometheus.yml", "mlwatch.tmpl":
		return mustRead("config/local/" + name), nil
	}
	return nil, &ConfigError{Option: "name", Reason: fmt.Sprintf("no local config file %q", truncate(name, 64))}
}

var topicARNRE = regexp.MustCompile(`^arn:aws(-[a-z]+)*:sns:([a-z]{2}(-[a-z]+)+-\d{1,2}):(\d{12}):([A-Za-z0-9_-]{1,256}(\.fifo)?)$`)

// parseTopicARN validates an SNS topic ARN and returns its region.
func parseTopicARN(arn string) (region string, fifo bool, err error) {
	if arn == "" {
		return "", false, &ConfigError{Option: "topic_arn", Reason: "missing SNS topic ARN"}
	}
	m := topicARNRE.FindStringSubmatch(arn)
	if m == nil {
		return "", false, &ConfigError{Option: "topic_arn", Reason: fmt.Sprintf("%q is not an SNS topic ARN", truncate(arn, 300))}
	}
	return m[2], m[6] != "", nil
}

// AMPAlertManagerDefinition returns the shipped AMP alert manager definition
// (config/amp/alertmanager.yml: template_files + alertmanager_config) for
// the SNS topic topicARN, signed for region (the topic's region when ""),
// ready for PutAlertManagerDefinition. It returns a *ConfigError when the
// ARN is malformed or a FIFO topic (AMP needs a Standard topic), or region
// is malformed or differs from the topic's.
func AMPAlertManagerDefinition(topicARN, region string) ([]byte, error) {
	arnRegion, fifo, err := parseTopicARN(topicARN)
	if err != nil {
		return nil, err
	}
	if fifo {
		return nil, &ConfigError{Option: "topic_arn", Reason: "AMP alert manager can only publish to Standard (non-FIFO) topics"}
	}
	if region == "" {
		region = arnRegion
	}
	if !regionRE.MatchString(region) || region != arnRegion {
		return nil, &ConfigError{Option: "region", Reason: fmt.Sprintf("%q is not the topic's region %q", truncate(region, 32), arnRegion)}
	}
	s := string(mustRead("config/amp/alertmanager.yml"))
	s = strings.ReplaceAll(s, "MLWATCH_TOPIC_ARN", topicARN)
	s = strings.ReplaceAll(s, "MLWATCH_REGION", region)
	return []byte(s), nil
}
