package clienttest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
)

// Example runs a pipeline's logging against the fake and inspects what the
// fake stored. In a test, clienttest.NewServer(t) does the set-up in one
// line.
func Example() {
	srv := &clienttest.Server{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c, err := client.New(ts.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	exp, err := c.GetOrCreateExperiment(ctx, "churn", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	run, err := c.StartRun(ctx, client.RunOptions{ExperimentID: exp.ID, RunName: "churn-DE"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for step, auc := range []float64{0.71, 0.83, 0.88} {
		if err := run.LogMetric(ctx, "auc", auc, int64(step)); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := run.LogParam(ctx, "country", "DE"); err != nil {
		fmt.Println(err)
		return
	}
	run.End(ctx, &err)
	if err != nil {
		fmt.Println(err)
		return
	}

	stored, _ := srv.Run(run.ID())
	fmt.Println(stored.Info.RunName, stored.Info.Status, srv.Params(run.ID())["country"])
	for _, m := range srv.MetricHistory(run.ID(), "auc") {
		fmt.Printf("step %d: auc %.2f\n", m.Step, m.Value)
	}
	// Output:
	// churn-DE FINISHED DE
	// step 0: auc 0.71
	// step 1: auc 0.83
	// step 2: auc 0.88
}

// ExampleServer_Fail makes the next two runs/get requests fail with 503:
// the client retries and succeeds, and Requests shows the three attempts.
func ExampleServer_Fail() {
	srv := &clienttest.Server{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c, err := client.New(ts.URL, client.WithRetryPolicy(clienttest.FastRetryPolicy()))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	run, err := c.CreateRun(ctx, client.CreateRunOptions{ExperimentID: "0"})
	if err != nil {
		fmt.Println(err)
		return
	}

	srv.Fail("runs/get", clienttest.Fault{Status: 503, Times: 2})
	_, err = c.GetRun(ctx, run.Info.RunID)
	fmt.Println("error:", err)
	fmt.Println("attempts:", srv.Requests("runs/get"))

	srv.Fail("runs/get", clienttest.Fault{ErrorCode: "RESOURCE_DOES_NOT_EXIST", Message: "gone", Times: 1})
	_, err = c.GetRun(ctx, run.Info.RunID)
	fmt.Println("not found:", errors.Is(err, client.ErrNotFound))
	// Output:
	// error: <nil>
	// attempts: 3
	// not found: true
}
