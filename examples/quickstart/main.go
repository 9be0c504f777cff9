// Command quickstart simulates a day of ML pipelines logging to MLflow with
// mlwatch: 3 models × 2 countries, each a run with params and 20 steps of
// loss and AUC, then prints what it logged with links to the runs.
//
//	go run ./examples/quickstart
//
// Without MLFLOW_TRACKING_URI it starts the in-process fake MLflow server
// (client/clienttest) on loopback and says so; with it, it logs to that
// server, configured by the MLFLOW_* environment variables like MLflow's
// Python client.
package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := mainErr(ctx, os.Stdout, os.Getenv("MLFLOW_TRACKING_URI")); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// mainErr picks the tracking server and runs the pipelines.
func mainErr(ctx context.Context, w io.Writer, trackingURI string) error {
	var c *client.Client
	var err error
	if trackingURI == "" {
		srv := httptest.NewServer(&clienttest.Server{})
		defer srv.Close()
		fmt.Fprintln(w, "MLFLOW_TRACKING_URI is not set: logging to the in-process fake MLflow server (clienttest) on loopback.")
		c, err = client.New(srv.URL)
	} else {
		c, err = client.NewFromEnv()
		if err == nil {
			fmt.Fprintf(w, "Logging to the MLflow server at %s.\n", c.TrackingURI())
		}
	}
	if err != nil {
		return err
	}
	return run(ctx, w, c)
}

var (
	models    = []string{"churn", "fraud", "ltv"}
	countries = []string{"DE", "FR"}
)

const steps = 20

// result is what one pipeline logged.
type result struct {
	model, country, runID, url string
	metrics                    int
	finalAUC                   float64
}

// run simulates the day's pipelines concurrently and prints a table of
// what they logged, in a fixed order.
func run(ctx context.Context, w io.Writer, c *client.Client) error {
	day := time.Now().UTC().Format("2006-01-02")
	// One experiment per model, created in a fixed order; GetOrCreate is
	// race-safe, so concurrent pipelines could also do it themselves.
	expIDs := map[string]string{}
	for _, model := range models {
		exp, err := c.GetOrCreateExperiment(ctx, "mlwatch-quickstart-"+model, &client.ExperimentOptions{
			Tags: []client.Tag{{Key: "mlwatch.model", Value: model}},
		})
		if err != nil {
			return err
		}
		expIDs[model] = exp.ID
	}
	var (
		mu      sync.Mutex
		results []result
		errs    []error
		wg      sync.WaitGroup
	)
	for _, model := range models {
		for _, country := range countries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := pipeline(ctx, c, expIDs[model], day, model, country)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("pipeline %s/%s: %w", model, country, err))
					return
				}
				results = append(results, r)
			}()
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	slices.SortFunc(results, func(a, b result) int {
		if a.model != b.model {
			return slices.Index(models, a.model) - slices.Index(models, b.model)
		}
		return slices.Index(countries, a.country) - slices.Index(countries, b.country)
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tCOUNTRY\tRUN ID\tMETRICS\tFINAL AUC\tRUN")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.4f\t%s\n", r.model, r.country, r.runID, r.metrics, r.finalAUC, r.url)
	}
	return tw.Flush()
}

// pipeline is one model's daily training run for one country.
func pipeline(ctx context.Context, c *client.Client, expID, day, model, country string) (res result, err error) {
	run, err := c.StartRun(ctx, client.RunOptions{
		ExperimentID: expID,
		RunName:      fmt.Sprintf("%s-%s-%s", model, country, day),
		Tags:         []client.Tag{{Key: "country", Value: country}, {Key: "pipeline", Value: "quickstart"}},
	})
	if err != nil {
		return res, err
	}
	defer run.End(ctx, &err) // FINISHED, or FAILED when err is set

	seed := float64(slices.Index(models, model)*len(countries) + slices.Index(countries, country))
	batch := client.Batch{Params: []client.Param{
		{Key: "country", Value: country},
		{Key: "learning_rate", Value: "0.05"},
		{Key: "max_depth", Value: fmt.Sprint(4 + int(seed)%3)},
	}}
	now := client.Millis(time.Now())
	var auc float64
	for step := range int64(steps) {
		x := float64(step+1) / steps
		loss := (0.7 + seed/20) * math.Exp(-2.5*x)
		auc = 0.5 + (0.35+seed/100)*(1-math.Exp(-4*x))
		batch.Metrics = append(batch.Metrics,
			client.Metric{Key: "loss", Value: loss, Timestamp: now + step, Step: step},
			client.Metric{Key: "auc", Value: auc, Timestamp: now + step, Step: step},
		)
	}
	if err := c.LogBatch(ctx, run.ID(), batch); err != nil {
		return res, err
	}
	return result{
		model: model, country: country, runID: run.ID(), url: run.URL(),
		metrics: len(batch.Metrics), finalAUC: auc,
	}, nil
}
