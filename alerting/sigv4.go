package alerting

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// ServiceAPS is the SigV4 service name of Amazon Managed Service for
// Prometheus.
const ServiceAPS = "aps"

// SigV4Transport is an http.RoundTripper that signs every request with AWS
// Signature Version 4 (aws-sdk-go-v2's signer) before passing it on. It
// buffers the body, signs the SHA-256 of exactly the bytes it sends, and
// signs a clone: the caller's request is never modified. Credentials are
// retrieved through an aws.CredentialsCache, so an IAM role's temporary
// credentials are refreshed before they expire. It is safe for concurrent
// use. Signed headers, keys and tokens are never logged or put in errors.
type SigV4Transport struct {
	next    http.RoundTripper
	creds   aws.CredentialsProvider
	signer  *v4.Signer
	region  string
	service string
	now     func() time.Time
}

// NewSigV4Transport returns a transport signing for service (ServiceAPS for
// AMP) in region with credentials from creds, sending through next (a clone
// of http.DefaultTransport when nil). It returns a *ConfigError when region,
// service or creds is missing. creds is wrapped in an aws.CredentialsCache
// unless it already is one.
func NewSigV4Transport(next http.RoundTripper, region, service string, creds aws.CredentialsProvider) (*SigV4Transport, error) {
	if region == "" {
		return nil, &ConfigError{Option: "region", Reason: "SigV4 needs a region"}
	}
	if service == "" {
		return nil, &ConfigError{Option: "service", Reason: "SigV4 needs a service name"}
	}
	if creds == nil {
		return nil, &ConfigError{Option: "credentials", Reason: "SigV4 needs a credentials provider"}
	}
	if next == nil {
		next = http.DefaultTransport.(*http.Transport).Clone()
	}
	if _, ok := creds.(*aws.CredentialsCache); !ok {
		creds = aws.NewCredentialsCache(creds)
	}
	return &SigV4Transport{
		next:    next,
		creds:   creds,
		signer:  v4.NewSigner(),
		region:  region,
		service: service,
		now:     time.Now,
	}, nil
}

// RoundTrip implements http.RoundTripper. It consumes and closes req.Body
// as the interface requires.
func (t *SigV4Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("alerting: sigv4: read body: %w", err)
		}
		body = b
	}
	sum := sha256.Sum256(body)
	clone := req.Clone(req.Context())
	clone.Header.Del("Authorization")
	clone.Header.Del("X-Amz-Date")
	clone.Header.Del("X-Amz-Security-Token")
	clone.ContentLength = int64(len(body))
	if len(body) == 0 {
		clone.Body = http.NoBody
		clone.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	} else {
		clone.Body = io.NopCloser(bytes.NewReader(body))
		clone.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	creds, err := t.creds.Retrieve(req.Context())
	if err != nil {
		return nil, fmt.Errorf("alerting: sigv4: retrieve credentials: %w", err)
	}
	if err := t.signer.SignHTTP(req.Context(), creds, clone, hex.EncodeToString(sum[:]), t.service, t.region, t.now().UTC()); err != nil {
		return nil, fmt.Errorf("alerting: sigv4: sign: %w", err)
	}
	return t.next.RoundTrip(clone)
}
