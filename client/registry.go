package client

import (
	"context"
	"errors"
	"net/url"
	"strconv"
)

// API paths for the model registry.
const (
	pathRegisteredModelsCreate = "/api/2.0/mlflow/registered-models/create"
	pathRegisteredModelsAlias  = "/api/2.0/mlflow/registered-models/alias"
	pathRegisteredModelsLatest = "/api/2.0/mlflow/registered-models/get-latest-versions"
	pathModelVersionsCreate    = "/api/2.0/mlflow/model-versions/create"
	pathModelVersionsGet       = "/api/2.0/mlflow/model-versions/get"
)

// CreateRegisteredModel creates a registered model; an existing name gives
// an error matching ErrAlreadyExists. Not retried.
func (c *Client) CreateRegisteredModel(ctx context.Context, name string) error {
	if err := validateModelName(name); err != nil {
		return err
	}
	return c.doJSON(ctx, "POST", pathRegisteredModelsCreate, map[string]string{"name": name}, nil, false)
}

// CreateModelVersion registers source (a model artifact URI such as
// "runs:/<run_id>/model" or the run's artifact path) as a new version of
// model name, linked to runID (may be empty). Not retried: a retry could
// register a second version.
func (c *Client) CreateModelVersion(ctx context.Context, name, source, runID string) (*ModelVersion, error) {
	if err := validateModelName(name); err != nil {
		return nil, err
	}
	if source == "" {
		return nil, &ValidationError{Field: "source", Rule: ruleRequired}
	}
	if runID != "" {
		if err := validateRunID(runID); err != nil {
			return nil, err
		}
	}
	in := struct {
		Name   string `json:"name"`
		Source string `json:"source"`
		RunID  string `json:"run_id,omitempty"`
	}{name, source, runID}
	var out struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	if err := c.doJSON(ctx, "POST", pathModelVersionsCreate, in, &out, false); err != nil {
		return nil, err
	}
	if out.ModelVersion == nil {
		return nil, errors.New("client: model-versions/create: answer has no model_version")
	}
	return out.ModelVersion, nil
}

// SetModelVersionAlias points alias (e.g. "champion") at a version of model
// name. Idempotent and retried.
func (c *Client) SetModelVersionAlias(ctx context.Context, name, alias, version string) error {
	if err := validateModelName(name); err != nil {
		return err
	}
	if err := validateAlias(alias); err != nil {
		return err
	}
	if _, err := strconv.ParseUint(version, 10, 63); err != nil {
		return newValidationError("version", "must be a positive decimal version number", version)
	}
	in := map[string]string{"name": name, "alias": alias, "version": version}
	return c.doJSON(ctx, "POST", pathRegisteredModelsAlias, in, nil, true)
}

// GetModelVersionByAlias returns the version of model name that alias points
// to; an unknown model or alias gives an error matching ErrNotFound.
// Use ModelVersion.RunID to find the champion model's run.
func (c *Client) GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error) {
	if err := validateModelName(name); err != nil {
		return nil, err
	}
	if alias == "" {
		return nil, &ValidationError{Field: "alias", Rule: ruleRequired}
	}
	var out struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	if err := c.doJSON(ctx, "GET", pathRegisteredModelsAlias, url.Values{"name": {name}, "alias": {alias}}, &out, true); err != nil {
		return nil, err
	}
	if out.ModelVersion == nil {
		return nil, errors.New("client: registered-models/alias: answer has no model_version")
	}
	return out.ModelVersion, nil
}

// GetLatestVersions returns the latest version of model name for each stage
// in stages (all stages when none are given). Stages are MLflow's legacy
// stages ("None", "Staging", "Production", "Archived").
func (c *Client) GetLatestVersions(ctx context.Context, name string, stages ...string) ([]ModelVersion, error) {
	if err := validateModelName(name); err != nil {
		return nil, err
	}
	in := struct {
		Name   string   `json:"name"`
		Stages []string `json:"stages,omitempty"`
	}{name, stages}
	var out struct {
		ModelVersions []ModelVersion `json:"model_versions"`
	}
	if err := c.doJSON(ctx, "POST", pathRegisteredModelsLatest, in, &out, true); err != nil {
		return nil, err
	}
	return out.ModelVersions, nil
}
