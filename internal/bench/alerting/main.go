// Command alerting measures the alerting latencies of mlwatch on the local
// stack (scripts/teststack.sh start; the MLWATCH_TEST_* variables):
//
//   - breach → SNS message in SQS: Writer.Push of one new breach, through
//     Prometheus (rules every 1s), Alertmanager (group_wait 1s) and SNS on
//     moto, until the message is read from an SQS queue subscribed to the
//     topic; -n pushes, each for a fresh model_group; p50/p95/max.
//   - direct SNS publish: SNSNotifier.Notify of one critical alert to moto;
//     -direct publishes; p50/p95/max.
//
// Usage: go run ./internal/bench/alerting [-n 20] [-direct 50]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/mlwatch/mlwatch/alerting"
	"github.com/mlwatch/mlwatch/internal/bench/alerting/sqsink"
)

func main() {
	n := flag.Int("n", 20, "breach pushes to time end to end")
	direct := flag.Int("direct", 50, "direct SNS publishes to time")
	flag.Parse()
	if err := run(*n, *direct); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func env(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s not set (eval \"$(scripts/teststack.sh env)\")", name)
	}
	return v, nil
}

func run(n, direct int) error {
	moto, err := env("MLWATCH_TEST_MOTO_URL")
	if err != nil {
		return err
	}
	prom, err := env("MLWATCH_TEST_PROMETHEUS_URL")
	if err != nil {
		return err
	}
	ctx := context.Background()
	runID := strconv.FormatInt(time.Now().Unix()%1e8, 36)
	sink, err := sqsink.New(ctx, moto, "mlwatch-alerts", "bench-"+runID, "")
	if err != nil {
		return err
	}
	defer sink.Close(context.Background())
	sink.Poll = 20 * time.Millisecond

	w, err := alerting.NewWriter(prom + "/api/v1/write")
	if err != nil {
		return err
	}
	var e2e []time.Duration
	var pushed []alerting.Alert
	for i := range n {
		a := alerting.Alert{Severity: alerting.SeverityCritical, Model: "bench-model", ModelGroup: fmt.Sprintf("bench-%s-%d", runID, i),
			Metric: "auc", Observed: 0.5, Threshold: 0.7}
		start := time.Now()
		if err := w.Push(ctx, alerting.Breached, a); err != nil {
			return err
		}
		pushed = append(pushed, a)
		got, err := waitFor(ctx, sink, a.ModelGroup, 30*time.Second)
		if err != nil {
			return err
		}
		e2e = append(e2e, got.Sub(start))
	}
	if len(pushed) > 0 {
		if err := w.Push(ctx, alerting.Ended, pushed...); err != nil {
			return err
		}
	}
	report("breach → SNS message in SQS (Prometheus 1s eval, Alertmanager group_wait 1s)", e2e)

	notifier, err := alerting.NewSNSNotifierFromConfig(ctx, sink.TopicARN, alerting.WithSNSEndpoint(moto),
		alerting.WithSNSCredentials(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		return err
	}
	var pub []time.Duration
	for i := range direct {
		a := alerting.Alert{Severity: alerting.SeverityCritical, Model: "bench-model", ModelGroup: fmt.Sprintf("bench-%s-direct", runID),
			Metric: "auc" + strconv.Itoa(i), Observed: 0.5, Threshold: 0.7}
		start := time.Now()
		if err := notifier.Notify(ctx, []alerting.Alert{a}); err != nil {
			return err
		}
		pub = append(pub, time.Since(start))
	}
	report("direct SNS publish to moto (Notify → response)", pub)
	return nil
}

// waitFor returns the arrival time of the first message for group.
func waitFor(ctx context.Context, s *sqsink.Sink, group string, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		envs, err := s.Receive(ctx, 200*time.Millisecond, 1)
		if err != nil {
			return time.Time{}, err
		}
		for _, e := range envs {
			if e.Attr("model_group") == group && e.Attr("status") == "firing" {
				return e.Received, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("no SNS message for %s within %v", group, limit)
}

func report(what string, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	s := slices.Clone(d)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s)-1)+0.5))] }
	fmt.Printf("%s: n=%d p50=%v p95=%v max=%v\n", what, len(s), q(0.5).Round(time.Millisecond), q(0.95).Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}
