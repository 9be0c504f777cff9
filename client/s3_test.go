package client

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"
)

// s3Fake is a path-style S3 endpoint with PutObject, GetObject and
// ListObjectsV2, enough for the single-part paths of the s3 route.
type s3Fake struct {
	srv     *httptest.Server
	mu      sync.Mutex
	objects map[string][]byte      // "bucket/key"
	headers map[string]http.Header // PUT headers by "bucket/key"
	deny    bool
}

func newS3Fake(t testing.TB) *s3Fake {
	f := &s3Fake{objects: map[string][]byte{}, headers: map[string]http.Header{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *s3Fake) s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
}

func (f *s3Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deny {
		f.s3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != "bkt" {
		f.s3Error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	switch {
	case r.Method == http.MethodPut && key != "":
		b, _ := io.ReadAll(r.Body)
		f.objects[bucket+"/"+key] = b
		f.headers[bucket+"/"+key] = r.Header.Clone()
		w.Header().Set("ETag", `"etag"`)
	case r.Method == http.MethodGet && key == "" && r.URL.Query().Get("list-type") == "2":
		prefix := r.URL.Query().Get("prefix")
		type content struct {
			Key  string `xml:"Key"`
			Size int64  `xml:"Size"`
		}
		type cp struct {
			Prefix string `xml:"Prefix"`
		}
		var res struct {
			XMLName        xml.Name  `xml:"ListBucketResult"`
			Name           string    `xml:"Name"`
			Prefix         string    `xml:"Prefix"`
			IsTruncated    bool      `xml:"IsTruncated"`
			Contents       []content `xml:"Contents"`
			CommonPrefixes []cp      `xml:"CommonPrefixes"`
		}
		res.Name, res.Prefix = bucket, prefix
		seen := map[string]bool{}
		var keys []string
		for k := range f.objects {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rest, ok := strings.CutPrefix(strings.TrimPrefix(k, bucket+"/"), prefix)
			if !ok {
				continue
			}
			if dir, _, isDir := strings.Cut(rest, "/"); isDir {
				if !seen[dir] {
					seen[dir] = true
					res.CommonPrefixes = append(res.CommonPrefixes, cp{prefix + dir + "/"})
				}
				continue
			}
			res.Contents = append(res.Contents, content{Key: prefix + rest, Size: int64(len(f.objects[k]))})
		}
		w.Header().Set("Content-Type", "application/xml")
		_ = xml.NewEncoder(w).Encode(res)
	case r.Method == http.MethodGet && key != "":
		b, ok := f.objects[bucket+"/"+key]
		if !ok {
			f.s3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		_, _ = w.Write(b)
	default:
		f.s3Error(w, http.StatusNotImplemented, "NotImplemented", r.Method+" "+r.URL.String())
	}
}

func s3TestOptions(f *s3Fake, env map[string]string) []ArtifactOption {
	full := map[string]string{envS3EndpointURL: f.srv.URL}
	for k, v := range env {
		full[k] = v
	}
	return []ArtifactOption{
		WithArtifactAWSConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}),
		withArtifactEnv(func(k string) string { return full[k] }),
	}
}

func TestS3RouteUploadListDownload(t *testing.T) {
	t.Parallel()
	s3f := newS3Fake(t)
	mf := newArtFake(t, "r1")
	mf.artifactURI = "s3://bkt/exp/r1/artifacts"
	c := mf.client()
	opts := s3TestOptions(s3f, map[string]string{
		envS3UploadExtraArgs: `{"ServerSideEncryption":"aws:kms","SSEKMSKeyId":"alias/mlwatch","Metadata":{"team":"ml"}}`,
		envS3ExpectedOwner:   "123456789012",
	})
	src := t.TempDir()
	artWrite(t, src, "report.csv", []byte("a,b\n1,2\n"))
	artWrite(t, src, "model/weights.tar.gz", []byte("gz"))
	var mu sync.Mutex
	progress := map[string]int64{}
	opts = append(opts, WithProgress(func(p string, done, _ int64) {
		mu.Lock()
		progress[p] = done
		mu.Unlock()
	}))
	if err := c.LogArtifacts(context.Background(), "r1", src, "out", opts...); err != nil {
		t.Fatal(err)
	}
	h := s3f.headers["bkt/exp/r1/artifacts/out/report.csv"]
	if h == nil {
		t.Fatalf("object not stored; have %v", s3f.objects)
	}
	for k, want := range map[string]string{
		"X-Amz-Server-Side-Encryption":                "aws:kms",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "alias/mlwatch",
		"X-Amz-Expected-Bucket-Owner":                 "123456789012",
		"X-Amz-Meta-Team":                             "ml",
		"Content-Type":                                "text/csv",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("PUT header %s = %q, want %q", k, got, want)
		}
	}
	if got := s3f.headers["bkt/exp/r1/artifacts/out/model/weights.tar.gz"].Get("Content-Encoding"); got != "gzip" {
		t.Errorf("Content-Encoding for .tar.gz = %q, want gzip", got)
	}
	if diff := cmp.Diff(map[string]int64{"out/report.csv": 8, "out/model/weights.tar.gz": 2}, progress); diff != "" {
		t.Errorf("final progress (-want +got):\n%s", diff)
	}
	page, err := c.ListArtifacts(context.Background(), "r1", "out", "", opts...)
	if err != nil {
		t.Fatal(err)
	}
	want := []ArtifactInfo{{Path: "out/model", IsDir: true}, {Path: "out/report.csv", FileSize: 8}}
	if diff := cmp.Diff(want, page.Files); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}
	dst := t.TempDir()
	if err := c.DownloadArtifact(context.Background(), "r1", "out", dst, opts...); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "model", "weights.tar.gz")); err != nil || string(b) != "gz" {
		t.Errorf("downloaded %q, %v", b, err)
	}
}

func TestS3RouteErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		uri      string
		deny     bool
		wantCode string
		wantIs   error
		bucket   string
	}{
		{"access denied", "s3://bkt/p", true, "AccessDenied", ErrPermissionDenied, "bkt"},
		{"no such bucket", "s3://missing/p", false, "NoSuchBucket", ErrNotFound, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s3f := newS3Fake(t)
			s3f.deny = tt.deny
			mf := newArtFake(t, "r1")
			mf.artifactURI = tt.uri
			local := artWrite(t, t.TempDir(), "f.txt", []byte("x"))
			err := mf.client().LogArtifact(context.Background(), "r1", local, "d", s3TestOptions(s3f, nil)...)
			var se *S3Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *S3Error", err)
			}
			if se.Code != tt.wantCode || se.Bucket != tt.bucket || se.Key != "p/d/f.txt" || !errors.Is(err, tt.wantIs) {
				t.Errorf("got %+v (%v), want code %s bucket %s key p/d/f.txt", se, err, tt.wantCode, tt.bucket)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the secret key: %v", err)
			}
		})
	}
}

func TestParseS3ExtraArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		wantErr bool
	}{
		{"", false},
		{`{"ServerSideEncryption":"AES256"}`, false},
		{`{"ACL":"bucket-owner-full-control","StorageClass":"STANDARD_IA","BucketKeyEnabled":true}`, false},
		{`{"SSECustomerKey":"c2VjcmV0","SSECustomerAlgorithm":"AES256"}`, false},
		{`not json`, true},
		{`["ACL"]`, true},
		{`{"Unknown":"x"}`, true},
		{`{"ACL":1}`, true},
		{`{"Metadata":{"a":1}}`, true},
		{`{"Expires":"tomorrow"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			_, err := parseS3ExtraArgs(tt.raw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidParameter) {
				t.Errorf("err %v does not match ErrInvalidParameter", err)
			}
		})
	}
	_, err := parseS3ExtraArgs(`{"SSECustomerKey":12345}`)
	if err == nil || strings.Contains(err.Error(), "12345") {
		t.Errorf("error must not echo values: %v", err)
	}
}

func TestS3ContentType(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, ct, enc string }{
		{"a.csv", "text/csv", ""},
		{"m.tar.gz", "application/x-tar", "gzip"},
		{"x.json", "application/json", ""},
		{"blob", "", ""},
		{"x.png", "image/png", ""},
	}
	for _, tt := range tests {
		ct, enc := s3ContentType(tt.name)
		if ct != tt.ct || enc != tt.enc {
			t.Errorf("s3ContentType(%q) = %q, %q; want %q, %q", tt.name, ct, enc, tt.ct, tt.enc)
		}
	}
}

func TestS3IgnoreTLS(t *testing.T) {
	t.Parallel()
	for _, ignore := range []bool{true, false} {
		t.Run(fmt.Sprint(ignore), func(t *testing.T) {
			t.Parallel()
			f := &s3Fake{objects: map[string][]byte{}, headers: map[string]http.Header{}}
			f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
			defer f.srv.Close()
			mf := newArtFake(t, "r1")
			mf.artifactURI = "s3://bkt/p"
			local := artWrite(t, t.TempDir(), "f.txt", []byte("x"))
			err := mf.client().LogArtifact(context.Background(), "r1", local, "", s3TestOptions(f, map[string]string{envS3IgnoreTLS: fmt.Sprint(ignore)})...)
			if ignore && err != nil {
				t.Fatalf("MLFLOW_S3_IGNORE_TLS=true: %v", err)
			}
			if !ignore && err == nil {
				t.Fatal("a self-signed endpoint was accepted without MLFLOW_S3_IGNORE_TLS")
			}
		})
	}
}
