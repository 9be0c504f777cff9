package client_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
)

// evaluate logs one evaluation run. The deferred End marks the run
// FINISHED, or FAILED when evaluate returns an error or panics.
func evaluate(ctx context.Context, c *client.Client, country string) (runID string, err error) {
	exp, err := c.GetOrCreateExperiment(ctx, "churn-model", nil)
	if err != nil {
		return "", err
	}
	run, err := c.StartRun(ctx, client.RunOptions{ExperimentID: exp.ID, RunName: "daily-" + country})
	if err != nil {
		return "", err
	}
	defer run.End(ctx, &err)

	var batch client.Batch
	batch.Params = []client.Param{{Key: "country", Value: country}, {Key: "model_version", Value: "7"}}
	for step, auc := range []float64{0.81, 0.84, 0.86} {
		batch.Metrics = append(batch.Metrics, client.Metric{Key: "auc", Value: auc, Step: int64(step)})
	}
	return run.ID(), c.LogBatch(ctx, run.ID(), batch)
}

// Example is the README quick start: log a run, then read it back. In a
// program, use client.NewFromEnv() to read MLFLOW_TRACKING_URI and the other
// MLFLOW_* variables; here the client talks to the in-memory fake tracker
// from package clienttest (in tests, clienttest.NewServer(t) does this set-up).
func Example() {
	ts := httptest.NewServer(&clienttest.Server{})
	defer ts.Close()
	c, err := client.New(ts.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	runID, err := evaluate(ctx, c, "DE")
	if err != nil {
		fmt.Println(err)
		return
	}
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		fmt.Println(err)
		return
	}
	country, _ := run.Param("country")
	auc, _ := run.Metric("auc")
	fmt.Println(run.Info.RunName, run.Info.Status, country, auc)
	for m, err := range c.GetMetricHistorySeq(ctx, runID, "auc") {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("step %d: %.2f\n", m.Step, m.Value)
	}
	// Output:
	// daily-DE FINISHED DE 0.86
	// step 0: 0.81
	// step 1: 0.84
	// step 2: 0.86
}

// ExampleNormalizeInf shows how to read back metrics logged as ±Inf from
// MLflow's SQL store, which returns ±MaxFloat64.
func ExampleNormalizeInf() {
	stored := []float64{math.MaxFloat64, -math.MaxFloat64, 0.5}
	for _, v := range stored {
		fmt.Println(client.NormalizeInf(v))
	}
	// Output:
	// +Inf
	// -Inf
	// 0.5
}

// ExampleValidateBatch shows the typed error returned for input MLflow
// would reject, before any request is sent.
func ExampleValidateBatch() {
	err := client.ValidateBatch(client.Batch{Metrics: []client.Metric{{Key: "auc"}, {Key: "val auc!"}}})
	var ve *client.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Field)
		fmt.Println(errors.Is(err, client.ErrInvalidParameter))
	}
	// Output:
	// metrics[1].key
	// true
}

// ExampleAPIError shows matching a server answer with errors.Is.
func ExampleAPIError() {
	ts := httptest.NewServer(&clienttest.Server{})
	defer ts.Close()
	c, err := client.New(ts.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.GetExperimentByName(context.Background(), "does-not-exist")
	fmt.Println(errors.Is(err, client.ErrNotFound))
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code)
	}
	// Output:
	// true
	// 404 RESOURCE_DOES_NOT_EXIST
}
