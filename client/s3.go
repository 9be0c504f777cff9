package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Environment variables of MLflow's S3 artifact repository.
const (
	envS3EndpointURL     = "MLFLOW_S3_ENDPOINT_URL"
	envS3IgnoreTLS       = "MLFLOW_S3_IGNORE_TLS"
	envS3UploadExtraArgs = "MLFLOW_S3_UPLOAD_EXTRA_ARGS"
	envS3ExpectedOwner   = "MLFLOW_S3_EXPECTED_BUCKET_OWNER"
	envS3AddressingStyle = "MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE"
	defaultS3Region      = "us-east-1"
	maxS3ListKeysPerPage = 1000
)

// s3Store is the s3:// route: straight to S3 with the caller's AWS
// credentials, as MLflow's S3ArtifactRepository.
type s3Store struct {
	api    *s3.Client
	tm     *transfermanager.Client
	bucket string
	prefix string // key prefix of the run root, no leading or trailing slash
	extra  *s3Upload
	owner  string
	logger *slog.Logger
}

// newS3Store builds the S3 client from st.awsConfig or the default chain and
// MLflow's MLFLOW_S3_* variables (read at call time, as MLflow does).
func newS3Store(ctx context.Context, c *Client, bucket, prefix string, st *artifactSettings) (artifactStore, error) {
	env := st.getenv
	extra, err := parseS3ExtraArgs(env(envS3UploadExtraArgs))
	if err != nil {
		return nil, err
	}
	var cfg aws.Config
	if st.awsConfig != nil {
		cfg = st.awsConfig.Copy()
	} else {
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("client: load aws config: %w", err)
		}
	}
	if cfg.Region == "" {
		cfg.Region = defaultS3Region
	}
	if raw := strings.TrimSpace(env(envS3IgnoreTLS)); raw != "" {
		ignore, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, &ValidationError{Field: envS3IgnoreTLS, Rule: "must be true or false", Value: truncateForError(raw)}
		}
		if ignore {
			cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
				t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // MLFLOW_S3_IGNORE_TLS asks for it
			})
		}
	}
	endpoint := strings.TrimSpace(env(envS3EndpointURL))
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &ValidationError{Field: envS3EndpointURL, Rule: "must be an absolute http(s) URL", Value: truncateForError(endpoint)}
		}
	}
	style := strings.ToLower(strings.TrimSpace(env(envS3AddressingStyle)))
	switch style {
	case "", "auto", "path", "virtual":
	default:
		return nil, &ValidationError{Field: envS3AddressingStyle, Rule: "must be auto, path or virtual", Value: truncateForError(style)}
	}
	api := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			// Custom endpoints (MinIO, moto, Ceph) rarely resolve
			// bucket sub-domains; boto3's "auto" picks path style there.
			o.UsePathStyle = style != "virtual"
			// Checksum trailers (aws-chunked) are not understood by
			// every S3-compatible server; send them only when required.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			// "Expect: 100-continue" makes each part wait for the
			// transport's 1 s timeout on servers that do not answer it
			// (moto, some gateways).
			o.ContinueHeaderThresholdBytes = -1
		} else if style == "path" {
			o.UsePathStyle = true
		}
	})
	partSize := st.partSize
	if partSize == 0 {
		partSize = defaultPartSize
	}
	tm := transfermanager.New(api, func(o *transfermanager.Options) {
		o.PartSizeBytes = partSize
		// The first read of an upload buffers up to this many bytes; keep it
		// at one part so memory is (concurrency+1) parts at most.
		o.MultipartUploadThreshold = partSize
		o.Concurrency = st.concurrency
		if endpoint != "" {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.DisableChecksumValidation = true
		}
	})
	return &s3Store{
		api:    api,
		tm:     tm,
		bucket: bucket,
		prefix: strings.Trim(prefix, "/"),
		extra:  extra,
		owner:  strings.TrimSpace(env(envS3ExpectedOwner)),
		logger: c.logger,
	}, nil
}

func (s *s3Store) key(rel string) string { return joinArtifactPath(s.prefix, rel) }

func (s *s3Store) put(ctx context.Context, dest string, src *uploadSource, st *artifactSettings) error {
	key := s.key(dest)
	in := &transfermanager.UploadObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
		Body:   src.body,
	}
	if src.size >= 0 {
		in.ContentLength = aws.Int64(src.size)
	}
	ct, enc := s3ContentType(dest)
	if st.contentType != "" {
		ct, enc = st.contentType, ""
	}
	if ct != "" {
		in.ContentType = aws.String(ct)
	}
	if enc != "" {
		in.ContentEncoding = aws.String(enc)
	}
	if s.owner != "" {
		in.ExpectedBucketOwner = aws.String(s.owner)
	}
	if err := s.extra.apply(in); err != nil {
		return err
	}
	if src.file != nil && src.size >= 0 {
		return s.putFile(ctx, dest, src.file, src.size, in, st)
	}
	// Streams go through the transfer manager: multipart with up to
	// (concurrency+1) part buffers when the size is unknown or large.
	var opts []func(*transfermanager.Options)
	if st.progress != nil {
		opts = append(opts, func(o *transfermanager.Options) {
			o.ObjectProgressListeners.Register(s3Progress{path: dest, st: st})
		})
	}
	if _, err := s.tm.UploadObject(ctx, in, opts...); err != nil {
		return s3Err("PutObject", s.bucket, key, err)
	}
	if src.size == 0 {
		st.report(dest, 0, 0)
	}
	return nil
}

func (s *s3Store) list(ctx context.Context, dir, pageToken string) (*ArtifactsPage, error) {
	prefix := s.key(dir)
	if prefix != "" {
		prefix += "/"
	}
	in := &s3.ListObjectsV2Input{
		Bucket:    aws.String(s.bucket),
		Prefix:    aws.String(prefix),
		Delimiter: aws.String("/"),
		MaxKeys:   aws.Int32(maxS3ListKeysPerPage),
	}
	if pageToken != "" {
		in.ContinuationToken = aws.String(pageToken)
	}
	if s.owner != "" {
		in.ExpectedBucketOwner = aws.String(s.owner)
	}
	out, err := s.api.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, s3Err("ListObjectsV2", s.bucket, prefix, err)
	}
	page := &ArtifactsPage{}
	for _, cp := range out.CommonPrefixes {
		name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/")
		if name == "" {
			continue
		}
		page.Files = append(page.Files, ArtifactInfo{Path: joinArtifactPath(dir, name), IsDir: true})
	}
	for _, o := range out.Contents {
		name := strings.TrimPrefix(aws.ToString(o.Key), prefix)
		if name == "" {
			continue // a directory marker object
		}
		page.Files = append(page.Files, ArtifactInfo{Path: joinArtifactPath(dir, name), FileSize: aws.ToInt64(o.Size)})
	}
	if aws.ToBool(out.IsTruncated) {
		page.NextPageToken = aws.ToString(out.NextContinuationToken)
	}
	return page, nil
}

func (s *s3Store) get(ctx context.Context, src string, dst *os.File, st *artifactSettings) error {
	key := s.key(src)
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if s.owner != "" {
		in.ExpectedBucketOwner = aws.String(s.owner)
	}
	// One streamed GetObject: the transfer manager's ranged download fails
	// on empty objects (no Content-Range) in v0.5.4.
	out, err := s.api.GetObject(ctx, in)
	if err != nil {
		return s3Err("GetObject", s.bucket, key, err)
	}
	defer out.Body.Close()
	r := &progressReader{r: out.Body, path: src, total: aws.ToInt64(out.ContentLength), st: st}
	if _, err := io.Copy(dst, r); err != nil {
		return s3Err("GetObject", s.bucket, key, err)
	}
	return nil
}

// s3Progress forwards transfer-manager progress to the callback.
type s3Progress struct {
	path string
	st   *artifactSettings
}

// OnObjectBytesTransferred implements transfermanager.ObjectBytesTransferredListener.
func (p s3Progress) OnObjectBytesTransferred(_ context.Context, e *transfermanager.ObjectBytesTransferredEvent) {
	p.st.report(p.path, e.BytesTransferred, e.TotalBytes)
}

// s3Err wraps an SDK error into *S3Error with the S3 error code.
func s3Err(op, bucket, key string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("client: s3 %s s3://%s/%s: %w", op, bucket, key, err)
	}
	e := &S3Error{Op: op, Bucket: bucket, Key: key, Err: err}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code = ae.ErrorCode()
		e.Message = oneLine(ae.ErrorMessage(), 200)
	} else {
		e.Message = oneLine(errorUnwrapURL(err).Error(), 200)
	}
	return e
}
