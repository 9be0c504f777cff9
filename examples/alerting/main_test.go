package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	state := t.TempDir() + "/state.json"
	if code := run(context.Background(), []string{"-state-file", state}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	want := `evaluation: critical, 2 firing, 4 cleared
remote write: 2 request(s) received by the demo receiver
sns: subject "[FIRING] mlwatch critical: churn-xgb auc model_group=churn"
sns: attributes model=churn-xgb model_group=churn severity=critical source=mlwatch status=firing
sns: alert churn-xgb auc observed=0.66 threshold=0.7 run_id=4f2c9d0e6b7a4c1d9e8f7a6b5c4d3e2f
sns: notifying again at once (throttled: nothing is sent)
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	// A second process with the same state file sends nothing (the throttle state survived).
	out.Reset()
	if code := run(context.Background(), []string{"-state-file", state}, &out, &errOut); code != 0 {
		t.Fatalf("second run exit %d: %s", code, errOut.String())
	}
	if strings.Contains(out.String(), "sns: subject") {
		t.Errorf("second run re-sent the critical alert:\n%s", out.String())
	}
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-topic-arn", "not-an-arn"}, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2; stderr %s", code, errOut.String())
	}
	if code := run(context.Background(), []string{"-nope"}, &out, &errOut); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
}
