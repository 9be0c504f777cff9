//go:build integration

package evaluate_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/mlwatch/mlwatch/client"
)

// realClient returns a client for the real MLflow server of `make test`; it
// fails the test when the server is not configured or not reachable.
func realClient(t *testing.T) *client.Client {
	t.Helper()
	uri := os.Getenv("MLWATCH_TEST_MLFLOW_URI")
	if uri == "" {
		t.Fatal("MLWATCH_TEST_MLFLOW_URI is not set (run the tests through make test)")
	}
	resp, err := http.Get(uri + "/health")
	if err != nil {
		t.Fatalf("MLflow at %s is unreachable: %v", uri, err)
	}
	resp.Body.Close()
	c, err := client.New(uri)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func uniqueSuffix() string { return fmt.Sprintf("-%d", time.Now().UnixNano()) }

func TestResolveBenchmarkOnMLflow(t *testing.T) {
	t.Parallel()
	checkResolveBenchmark(t, realClient(t), uniqueSuffix())
}

func TestLogOutcomeOnMLflow(t *testing.T) {
	t.Parallel()
	c := realClient(t)
	exp, err := c.GetOrCreateExperiment(context.Background(), "mlwatch-evaluate-outcome"+uniqueSuffix(), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkLogOutcome(t, c, exp.ID)
}

func TestInfinityOnMLflow(t *testing.T) {
	t.Parallel()
	c := realClient(t)
	exp, err := c.GetOrCreateExperiment(context.Background(), "mlwatch-evaluate-inf"+uniqueSuffix(), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkInfinity(t, c, exp.ID)
}
