// Command alerting shows a pipeline evaluation that alerts: it evaluates a
// candidate model's metrics against rules and a benchmark (package
// evaluate), turns the result into alerts, pushes the breach series to a
// Prometheus remote-write endpoint (AMP in production, where the shipped
// rules and Alertmanager definition notify SNS), and publishes critical
// breaches straight to SNS through a throttle whose state survives
// ephemeral containers.
//
// Usage:
//
//	alerting [-remote-write URL | -amp-region R -amp-workspace ws-...] [-topic-arn ARN [-sns-endpoint URL]] [-state-file PATH | -state-mlflow]
//
// With no flags it runs a self-contained demo: an in-process remote-write
// receiver stands in for AMP, SNS messages are printed instead of
// published, and throttle state goes to a temporary file. -state-mlflow keeps
// the state as tags on the "mlwatch-alert-state" experiment of the MLflow
// server named by MLFLOW_TRACKING_URI (the recommended choice for SageMaker
// jobs). AWS credentials come from the default chain (a job's IAM role).
//
// Exit status: 0 when everything was delivered, 1 when some alert could not
// be delivered (it is printed), 2 on a usage or configuration error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/mlwatch/mlwatch/alerting"
	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/evaluate"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("alerting", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rwURL := fs.String("remote-write", "", "Prometheus remote-write URL (e.g. http://127.0.0.1:19090/api/v1/write)")
	ampRegion := fs.String("amp-region", "", "AMP workspace region (with -amp-workspace)")
	ampWorkspace := fs.String("amp-workspace", "", "AMP workspace ID ws-...")
	topicARN := fs.String("topic-arn", "", "SNS topic for direct critical alerts")
	snsEndpoint := fs.String("sns-endpoint", "", "SNS endpoint override (e.g. moto http://127.0.0.1:15000)")
	stateFile := fs.String("state-file", "", "throttle state file (long-lived hosts)")
	stateMLflow := fs.Bool("state-mlflow", false, "keep throttle state on the MLflow server of MLFLOW_TRACKING_URI")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	// 1. Evaluate the candidate against the benchmark with the pipeline's rules.
	report := evaluateCandidate()
	firing, cleared, err := alerting.FromReport(&report, alerting.ReportSource{
		Pipeline: "churn-de-daily",
		RunURL:   "http://mlflow.example/#/experiments/7/runs/" + report.RunID,
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fmt.Fprintf(stdout, "evaluation: %s, %d firing, %d cleared\n", report.Status(), len(firing), len(cleared))

	// 2. Push the breach series (AMP evaluates the shipped rules on them).
	w, demoRW, err := writer(ctx, *rwURL, *ampRegion, *ampWorkspace)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if demoRW != nil {
		defer demoRW.Close()
	}
	code := 0
	for _, p := range []struct {
		state  alerting.BreachState
		alerts []alerting.Alert
	}{{alerting.Breached, firing}, {alerting.Cleared, cleared}} {
		if len(p.alerts) == 0 {
			continue
		}
		if err := w.Push(ctx, p.state, p.alerts...); err != nil {
			code = 1
			reportUndelivered(stderr, "remote write", err)
		}
	}
	if demoRW != nil {
		fmt.Fprintf(stdout, "remote write: %d request(s) received by the demo receiver\n", demoRW.requests())
	}

	// 3. Critical breaches also go straight to SNS, throttled.
	var critical []alerting.Alert
	for _, a := range firing {
		if a.Severity == alerting.SeverityCritical {
			critical = append(critical, a)
		}
	}
	notifier, err := notifier(ctx, stdout, *topicARN, *snsEndpoint, *stateFile, *stateMLflow)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	for i := range 2 { // the second run shows the throttle suppressing a repeat
		if err := notifier.Notify(ctx, critical); err != nil {
			code = 1
			reportUndelivered(stderr, "sns", err)
		}
		if i == 0 {
			fmt.Fprintln(stdout, "sns: notifying again at once (throttled: nothing is sent)")
		}
	}
	return code
}

// evaluateCandidate is the evaluation step of a training pipeline.
func evaluateCandidate() evaluate.Report {
	higher := evaluate.HigherIsBetter
	rules := evaluate.RuleSet{Group: "churn", Model: "churn-xgb", Country: "de", Rules: []evaluate.MetricRule{
		{Metric: "auc", Direction: higher, Threshold: ptr(0.70), MaxRegression: ptr(0.02)},
		{Metric: "recall", Direction: higher, Threshold: ptr(0.40)},
		{Metric: "precision", Direction: higher, MinAbsoluteChange: ptr(0.01)},
	}}
	candidate := evaluate.Metrics{"auc": 0.66, "recall": 0.52, "precision": 0.61}
	benchmark := evaluate.Metrics{"auc": 0.74, "recall": 0.50, "precision": 0.61}
	r := evaluate.Evaluate(candidate, benchmark, rules)
	r.RunID = "4f2c9d0e6b7a4c1d9e8f7a6b5c4d3e2f"
	return r
}

func ptr(v float64) *float64 { return &v }

func writer(ctx context.Context, url, region, workspace string) (*alerting.Writer, *demoReceiver, error) {
	switch {
	case region != "" || workspace != "":
		w, err := alerting.NewAMPWriter(ctx, region, workspace)
		return w, nil, err
	case url != "":
		w, err := alerting.NewWriter(url)
		return w, nil, err
	}
	rc := &demoReceiver{}
	rc.srv = httptest.NewServer(rc)
	w, err := alerting.NewWriter(rc.srv.URL + "/api/v1/write")
	return w, rc, err
}

// demoReceiver stands in for AMP in the self-contained demo.
type demoReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   int
}

func (d *demoReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	d.mu.Lock()
	d.n++
	d.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (d *demoReceiver) requests() int { d.mu.Lock(); defer d.mu.Unlock(); return d.n }
func (d *demoReceiver) Close()        { d.srv.Close() }

func notifier(ctx context.Context, stdout io.Writer, topicARN, endpoint, stateFile string, stateMLflow bool) (alerting.Notifier, error) {
	var sn *alerting.SNSNotifier
	var err error
	switch {
	case topicARN != "" && endpoint != "":
		sn, err = alerting.NewSNSNotifierFromConfig(ctx, topicARN, alerting.WithSNSEndpoint(endpoint))
	case topicARN != "":
		sn, err = alerting.NewSNSNotifierFromConfig(ctx, topicARN)
	default:
		sn, err = alerting.NewSNSNotifier("arn:aws:sns:eu-west-1:111122223333:mlwatch-alerts", printer{stdout})
	}
	if err != nil {
		return nil, err
	}
	var store alerting.StateStore
	switch {
	case stateMLflow:
		c, err := client.NewFromEnv()
		if err != nil {
			return nil, err
		}
		if store, err = alerting.NewMLflowStore(c, ""); err != nil {
			return nil, err
		}
	default:
		if stateFile == "" {
			dir, err := os.MkdirTemp("", "mlwatch-alerting-demo")
			if err != nil {
				return nil, err
			}
			stateFile = filepath.Join(dir, "alert-state.json")
		}
		if store, err = alerting.NewFileStore(stateFile); err != nil {
			return nil, err
		}
	}
	th, err := alerting.NewThrottler(store, alerting.WithCriticalWindow(time.Hour))
	if err != nil {
		return nil, err
	}
	return alerting.NewThrottledNotifier(sn, th)
}

// printer is an SNSPublisher that prints instead of publishing (demo only).
type printer struct{ w io.Writer }

func (p printer) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	var attrs []string
	for k, v := range in.MessageAttributes {
		attrs = append(attrs, k+"="+aws.ToString(v.StringValue))
	}
	sort.Strings(attrs)
	m, err := alerting.ParseMessage([]byte(aws.ToString(in.Message)))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(p.w, "sns: subject %q\nsns: attributes %s\n", aws.ToString(in.Subject), strings.Join(attrs, " "))
	for _, a := range m.Alerts {
		fmt.Fprintf(p.w, "sns: alert %s %s observed=%s threshold=%s run_id=%s\n", a.Labels["model"], a.Labels["metric"], a.Annotations["observed"], a.Annotations["threshold"], a.Annotations["run_id"])
	}
	return &sns.PublishOutput{MessageId: aws.String("demo")}, nil
}

// reportUndelivered prints the alerts an error handed back.
func reportUndelivered(w io.Writer, what string, err error) {
	fmt.Fprintf(w, "%s: %v\n", what, err)
	var de *alerting.DeliveryError
	if errors.As(err, &de) {
		for _, a := range de.Failed {
			fmt.Fprintf(w, "%s: not delivered: %s %s %s %s\n", what, a.Severity, a.ModelGroup, a.Model, a.Metric)
		}
	}
}
