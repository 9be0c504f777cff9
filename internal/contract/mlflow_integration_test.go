//go:build integration

package contract_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/internal/contract"
)

// TestContractMLflow runs the contract suite against the real MLflow server
// of the test stack. It fails (never skips) when MLWATCH_TEST_MLFLOW_URI is
// unset or the server does not answer.
func TestContractMLflow(t *testing.T) {
	uri := os.Getenv("MLWATCH_TEST_MLFLOW_URI")
	if uri == "" {
		t.Fatal("MLWATCH_TEST_MLFLOW_URI is not set; run `make test` or export the lines printed by scripts/teststack.sh start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri+"/health", nil)
	if err != nil {
		t.Fatalf("MLWATCH_TEST_MLFLOW_URI=%q: %v", uri, err)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("MLflow server at %s is unreachable: %v", uri, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("MLflow server at %s: /health answered %s", uri, resp.Status)
	}
	retry := client.DefaultRetryPolicy()
	retry.MaxRetries = 3
	retry.BackoffFactor = 200 * time.Millisecond
	retry.MaxBackoff = 2 * time.Second
	contract.Run(t, func(t *testing.T) *client.Client {
		c, err := client.New(uri, client.WithRetryPolicy(retry), client.WithTimeout(60*time.Second))
		if err != nil {
			t.Fatalf("client.New(%q): %v", uri, err)
		}
		return c
	})
}
