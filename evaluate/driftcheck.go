package evaluate

import (
	"fmt"
	"math"
	"slices"
)

// Options returns the drift options these settings imply, for CompareDataset,
// ReferenceProfile.Compare and CompareSegments: the forced method (unless
// "auto" or empty), the threshold and the drift share. d is not modified.
func (d DriftSettings) Options() []DriftOption {
	var opts []DriftOption
	if d.Method != "" && d.Method != "auto" {
		opts = append(opts, WithMethod(d.Method))
	}
	if d.Threshold != nil {
		opts = append(opts, WithThreshold(*d.Threshold))
	}
	if d.ShareThreshold != nil {
		opts = append(opts, WithDriftShare(*d.ShareThreshold))
	}
	return opts
}

func (d DriftSettings) severities() (feature, dataset Severity) {
	feature, dataset = d.Severity, d.DatasetSeverity
	if feature == "" {
		feature = SeverityWarning
	}
	if dataset == "" {
		dataset = SeverityCritical
	}
	return feature, dataset
}

// finite returns a *Float for v, or nil for NaN (a value that does not apply).
func finite(v float64) *Float {
	if math.IsNaN(v) {
		return nil
	}
	return F(v)
}

// FeatureDriftCheck turns one feature's drift result into a KindDrift Check
// with severity sev: Observed is the score (p-value or distance), Limit the
// threshold, Method names the test and its rule, and Passed is false when
// drift was detected. A result with StatusInsufficientData passes unless
// insufficient is a severity, in which case it fails with that severity;
// either way the message says it was not judged. fd is not modified.
func FeatureDriftCheck(fd FeatureDrift, sev, insufficient Severity) Check {
	ck := Check{
		Kind: KindDrift, Feature: fd.Feature, Segment: fd.Segment,
		Observed: finite(fd.Score), Limit: finite(fd.Threshold),
		Method: string(fd.Method), Passed: !fd.Drifted, Severity: sev, Message: fd.Message,
	}
	if fd.Rule != "" {
		ck.Method += ": " + fd.Rule
	}
	if ck.Message == "" {
		ck.Message = fmt.Sprintf("feature %s: %s", fd.Feature, fd.Status)
	}
	if fd.Status == StatusInsufficientData {
		ck.Method = "insufficient_data"
		ck.Observed = nil
		if insufficient.valid() {
			ck.Passed, ck.Severity = false, insufficient
		} else {
			ck.Passed = true
		}
	}
	return ck
}

// DriftChecks turns a dataset drift result into Checks: one per feature (only
// the listed ones when settings.Features is set), then one dataset check
// (Feature empty, subject "drift") whose Observed is the drift share and Limit
// the share threshold. Severities come from settings (feature drift warning,
// dataset drift critical by default). dd is not modified.
func DriftChecks(dd DatasetDrift, settings DriftSettings) []Check {
	fsev, dsev := settings.severities()
	out := make([]Check, 0, len(dd.Features)+1)
	for _, fd := range dd.Features {
		if len(settings.Features) > 0 && !slices.Contains(settings.Features, fd.Feature) {
			continue
		}
		out = append(out, FeatureDriftCheck(fd, fsev, settings.InsufficientData))
	}
	ds := Check{
		Kind: KindDrift, Segment: dd.Segment, Observed: finite(dd.DriftShare), Limit: finite(dd.DriftShareThreshold),
		Method: "drift_share >= share_threshold", Passed: !dd.DatasetDrifted, Severity: dsev, Message: dd.Message,
	}
	if ds.Message == "" {
		ds.Message = fmt.Sprintf("%d of %d judged features drifted", dd.Drifted, dd.Judged)
	}
	if dd.Status == StatusInsufficientData {
		ds.Method = "insufficient_data"
		if settings.InsufficientData.valid() {
			ds.Passed, ds.Severity = false, settings.InsufficientData
		} else {
			ds.Passed = true
		}
	}
	return append(out, ds)
}
