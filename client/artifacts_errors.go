package client

import (
	"errors"
	"fmt"
)

// Sentinels for artifact failures found before any transfer; each is matched
// with errors.Is by the typed error that reports it.
var (
	// ErrUnsafeArtifactPath is matched by *ArtifactPathError.
	ErrUnsafeArtifactPath = errors.New("client: unsafe artifact path")
	// ErrUnsupportedArtifactURI is matched by *ArtifactURIError.
	ErrUnsupportedArtifactURI = errors.New("client: unsupported artifact uri")
)

// ArtifactPathError reports an artifact path (or a local file found while
// walking a directory) that would escape the run's artifact root or the
// uploaded directory: "..", an absolute path, a symlink that points outside
// the directory, a path that is not in clean form, or a file that is not a
// regular file. It matches ErrUnsafeArtifactPath and ErrInvalidParameter.
type ArtifactPathError struct {
	// Path is the offending path, truncated to 200 bytes.
	Path string
	// Reason names the rule that failed.
	Reason string
}

// Error returns a one-line description.
func (e *ArtifactPathError) Error() string {
	return fmt.Sprintf("client: unsafe artifact path %q: %s", e.Path, e.Reason)
}

// Is reports whether target is ErrUnsafeArtifactPath or ErrInvalidParameter.
func (e *ArtifactPathError) Is(target error) bool {
	return target == ErrUnsafeArtifactPath || target == ErrInvalidParameter
}

// ArtifactURIError reports a run artifact URI this client cannot write to or
// read from (an unknown scheme such as gs:// or dbfs:/, or a malformed URI).
// It matches ErrUnsupportedArtifactURI.
type ArtifactURIError struct {
	// URI is the run's artifact_uri, truncated to 200 bytes.
	URI string
	// Reason says what is wrong.
	Reason string
}

// Error returns a one-line description.
func (e *ArtifactURIError) Error() string {
	return fmt.Sprintf("client: unsupported artifact uri %q: %s", e.URI, e.Reason)
}

// Is reports whether target is ErrUnsupportedArtifactURI.
func (e *ArtifactURIError) Is(target error) bool { return target == ErrUnsupportedArtifactURI }

// DirectoryUploadError is returned by LogArtifacts when some files of the
// directory were not uploaded. Uploaded and Failed hold artifact paths
// relative to the run's artifact root, sorted; Errs[i] is the error for
// Failed[i]. Files that were never attempted because the context ended are in
// Failed with the context's error. errors.Is/As look through Errs.
type DirectoryUploadError struct {
	// Dir is the local directory that was uploaded.
	Dir string
	// Uploaded lists the artifact paths that landed.
	Uploaded []string
	// Failed lists the artifact paths that did not land.
	Failed []string
	// Errs holds one error per entry of Failed.
	Errs []error
}

// Error returns a one-line summary naming the first failure.
func (e *DirectoryUploadError) Error() string {
	if len(e.Failed) == 0 {
		return fmt.Sprintf("client: upload directory %q: incomplete", e.Dir)
	}
	return fmt.Sprintf("client: upload directory %q: %d of %d files failed, first %q: %v",
		e.Dir, len(e.Failed), len(e.Failed)+len(e.Uploaded), e.Failed[0], e.Errs[0])
}

// Unwrap returns the per-file errors.
func (e *DirectoryUploadError) Unwrap() []error { return e.Errs }

// S3Error reports a failed S3 call of the s3:// artifact route and names the
// bucket and key. Code is the S3 error code (AccessDenied, NoSuchBucket,
// NoSuchKey, ...) when S3 sent one. It matches ErrPermissionDenied for
// AccessDenied-like codes, ErrNotFound for NoSuchBucket/NoSuchKey/NotFound,
// and unwraps to the SDK error.
type S3Error struct {
	// Op is the S3 operation, e.g. "PutObject".
	Op string
	// Bucket and Key identify the object (Key may be a prefix for listings).
	Bucket, Key string
	// Code is the S3 error code, empty for transport errors.
	Code string
	// Message is S3's message (or the transport error), one line.
	Message string
	// Err is the SDK's error.
	Err error
}

// Error returns a one-line description naming bucket and key.
func (e *S3Error) Error() string {
	code := e.Code
	if code == "" {
		code = "error"
	}
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("client: s3 %s s3://%s/%s: %s: %s", e.Op, e.Bucket, e.Key, code, msg)
}

// Unwrap returns the SDK error.
func (e *S3Error) Unwrap() error { return e.Err }

// Is maps S3 error codes onto the package sentinels.
func (e *S3Error) Is(target error) bool {
	switch target {
	case ErrPermissionDenied:
		switch e.Code {
		case "AccessDenied", "Forbidden", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch":
			return true
		}
	case ErrNotFound:
		switch e.Code {
		case "NoSuchBucket", "NoSuchKey", "NotFound":
			return true
		}
	}
	return false
}
