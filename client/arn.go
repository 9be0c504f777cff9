package client

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrInvalidARN is matched (errors.Is) by every *ARNError.
var ErrInvalidARN = errors.New("client: invalid sagemaker mlflow arn")

// ARNError reports a tracking URI that starts with "arn:" but is not the ARN of
// a SageMaker MLflow tracking server or MLflow app. It matches ErrInvalidARN and
// ErrInvalidParameter with errors.Is.
type ARNError struct {
	// ARN is the rejected value, truncated to 200 bytes.
	ARN string
	// Reason says which part of the ARN is wrong.
	Reason string
}

// Error returns a one-line description of the rejected ARN.
func (e *ARNError) Error() string {
	return fmt.Sprintf("client: invalid sagemaker mlflow arn %q: %s", e.ARN, e.Reason)
}

// Is reports whether target is ErrInvalidARN or ErrInvalidParameter.
func (e *ARNError) Is(target error) bool {
	return target == ErrInvalidARN || target == ErrInvalidParameter
}

// SageMaker MLflow resource kinds, the resource-type part of the ARN.
const (
	sageMakerTrackingServer = "mlflow-tracking-server"
	sageMakerApp            = "mlflow-app"
)

// sageMakerARN is a parsed SageMaker MLflow ARN together with what it implies
// for the transport: base URL, SigV4 service name and routing header.
type sageMakerARN struct {
	ARN          string
	Partition    string
	Region       string
	Account      string
	ResourceType string
	Name         string
}

// BaseURL is the public endpoint of the tracking server or app, as the
// sagemaker-mlflow plugin builds it. Both supported partitions use the "aws"
// DNS suffix.
func (a sageMakerARN) BaseURL() string {
	if a.ResourceType == sageMakerApp {
		return "https://mlflow.sagemaker." + a.Region + ".app.aws"
	}
	return "https://" + a.Region + ".experiments.sagemaker.aws"
}

// Service is the SigV4 signing name.
func (a sageMakerARN) Service() string {
	if a.ResourceType == sageMakerApp {
		return "sagemaker"
	}
	return "sagemaker-mlflow"
}

// RoutingHeader is the header that tells the SageMaker front end which server
// the request is for. Its value is the full ARN and it is signed.
func (a sageMakerARN) RoutingHeader() string {
	if a.ResourceType == sageMakerApp {
		return "x-sm-mlflow-app-arn"
	}
	return "x-mlflow-sm-tracking-server-arn"
}

// isARN reports whether a tracking URI is an ARN (scheme "arn"), i.e. should be
// resolved with resolveARN instead of being used as a URL.
func isARN(uri string) bool {
	return len(uri) >= 4 && strings.EqualFold(uri[:4], "arn:")
}

// parseSageMakerARN parses arn:PARTITION:sagemaker:REGION:ACCOUNT:TYPE/NAME
// where PARTITION is aws or aws-us-gov and TYPE is mlflow-tracking-server or
// mlflow-app. It returns *ARNError for anything else.
func parseSageMakerARN(s string) (sageMakerARN, error) {
	fail := func(reason string) (sageMakerARN, error) {
		shown := s
		if len(shown) > 200 {
			shown = shown[:200]
		}
		return sageMakerARN{}, &ARNError{ARN: shown, Reason: reason}
	}
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return fail("want arn:PARTITION:sagemaker:REGION:ACCOUNT:TYPE/NAME")
	}
	if parts[0] != "arn" {
		return fail(`scheme must be "arn"`)
	}
	switch parts[1] {
	case "aws", "aws-us-gov":
	default:
		return fail("partition must be aws or aws-us-gov")
	}
	if parts[2] != "sagemaker" {
		return fail(`service must be "sagemaker"`)
	}
	region := parts[3]
	if !validRegion(region) {
		return fail("region must look like us-east-1")
	}
	account := parts[4]
	if len(account) != 12 || strings.Trim(account, "0123456789") != "" {
		return fail("account must be 12 digits")
	}
	resType, name, ok := strings.Cut(parts[5], "/")
	if !ok {
		return fail("resource must be TYPE/NAME")
	}
	switch resType {
	case sageMakerTrackingServer, sageMakerApp:
	default:
		return fail("resource type must be mlflow-tracking-server or mlflow-app")
	}
	if !validResourceName(name) {
		return fail("resource name must be 1-256 letters, digits, '-' or '_'")
	}
	return sageMakerARN{
		ARN: s, Partition: parts[1], Region: region, Account: account,
		ResourceType: resType, Name: name,
	}, nil
}

// validRegion accepts lower-case letters, digits and inner dashes, the shape
// of every AWS region name; the value ends up in a host name.
func validRegion(r string) bool {
	if r == "" || len(r) > 32 || r[0] == '-' || r[len(r)-1] == '-' {
		return false
	}
	for _, c := range r {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func validResourceName(n string) bool {
	if n == "" || len(n) > 256 {
		return false
	}
	for _, c := range n {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// customEndpoint validates SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT: an absolute
// http(s) URL.
func customEndpoint(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &ValidationError{Field: "SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", Rule: "must be an absolute http(s) URL", Value: truncateForError(raw)}
	}
	return strings.TrimRight(raw, "/"), nil
}

func truncateForError(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
