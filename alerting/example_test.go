package alerting_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/mlwatch/mlwatch/alerting"
	"github.com/mlwatch/mlwatch/evaluate"
)

func ExampleAMPRemoteWriteURL() {
	u, err := alerting.AMPRemoteWriteURL("eu-west-1", "ws-1234abcd-12ab-34cd-56ef-1234567890ab")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u)
	// Output: https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234abcd-12ab-34cd-56ef-1234567890ab/api/v1/remote_write
}

func ExampleFromReport() {
	report := evaluate.Report{Model: "churn-xgb", ModelGroup: "churn", Country: "de", RunID: "r1", Checks: []evaluate.Check{
		{Kind: evaluate.KindThreshold, Metric: "auc", Observed: evaluate.F(0.61), Limit: evaluate.F(0.7), Severity: evaluate.SeverityCritical},
		{Kind: evaluate.KindThreshold, Metric: "recall", Observed: evaluate.F(0.5), Limit: evaluate.F(0.4), Passed: true},
	}}
	firing, cleared, err := alerting.FromReport(&report, alerting.ReportSource{Pipeline: "churn-de-daily"})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range firing {
		fmt.Println("firing: ", a.Severity, a.Model, a.Metric, a.Observed, a.Threshold)
	}
	for _, a := range cleared {
		fmt.Println("cleared:", a.Severity, a.Model, a.Metric)
	}
	// Output:
	// firing:  critical churn-xgb auc 0.61 0.7
	// cleared: warning churn-xgb auc
	// cleared: warning churn-xgb recall
	// cleared: critical churn-xgb recall
}

// printPublisher prints what would be published.
type printPublisher struct{}

func (printPublisher) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	var attrs []string
	for k, v := range in.MessageAttributes {
		attrs = append(attrs, k+"="+aws.ToString(v.StringValue))
	}
	sort.Strings(attrs)
	fmt.Println(aws.ToString(in.Subject))
	fmt.Println(attrs)
	return &sns.PublishOutput{}, nil
}

func ExampleSNSNotifier() {
	// In production: alerting.NewSNSNotifierFromConfig(ctx, topicARN).
	n, err := alerting.NewSNSNotifier("arn:aws:sns:eu-west-1:111122223333:mlwatch-alerts", printPublisher{})
	if err != nil {
		log.Fatal(err)
	}
	a := alerting.Alert{Severity: alerting.SeverityCritical, Model: "churn-xgb", ModelGroup: "churn", Metric: "auc", Observed: 0.61, Threshold: 0.7}
	if err := n.Notify(context.Background(), []alerting.Alert{a}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// [FIRING] mlwatch critical: churn-xgb auc model_group=churn
	// [model=churn-xgb model_group=churn severity=critical source=mlwatch status=firing]
}

func ExampleThrottledNotifier() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// For SageMaker jobs use alerting.NewMLflowStore(mlflowClient, "") instead.
	store, err := alerting.NewFileStore(filepath.Join(dir, "state.json"))
	if err != nil {
		log.Fatal(err)
	}
	th, err := alerting.NewThrottler(store)
	if err != nil {
		log.Fatal(err)
	}
	sn, err := alerting.NewSNSNotifier("arn:aws:sns:eu-west-1:111122223333:mlwatch-alerts", printPublisher{})
	if err != nil {
		log.Fatal(err)
	}
	n, err := alerting.NewThrottledNotifier(sn, th)
	if err != nil {
		log.Fatal(err)
	}
	a := alerting.Alert{Severity: alerting.SeverityWarning, Model: "churn-xgb", ModelGroup: "churn", Metric: "recall"}
	for range 3 { // only the first warning of the day for model group "churn" is sent
		if err := n.Notify(context.Background(), []alerting.Alert{a}); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// [FIRING] mlwatch warning: churn-xgb recall model_group=churn
	// [model=churn-xgb model_group=churn severity=warning source=mlwatch status=firing]
}
