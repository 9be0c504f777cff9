package client

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by NewFromEnv (the same names and defaults as
// MLflow's Python client).
const (
	EnvTrackingURI        = "MLFLOW_TRACKING_URI"
	EnvTrackingToken      = "MLFLOW_TRACKING_TOKEN"
	EnvTrackingUsername   = "MLFLOW_TRACKING_USERNAME"
	EnvTrackingPassword   = "MLFLOW_TRACKING_PASSWORD"
	EnvInsecureTLS        = "MLFLOW_TRACKING_INSECURE_TLS"
	EnvServerCertPath     = "MLFLOW_TRACKING_SERVER_CERT_PATH"
	EnvClientCertPath     = "MLFLOW_TRACKING_CLIENT_CERT_PATH"
	EnvMaxRetries         = "MLFLOW_HTTP_REQUEST_MAX_RETRIES"
	EnvBackoffFactor      = "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"
	EnvBackoffJitter      = "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"
	EnvRequestTimeout     = "MLFLOW_HTTP_REQUEST_TIMEOUT"
	EnvRespectRetryAfter  = "MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER"
	EnvExperimentName     = "MLFLOW_EXPERIMENT_NAME"
	EnvExperimentID       = "MLFLOW_EXPERIMENT_ID"
	EnvRunID              = "MLFLOW_RUN_ID"
	EnvWorkspace          = "MLFLOW_WORKSPACE"
	EnvTrackingAWSSigV4   = "MLFLOW_TRACKING_AWS_SIGV4"
	envTrackingAuthPlugin = "MLFLOW_TRACKING_AUTH"
)

// NewFromEnv returns a Client configured like MLflow's Python client from
// the environment:
//
//	MLFLOW_TRACKING_URI                     required, http(s) URI
//	MLFLOW_TRACKING_USERNAME / _PASSWORD    basic auth (also read from ~/.mlflow/credentials,
//	                                        section [mlflow]; the environment wins)
//	MLFLOW_TRACKING_TOKEN                   bearer token, used only when basic auth is not set
//	MLFLOW_TRACKING_INSECURE_TLS            false; true skips certificate checks
//	MLFLOW_TRACKING_SERVER_CERT_PATH        CA bundle (PEM); an error together with INSECURE_TLS
//	MLFLOW_TRACKING_CLIENT_CERT_PATH        client certificate and key (one PEM file)
//	MLFLOW_HTTP_REQUEST_MAX_RETRIES         7 (at most 10)
//	MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR      2 seconds (at most 120)
//	MLFLOW_HTTP_REQUEST_BACKOFF_JITTER      1.0 seconds
//	MLFLOW_HTTP_REQUEST_TIMEOUT             120 seconds per attempt
//	MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER  true
//	MLFLOW_EXPERIMENT_NAME / _ID, MLFLOW_RUN_ID   returned by Defaults and used by StartRun
//	MLFLOW_WORKSPACE                        sent as the X-MLFLOW-WORKSPACE header
//
// Booleans accept true/false/1/0 in any case, as MLflow does. opts are
// applied after the environment and override it. MLFLOW_TRACKING_AWS_SIGV4
// and MLFLOW_TRACKING_AUTH need a signer given with WithRequestSigner;
// without one they are an error rather than silently unauthenticated
// requests. NewFromEnv returns an error naming the variable when a value is
// invalid.
func NewFromEnv(opts ...Option) (*Client, error) {
	home, _ := os.UserHomeDir()
	return newFromEnv(os.Getenv, home, opts)
}

func newFromEnv(getenv func(string) string, home string, opts []Option) (*Client, error) {
	s := &settings{retry: DefaultRetryPolicy(), timeout: defaultTimeout}
	uri := strings.TrimSpace(getenv(EnvTrackingURI))
	if uri == "" {
		return nil, errors.New("client: MLFLOW_TRACKING_URI is not set")
	}
	var err error
	if s.retry.MaxRetries, err = envInt(getenv, EnvMaxRetries, defaultMaxRetries); err != nil {
		return nil, err
	}
	if s.retry.BackoffFactor, err = envSeconds(getenv, EnvBackoffFactor, defaultBackoff); err != nil {
		return nil, err
	}
	if s.retry.BackoffJitter, err = envSeconds(getenv, EnvBackoffJitter, defaultBackoffJitt); err != nil {
		return nil, err
	}
	if s.retry.RespectRetryAfter, err = envBool(getenv, EnvRespectRetryAfter, true); err != nil {
		return nil, err
	}
	if err := s.retry.validate(); err != nil {
		return nil, errors.New("client: MLFLOW_HTTP_REQUEST_* variables: " + strings.TrimPrefix(err.Error(), "client: retry policy: "))
	}
	if s.timeout, err = envSeconds(getenv, EnvRequestTimeout, defaultTimeout); err != nil {
		return nil, err
	}
	if s.timeout <= 0 {
		return nil, errors.New("client: MLFLOW_HTTP_REQUEST_TIMEOUT must be positive")
	}

	user, pass := getenv(EnvTrackingUsername), getenv(EnvTrackingPassword)
	if user == "" || pass == "" {
		fu, fp := readCredentialsFile(filepath.Join(home, ".mlflow", "credentials"))
		if user == "" {
			user = fu
		}
		if pass == "" {
			pass = fp
		}
	}
	if user != "" && pass != "" {
		s.basicUser, s.basicPass, s.basicSet = user, pass, true
	} else if tok := getenv(EnvTrackingToken); tok != "" {
		s.bearer = tok
	}

	insecure, err := envBool(getenv, EnvInsecureTLS, false)
	if err != nil {
		return nil, err
	}
	serverCert, clientCert := getenv(EnvServerCertPath), getenv(EnvClientCertPath)
	if insecure && serverCert != "" {
		return nil, errors.New("client: MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH cannot both be set")
	}
	if insecure || serverCert != "" || clientCert != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if insecure {
			cfg.InsecureSkipVerify = true // #nosec G402 -- explicitly requested by MLFLOW_TRACKING_INSECURE_TLS
		}
		if serverCert != "" {
			pem, err := os.ReadFile(serverCert)
			if err != nil {
				return nil, fmt.Errorf("client: MLFLOW_TRACKING_SERVER_CERT_PATH: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, errors.New("client: MLFLOW_TRACKING_SERVER_CERT_PATH: no PEM certificate found")
			}
			cfg.RootCAs = pool
		}
		if clientCert != "" {
			pem, err := os.ReadFile(clientCert)
			if err != nil {
				return nil, fmt.Errorf("client: MLFLOW_TRACKING_CLIENT_CERT_PATH: %w", err)
			}
			cert, err := tls.X509KeyPair(pem, pem)
			if err != nil {
				return nil, errors.New("client: MLFLOW_TRACKING_CLIENT_CERT_PATH: the file must hold a PEM certificate and its private key")
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		s.tlsConfig = cfg
	}
	if ws := getenv(EnvWorkspace); ws != "" {
		if err := WithHeader("X-MLFLOW-WORKSPACE", ws)(s); err != nil {
			return nil, errors.New("client: MLFLOW_WORKSPACE contains a control character")
		}
	}
	s.defaults = EnvDefaults{
		ExperimentName: getenv(EnvExperimentName),
		ExperimentID:   getenv(EnvExperimentID),
		RunID:          getenv(EnvRunID),
	}
	sigv4, err := envBool(getenv, EnvTrackingAWSSigV4, false)
	if err != nil {
		return nil, err
	}
	authPlugin := getenv(envTrackingAuthPlugin)
	uri, opts, err = awsTrackingHook(uri, getenv, opts)
	if err != nil {
		return nil, err
	}
	c, err := newClient(uri, s, opts)
	if err != nil {
		return nil, err
	}
	if (sigv4 || authPlugin != "") && c.signer == nil {
		return nil, errors.New("client: MLFLOW_TRACKING_AWS_SIGV4 / MLFLOW_TRACKING_AUTH need a signer: pass WithRequestSigner")
	}
	return c, nil
}

func envInt(getenv func(string) string, name string, def int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("client: %s: %q is not an integer", name, v)
	}
	return n, nil
}

// envSeconds reads a number of seconds (integer or decimal).
func envSeconds(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != f || f < 0 || f > 1e9 {
		return 0, fmt.Errorf("client: %s: %q is not a non-negative number of seconds", name, v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// envBool parses MLflow's booleans: true/false/1/0, case-insensitive.
func envBool(getenv func(string) string, name string, def bool) (bool, error) {
	v := strings.ToLower(strings.TrimSpace(getenv(name)))
	switch v {
	case "":
		return def, nil
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("client: %s: %q is not one of true, false, 1, 0", name, v)
}

// readCredentialsFile reads mlflow_tracking_username/password from the
// [mlflow] section of ~/.mlflow/credentials. Missing files give "".
func readCredentialsFile(path string) (user, pass string) {
	f, err := os.Open(path)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' && line[len(line)-1] == ']' {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		if section != "mlflow" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "mlflow_tracking_username":
			user = strings.TrimSpace(v)
		case "mlflow_tracking_password":
			pass = strings.TrimSpace(v)
		}
	}
	return user, pass
}
