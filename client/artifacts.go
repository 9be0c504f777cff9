package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ArtifactInfo is one entry of a run's artifact listing.
type ArtifactInfo struct {
	// Path is relative to the run's artifact root, slash-separated.
	Path string
	// IsDir reports a directory (a common prefix on S3).
	IsDir bool
	// FileSize is the size in bytes of a file; 0 for directories.
	FileSize int64
}

// ArtifactsPage is one page of ListArtifacts.
type ArtifactsPage struct {
	// Files are the direct children of the listed path, in store order.
	Files []ArtifactInfo
	// NextPageToken is empty on the last page.
	NextPageToken string
}

// ArtifactOption configures one artifact call. Options validate their
// argument; an invalid option makes the call fail before any I/O.
type ArtifactOption func(*artifactSettings) error

type artifactSettings struct {
	progress    func(path string, done, total int64)
	concurrency int
	partSize    int64
	contentType string
	awsConfig   *aws.Config
	getenv      func(string) string
}

// Defaults of artifact transfers.
const (
	defaultArtifactConcurrency = 4
	defaultPartSize            = 8 << 20
	minPartSize                = 5 << 20 // S3's minimum multipart part size
	maxPartSize                = 512 << 20
)

// WithProgress registers fn to be told about transfer progress: path is the
// artifact path (relative to the run's root), done the bytes transferred so
// far and total the size (-1 if unknown). fn is called from the transferring
// goroutines, possibly concurrently for directory transfers, so it must be
// safe for concurrent use and return quickly. After a retried attempt done
// starts again from 0.
func WithProgress(fn func(path string, done, total int64)) ArtifactOption {
	return func(s *artifactSettings) error {
		if fn == nil {
			return &ValidationError{Field: "progress", Rule: "must not be nil"}
		}
		s.progress = fn
		return nil
	}
}

// WithConcurrency sets how many files (directory transfers) or parts
// (multipart uploads) move at the same time, 1-64; the default is 4.
func WithConcurrency(n int) ArtifactOption {
	return func(s *artifactSettings) error {
		if n < 1 || n > 64 {
			return &ValidationError{Field: "concurrency", Rule: "must be between 1 and 64", Value: fmt.Sprint(n)}
		}
		s.concurrency = n
		return nil
	}
}

// WithPartSize sets the multipart part size for S3 and proxied multipart
// uploads, 5 MiB-512 MiB; the default is 8 MiB for S3 (files of at least one
// part go multipart) and MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE (10 MiB) for the
// proxy. Local files are sent in place (file sections, nothing buffered);
// S3 streams (LogArtifactStream) hold up to (concurrency+1) parts in memory.
func WithPartSize(n int64) ArtifactOption {
	return func(s *artifactSettings) error {
		if n < minPartSize || n > maxPartSize {
			return &ValidationError{Field: "part_size", Rule: "must be between 5 MiB and 512 MiB", Value: fmt.Sprint(n)}
		}
		s.partSize = n
		return nil
	}
}

// WithContentType overrides the Content-Type guessed from the file name
// (single-file and stream uploads).
func WithContentType(ct string) ArtifactOption {
	return func(s *artifactSettings) error {
		if ct == "" || strings.ContainsAny(ct, "\r\n") {
			return &ValidationError{Field: "content_type", Rule: "must be a non-empty single-line value", Value: truncateForError(ct)}
		}
		s.contentType = ct
		return nil
	}
}

// WithArtifactAWSConfig makes the s3:// route use cfg (credentials, region,
// HTTP client) instead of the default AWS chain. cfg is copied.
func WithArtifactAWSConfig(cfg aws.Config) ArtifactOption {
	return func(s *artifactSettings) error {
		c := cfg.Copy()
		s.awsConfig = &c
		return nil
	}
}

// withArtifactEnv replaces os.Getenv for the MLFLOW_S3_* and multipart
// variables (tests).
func withArtifactEnv(getenv func(string) string) ArtifactOption {
	return func(s *artifactSettings) error { s.getenv = getenv; return nil }
}

func newArtifactSettings(opts []ArtifactOption) (*artifactSettings, error) {
	s := &artifactSettings{concurrency: defaultArtifactConcurrency, getenv: os.Getenv}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *artifactSettings) report(path string, done, total int64) {
	if s.progress != nil {
		s.progress(path, done, total)
	}
}

// uploadSource is what a route uploads.
type uploadSource struct {
	body   io.Reader                     // first attempt
	size   int64                         // -1 unknown
	reopen func() (io.ReadCloser, error) // nil: the body cannot be replayed
	file   *os.File                      // set when the source is a local file
}

// artifactStore is one artifact route (proxy, s3, local).
type artifactStore interface {
	put(ctx context.Context, dest string, src *uploadSource, st *artifactSettings) error
	list(ctx context.Context, dir, pageToken string) (*ArtifactsPage, error)
	get(ctx context.Context, src string, dst *os.File, st *artifactSettings) error
}

// artifactStoreFor resolves the run's artifact_uri (one GetRun per call) and
// returns its route.
func (c *Client) artifactStoreFor(ctx context.Context, runID string, st *artifactSettings) (artifactStore, error) {
	if runID == "" {
		return nil, &ValidationError{Field: "run_id", Rule: "must not be empty"}
	}
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	return c.storeForURI(ctx, run.Info.ArtifactURI, st)
}

// storeForURI picks the route from the URI scheme as MLflow's artifact
// repository registry does.
func (c *Client) storeForURI(ctx context.Context, uri string, st *artifactSettings) (artifactStore, error) {
	fail := func(reason string) (artifactStore, error) {
		return nil, &ArtifactURIError{URI: truncateForError(uri), Reason: reason}
	}
	if uri == "" {
		return fail("run has no artifact uri")
	}
	u, err := url.Parse(uri)
	if err != nil {
		return fail("not a uri")
	}
	switch u.Scheme {
	case "mlflow-artifacts":
		return newProxyStore(c, u)
	case "s3":
		if u.Host == "" {
			return fail("s3 uri without bucket")
		}
		return newS3Store(ctx, c, u.Host, strings.Trim(u.Path, "/"), st)
	case "file", "":
		if u.Host != "" && u.Host != "localhost" {
			return fail("file uri with a remote host")
		}
		if !filepath.IsAbs(u.Path) {
			return fail("local artifact root must be absolute")
		}
		return localStore{root: filepath.Clean(u.Path)}, nil
	default:
		return fail(fmt.Sprintf("scheme %q is not supported (mlflow-artifacts, s3, file)", u.Scheme))
	}
}

// LogArtifact uploads the local file localPath into the run's artifacts as
// artifactPath/<base name of localPath> ("" artifactPath: the root), through
// the route the run's artifact_uri selects (MLflow proxy, S3 or a local
// directory). The file is streamed, never read into memory whole; a failed
// proxied attempt is retried by reopening the file. Errors: *ValidationError
// for a bad option or empty run ID, *ArtifactPathError for an unsafe
// artifactPath or a non-regular file, *fs.PathError for a missing or
// unreadable file, *ArtifactURIError for an unsupported artifact root,
// *APIError from MLflow, *S3Error from S3. Safe for concurrent use.
func (c *Client) LogArtifact(ctx context.Context, runID, localPath, artifactPath string, opts ...ArtifactOption) error {
	st, err := newArtifactSettings(opts)
	if err != nil {
		return err
	}
	dir, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return err
	}
	info, err := os.Stat(localPath)
	if err != nil {
		return fmt.Errorf("client: log artifact: %w", err)
	}
	if !info.Mode().IsRegular() {
		return &ArtifactPathError{Path: truncateForError(localPath), Reason: "not a regular file"}
	}
	store, err := c.artifactStoreFor(ctx, runID, st)
	if err != nil {
		return err
	}
	return uploadLocalFile(ctx, store, localPath, joinArtifactPath(dir, filepath.Base(localPath)), st)
}

func uploadLocalFile(ctx context.Context, store artifactStore, localPath, dest string, st *artifactSettings) error {
	f, err := os.Open(localPath)
	if err != nil {
		return fmt.Errorf("client: log artifact: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("client: log artifact: %w", err)
	}
	src := &uploadSource{
		body: f,
		size: info.Size(),
		file: f,
		reopen: func() (io.ReadCloser, error) {
			return os.Open(localPath)
		},
	}
	return store.put(ctx, dest, src, st)
}

// LogArtifacts uploads every regular file below localDir (recursively) into
// the run's artifacts under artifactPath, keeping the relative layout, like
// MLflow's log_artifacts. The whole tree is checked first: a missing
// directory, an unreadable subdirectory, a symlink that leaves localDir, a
// broken symlink or a special file fails the call before anything is
// uploaded (symlinked directories are skipped, as os.walk does). Files move
// WithConcurrency at a time; files of at least the part size go one at a time
// so memory stays bounded. When some files fail the others are still tried
// and a *DirectoryUploadError lists what landed and what did not. Safe for
// concurrent use.
func (c *Client) LogArtifacts(ctx context.Context, runID, localDir, artifactPath string, opts ...ArtifactOption) error {
	st, err := newArtifactSettings(opts)
	if err != nil {
		return err
	}
	dir, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return err
	}
	files, err := collectFiles(localDir)
	if err != nil {
		var pe *ArtifactPathError
		if errors.As(err, &pe) {
			return err
		}
		return fmt.Errorf("client: log artifacts: %w", err)
	}
	dests := make([]string, len(files))
	for i, f := range files {
		if dests[i], err = cleanArtifactPath(joinArtifactPath(dir, f.rel)); err != nil {
			return err
		}
	}
	store, err := c.artifactStoreFor(ctx, runID, st)
	if err != nil {
		return err
	}
	large := st.partSize
	if large == 0 {
		large = defaultPartSize
	}
	errs := make([]error, len(files))
	run := func(idx []int, workers int) {
		sem := make(chan struct{}, workers)
		var wg sync.WaitGroup
		for _, i := range idx {
			if err := ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				errs[i] = uploadLocalFile(ctx, store, files[i].abs, dests[i], st)
			})
		}
		wg.Wait()
	}
	var small, big []int
	for i, f := range files {
		if f.size >= large {
			big = append(big, i)
		} else {
			small = append(small, i)
		}
	}
	run(small, st.concurrency)
	run(big, 1)
	de := &DirectoryUploadError{Dir: localDir}
	for i, e := range errs {
		if e != nil {
			de.Failed = append(de.Failed, dests[i])
			de.Errs = append(de.Errs, e)
		} else {
			de.Uploaded = append(de.Uploaded, dests[i])
		}
	}
	if len(de.Failed) > 0 {
		return de
	}
	return nil
}

// LogArtifactStream uploads r as the artifact file artifactPath (a file path
// relative to the run's root, not a directory). size is the byte count, or -1
// when unknown: the proxy then receives a chunked request and S3 a multipart
// upload through the transfer manager; nothing buffers the whole stream (S3
// holds up to concurrency+1 parts). On the proxy the upload is retried only
// when r is an io.Seeker (it is rewound to where it was when the call
// started); other readers are sent once. On S3 the SDK retries each part
// from its buffer. r is read until
// EOF but not closed. Errors as for LogArtifact. Safe for concurrent use, but
// r itself must not be shared.
func (c *Client) LogArtifactStream(ctx context.Context, runID, artifactPath string, r io.Reader, size int64, opts ...ArtifactOption) error {
	st, err := newArtifactSettings(opts)
	if err != nil {
		return err
	}
	dest, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return err
	}
	if dest == "" {
		return &ArtifactPathError{Path: artifactPath, Reason: "stream needs a file path"}
	}
	if r == nil {
		return &ValidationError{Field: "reader", Rule: "must not be nil"}
	}
	if size < -1 {
		return &ValidationError{Field: "size", Rule: "must be -1 (unknown) or >= 0", Value: fmt.Sprint(size)}
	}
	src := &uploadSource{body: r, size: size}
	if s, ok := r.(io.ReadSeeker); ok {
		start, err := s.Seek(0, io.SeekCurrent)
		if err == nil {
			src.reopen = func() (io.ReadCloser, error) {
				if _, err := s.Seek(start, io.SeekStart); err != nil {
					return nil, err
				}
				return io.NopCloser(s), nil
			}
		}
	}
	store, err := c.artifactStoreFor(ctx, runID, st)
	if err != nil {
		return err
	}
	return store.put(ctx, dest, src, st)
}

// ListArtifacts returns one page of the direct children of path (relative to
// the run's artifact root; "" lists the root). The MLflow proxy and local
// roots answer in one page; S3 pages with ListObjectsV2 (pass NextPageToken
// back as pageToken). A file path or a missing path yields no entries. Of
// opts only WithArtifactAWSConfig matters. Safe for concurrent use.
func (c *Client) ListArtifacts(ctx context.Context, runID, path, pageToken string, opts ...ArtifactOption) (*ArtifactsPage, error) {
	p, err := cleanArtifactPath(path)
	if err != nil {
		return nil, err
	}
	st, err := newArtifactSettings(opts)
	if err != nil {
		return nil, err
	}
	store, err := c.artifactStoreFor(ctx, runID, st)
	if err != nil {
		return nil, err
	}
	return store.list(ctx, p, pageToken)
}

// ListArtifactsSeq yields every direct child of path across all pages; it
// stops after the first error, which it yields. It is not recursive.
func (c *Client) ListArtifactsSeq(ctx context.Context, runID, path string, opts ...ArtifactOption) iter.Seq2[ArtifactInfo, error] {
	return func(yield func(ArtifactInfo, error) bool) {
		p, err := cleanArtifactPath(path)
		if err != nil {
			yield(ArtifactInfo{}, err)
			return
		}
		st, err := newArtifactSettings(opts)
		if err != nil {
			yield(ArtifactInfo{}, err)
			return
		}
		store, err := c.artifactStoreFor(ctx, runID, st)
		if err != nil {
			yield(ArtifactInfo{}, err)
			return
		}
		for e, err := range listSeq(ctx, store, p) {
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

func listSeq(ctx context.Context, store artifactStore, p string) iter.Seq2[ArtifactInfo, error] {
	return func(yield func(ArtifactInfo, error) bool) {
		token := ""
		for {
			page, err := store.list(ctx, p, token)
			if err != nil {
				yield(ArtifactInfo{}, err)
				return
			}
			for _, f := range page.Files {
				if !yield(f, nil) {
					return
				}
			}
			if page.NextPageToken == "" || page.NextPageToken == token {
				return
			}
			token = page.NextPageToken
		}
	}
}
