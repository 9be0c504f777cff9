// Package contract is the contract suite of package client: one set of
// behaviours that must hold against the fake tracker (client/clienttest)
// and against a real MLflow server alike. It keeps the fake honest: a
// behaviour the fake gets wrong fails on one runner and not the other.
//
// The fake runs it in client/clienttest/contract_test.go; a real server
// runs it in mlflow_integration_test.go (build tag integration,
// MLWATCH_TEST_MLFLOW_URI). Every name the suite creates is unique per
// invocation, because a real server is shared and keeps its state.
package contract
