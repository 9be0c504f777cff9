package client

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Environment variables of the sagemaker-mlflow plugin and of MLflow's
// API-Gateway SigV4 mode.
const (
	envSageMakerCustomEndpoint = "SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT"
	envSageMakerAssumeRoleARN  = "SAGEMAKER_MLFLOW_ASSUME_ROLE_ARN"
	envSageMakerAssumeRoleTTL  = "SAGEMAKER_MLFLOW_ASSUME_ROLE_TTL_SECONDS"
	envTrackingAWSSigV4        = "MLFLOW_TRACKING_AWS_SIGV4"
)

// Assume-role credential cache bounds, as in the plugin.
const (
	defaultAssumeRoleTTL = 3300 * time.Second
	minAssumeRoleTTL     = 300 * time.Second
	maxAssumeRoleTTL     = 3600 * time.Second
	// assumeRoleSessionName is the plugin's RoleSessionName.
	assumeRoleSessionName = "AuthBotoSagemakerMlFlow"
)

// resolveARN turns a SageMaker MLflow ARN tracking URI into the base URL to
// use and the options that make requests reach it: the routing header (full
// ARN) and a SigV4 signer for the ARN's region and service. Credentials come
// from the default AWS chain (environment, profile, container/instance role),
// optionally exchanged through sts:AssumeRole when
// SAGEMAKER_MLFLOW_ASSUME_ROLE_ARN is set. getenv (nil: no variables) supplies
// SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT and the assume-role variables; New passes
// nil, NewFromEnv passes os.Getenv. The returned options go before the
// caller's, so a caller's WithRequestSigner/WithSigV4 overrides the signer.
// No network I/O happens here; credentials are fetched when the first request
// is signed.
func resolveARN(uri string, getenv func(string) string) (baseURL string, opts []Option, err error) {
	return resolveARNWith(context.Background(), uri, getenv, nil)
}

// resolveARNWith is resolveARN with an explicit credentials provider (nil:
// the default chain), used by tests.
func resolveARNWith(ctx context.Context, uri string, getenv func(string) string, creds aws.CredentialsProvider) (string, []Option, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	a, err := parseSageMakerARN(uri)
	if err != nil {
		return "", nil, err
	}
	base := a.BaseURL()
	if raw := getenv(envSageMakerCustomEndpoint); raw != "" {
		if base, err = customEndpoint(raw); err != nil {
			return "", nil, err
		}
	}
	if creds == nil {
		creds, err = sageMakerCredentials(ctx, a.Region, getenv)
		if err != nil {
			return "", nil, err
		}
	}
	signer, err := newSigV4Signer(a.Service(), a.Region, creds)
	if err != nil {
		return "", nil, err
	}
	return base, []Option{WithHeader(a.RoutingHeader(), a.ARN), WithRequestSigner(signer)}, nil
}

// sageMakerCredentials loads the default credential chain for region and,
// when SAGEMAKER_MLFLOW_ASSUME_ROLE_ARN is set, wraps it in a cached
// sts:AssumeRole provider whose credentials are reused for the TTL.
func sageMakerCredentials(ctx context.Context, region string, getenv func(string) string) (aws.CredentialsProvider, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("client: load aws config: %w", err)
	}
	roleARN := getenv(envSageMakerAssumeRoleARN)
	if roleARN == "" {
		return cfg.Credentials, nil
	}
	ttl, err := assumeRoleTTL(getenv(envSageMakerAssumeRoleTTL))
	if err != nil {
		return nil, err
	}
	return assumeRoleCredentials(sts.NewFromConfig(cfg), roleARN, ttl), nil
}

// assumeRoleCredentials returns a cached provider that assumes roleARN and
// reuses the result for ttl (or until it expires, if sooner).
func assumeRoleCredentials(api stscreds.AssumeRoleAPIClient, roleARN string, ttl time.Duration) aws.CredentialsProvider {
	p := stscreds.NewAssumeRoleProvider(api, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = assumeRoleSessionName
		o.Duration = time.Hour // boto3's default DurationSeconds
	})
	return aws.NewCredentialsCache(ttlCredentials{p: p, ttl: ttl, now: time.Now})
}

// assumeRoleTTL parses SAGEMAKER_MLFLOW_ASSUME_ROLE_TTL_SECONDS: empty means
// 3300 s; values are clamped to 300-3600 s like the plugin does.
func assumeRoleTTL(raw string) (time.Duration, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return defaultAssumeRoleTTL, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, &ValidationError{Field: envSageMakerAssumeRoleTTL, Rule: "must be an integer number of seconds", Value: truncateForError(raw)}
	}
	return min(max(time.Duration(n)*time.Second, minAssumeRoleTTL), maxAssumeRoleTTL), nil
}

// ttlCredentials caps the lifetime the credentials cache assigns to
// credentials at ttl from retrieval.
type ttlCredentials struct {
	p   aws.CredentialsProvider
	ttl time.Duration
	now func() time.Time
}

// Retrieve implements aws.CredentialsProvider.
func (t ttlCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := t.p.Retrieve(ctx)
	if err != nil {
		return c, err
	}
	limit := t.now().Add(t.ttl)
	if !c.CanExpire || c.Expires.After(limit) {
		c.CanExpire = true
		c.Expires = limit
	}
	return c, nil
}

// sigV4FromEnv implements MLFLOW_TRACKING_AWS_SIGV4: when it is true, requests
// are signed for service "execute-api" (an API-Gateway-fronted server) with
// the region and credentials of the default AWS chain (AWS_REGION,
// AWS_DEFAULT_REGION, profile). It returns a nil Option when the variable is
// unset or false, and an error when it is not a boolean or no region is found.
func sigV4FromEnv(getenv func(string) string) (Option, error) {
	raw := strings.TrimSpace(getenv(envTrackingAWSSigV4))
	if raw == "" {
		return nil, nil
	}
	on, err := strconv.ParseBool(raw)
	if err != nil {
		return nil, &ValidationError{Field: envTrackingAWSSigV4, Rule: "must be true or false", Value: truncateForError(raw)}
	}
	if !on {
		return nil, nil
	}
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	var optFns []func(*config.LoadOptions) error
	if region != "" {
		optFns = append(optFns, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), optFns...)
	if err != nil {
		return nil, fmt.Errorf("client: load aws config: %w", err)
	}
	if cfg.Region == "" {
		return nil, &ValidationError{Field: envTrackingAWSSigV4, Rule: "needs AWS_REGION or AWS_DEFAULT_REGION"}
	}
	return WithSigV4("execute-api", cfg.Region, cfg.Credentials), nil
}

// awsTrackingHook is the one call New and NewFromEnv make for AWS-specific
// tracking setups, before applying options. For an ARN tracking URI it
// returns the SageMaker base URL and prepends the routing-header and SigV4
// options (resolveARN); otherwise, when getenv is set and
// MLFLOW_TRACKING_AWS_SIGV4 is true, it prepends the execute-api signer. The
// caller's options come after and therefore win (e.g. WithRequestSigner).
// New passes getenv nil (no environment variables are read, SageMaker's
// custom endpoint and assume-role settings are off); NewFromEnv passes its
// getenv. A URI that is neither is returned unchanged.
func awsTrackingHook(trackingURI string, getenv func(string) string, opts []Option) (string, []Option, error) {
	if isARN(trackingURI) {
		base, arnOpts, err := resolveARN(trackingURI, getenv)
		if err != nil {
			return "", nil, err
		}
		return base, append(arnOpts, opts...), nil
	}
	if getenv == nil {
		return trackingURI, opts, nil
	}
	o, err := sigV4FromEnv(getenv)
	if err != nil || o == nil {
		return trackingURI, opts, err
	}
	return trackingURI, append([]Option{o}, opts...), nil
}
