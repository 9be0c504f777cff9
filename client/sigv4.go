package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// emptySHA256 is the hex SHA-256 of an empty payload.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// unsignedPayload is used for streamed bodies whose hash is unknown when the
// request is signed.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// ErrSigning is matched (errors.Is) by errors returned when a request cannot be
// signed, e.g. because no AWS credentials could be found.
var ErrSigning = errors.New("client: sigv4 signing failed")

// WithSigV4 makes the client sign every tracking request with AWS Signature
// Version 4 for service (e.g. "execute-api", "sagemaker-mlflow") in region,
// using credentials from creds (wrap it in aws.NewCredentialsCache to avoid a
// lookup per request). The signature is computed on every attempt, so retries
// carry a fresh X-Amz-Date. It is WithRequestSigner with the built-in signer;
// the last signer option wins. It fails when an argument is empty or nil.
func WithSigV4(service, region string, creds aws.CredentialsProvider) Option {
	s, err := newSigV4Signer(service, region, creds)
	if err != nil {
		return func(*settings) error { return err }
	}
	return WithRequestSigner(s)
}

// sigV4Signer implements RequestSigner with the AWS SDK's SigV4 signer and
// behaves like the sagemaker-mlflow plugin's AuthBoto hook: it sets
// X-Amz-Content-SHA256, signs every header present at signing time (so the
// routing header is covered) and encodes spaces in the query as %20.
// It is safe for concurrent use.
type sigV4Signer struct {
	service string
	region  string
	creds   aws.CredentialsProvider
	signer  *v4.Signer
	now     func() time.Time
}

// newSigV4Signer returns a signer for service in region. creds is used as is;
// callers that want caching pass an aws.CredentialsCache.
func newSigV4Signer(service, region string, creds aws.CredentialsProvider) (*sigV4Signer, error) {
	switch {
	case service == "":
		return nil, &ValidationError{Field: "sigv4 service", Rule: "must not be empty"}
	case region == "":
		return nil, &ValidationError{Field: "sigv4 region", Rule: "must not be empty"}
	case creds == nil:
		return nil, &ValidationError{Field: "sigv4 credentials", Rule: "must not be nil"}
	}
	return &sigV4Signer{
		service: service,
		region:  region,
		creds:   creds,
		signer:  v4.NewSigner(),
		now:     time.Now,
	}, nil
}

// SignRequest signs req in place. body is the complete request body when the
// caller has it in memory; when body is nil the payload hash is taken from an
// X-Amz-Content-SHA256 header already on req, else the empty-body hash is used
// for a request without a body and UNSIGNED-PAYLOAD for a streamed one.
// Earlier Authorization, X-Amz-Date and X-Amz-Security-Token headers are
// replaced. Errors match ErrSigning and never contain credentials.
func (s *sigV4Signer) SignRequest(ctx context.Context, req *http.Request, body []byte) error {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("%w: retrieve aws credentials: %w", ErrSigning, err)
	}
	hash := req.Header.Get("X-Amz-Content-Sha256")
	switch {
	case body != nil:
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	case hash != "":
	case req.Body == nil || req.Body == http.NoBody || (req.ContentLength == 0 && bodilessMethod(req.Method)):
		hash = emptySHA256
	default:
		hash = unsignedPayload
	}
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "Connection"} {
		req.Header.Del(h)
	}
	req.Header.Set("X-Amz-Content-Sha256", hash)
	// url.Values.Encode writes spaces as '+'; SigV4 canonical queries (and
	// botocore verifiers) use %20, and a literal '+' is always sent as %2B.
	req.URL.RawQuery = strings.ReplaceAll(req.URL.RawQuery, "+", "%20")
	if err := s.signer.SignHTTP(ctx, creds, req, hash, s.service, s.region, s.now().UTC()); err != nil {
		return fmt.Errorf("%w: %w", ErrSigning, err)
	}
	return nil
}

func bodilessMethod(m string) bool {
	switch m {
	case "", http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// sensitiveOnRedirect reports whether a header must not follow a redirect to
// another origin: credentials, signatures and SageMaker routing headers.
func sensitiveOnRedirect(name string) bool {
	k := http.CanonicalHeaderKey(name)
	switch k {
	case "Authorization", "Proxy-Authorization", "Cookie",
		"X-Mlflow-Sm-Tracking-Server-Arn", "X-Sm-Mlflow-App-Arn":
		return true
	}
	return strings.HasPrefix(k, "X-Amz-")
}

// sameOrigin compares scheme, host and port (default ports made explicit).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// stripCrossOriginAuth returns an http.Client CheckRedirect function that
// removes Authorization, Cookie, every X-Amz-* header and the SageMaker
// routing headers from a redirected request whose origin (scheme, host, port)
// differs from the original request's, then calls next (nil: Go's default of
// at most 10 redirects). Go itself only drops Authorization when the host
// name changes, not the port, and never drops X-Amz-Security-Token.
func stripCrossOriginAuth(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && !sameOrigin(req.URL, via[0].URL) {
			for k := range req.Header {
				if sensitiveOnRedirect(k) {
					req.Header.Del(k)
				}
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("client: stopped after 10 redirects")
		}
		return nil
	}
}
