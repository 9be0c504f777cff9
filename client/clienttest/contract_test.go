package clienttest_test

import (
	"testing"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
	"github.com/mlwatch/mlwatch/internal/contract"
)

// TestContract runs the contract suite against the fake; the same suite
// runs against a real MLflow server in internal/contract.
func TestContract(t *testing.T) {
	t.Parallel()
	contract.Run(t, func(t *testing.T) *client.Client {
		_, c := clienttest.NewServer(t)
		return c
	})
}
