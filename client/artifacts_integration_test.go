//go:build integration

package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// artEnv returns a required integration variable or fails the test.
func artEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set; run the tests through `make test` or scripts/teststack.sh", name)
	}
	return v
}

// artReachable fails the test when uri does not answer /health.
func artReachable(t testing.TB, uri string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, uri+"/health", nil)
	resp, err := (&http.Transport{}).RoundTrip(req)
	if err != nil {
		t.Fatalf("mlflow at %s unreachable: %v", uri, err)
	}
	resp.Body.Close()
}

// artPython runs script with the venv's python and extra environment and
// returns stdout.
func artPython(t testing.TB, script string, env ...string) []byte {
	t.Helper()
	py := artEnv(t, "MLWATCH_TEST_PYTHON")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python failed: %v\n%s", err, stderr.String())
	}
	return out
}

// artTreeHashes returns slash path → hex sha256 for every file below dir.
func artTreeHashes(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// artMakeTree writes a nested directory with text, JSON, empty, spaced and
// a few-MiB random binary file.
func artMakeTree(t testing.TB, dir string, bigSize int) {
	t.Helper()
	big := make([]byte, bigSize)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"a.txt":                []byte("hello artifacts\n"),
		"nested/deep/b.json":   []byte(`{"k": [1, 2, 3]}`),
		"nested/with space.md": []byte("# spaced name\n"),
		"nested/empty.log":     nil,
		"model/big.bin":        big,
		"model/MLmodel":        []byte("flavors: {}\n"),
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// artPyHashes is python that downloads run artifacts with MlflowClient and
// prints {path: sha256} of what it got.
const artPyDownload = `
import hashlib, json, os, sys, tempfile
from mlflow import MlflowClient
run_id, paths = sys.argv[1], sys.argv[2:]
out = {}
with tempfile.TemporaryDirectory() as d:
    for p in paths:
        local = MlflowClient().download_artifacts(run_id, p, d)
    for root, _, files in os.walk(d):
        for f in files:
            full = os.path.join(root, f)
            with open(full, "rb") as fh:
                out[os.path.relpath(full, d)] = hashlib.sha256(fh.read()).hexdigest()
print(json.dumps(out))
`

const artPyUpload = `
import json, sys
from mlflow import MlflowClient
run_id, tree, single = sys.argv[1], sys.argv[2], sys.argv[3]
c = MlflowClient()
c.log_artifacts(run_id, tree, "pytree")
c.log_artifact(run_id, single, "pysingle")
print("ok")
`

func artPythonArgs(t testing.TB, script string, env []string, args ...string) []byte {
	t.Helper()
	py := artEnv(t, "MLWATCH_TEST_PYTHON")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{"-c", script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python failed: %v\n%s", err, stderr.String())
	}
	return out
}

// TestArtifactsRoundTripIntegration uploads with Go and downloads with the
// official Python client, then the other way round, on the proxied route and
// on the S3 (moto) route, and compares sha256 of every file.
func TestArtifactsRoundTripIntegration(t *testing.T) {
	moto := artEnv(t, "MLWATCH_TEST_MOTO_URL")
	routes := []struct {
		name, uriVar, scheme string
	}{
		{"proxied", "MLWATCH_TEST_MLFLOW_URI", "mlflow-artifacts:"},
		{"s3", "MLWATCH_TEST_MLFLOW_S3_URI", "s3://"},
	}
	// Not parallel: t.Setenv.
	t.Setenv("MLFLOW_S3_ENDPOINT_URL", moto)
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			uri := artEnv(t, rt.uriVar)
			artReachable(t, uri)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			c, err := New(uri)
			if err != nil {
				t.Fatal(err)
			}
			exp, err := c.GetOrCreateExperiment(ctx, "mlwatch-artifacts-it", nil)
			if err != nil {
				t.Fatal(err)
			}
			run, err := c.CreateRun(ctx, CreateRunOptions{ExperimentID: exp.ID, RunName: "artifacts-" + rt.name})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(run.Info.ArtifactURI, rt.scheme) {
				t.Fatalf("artifact uri %q, want scheme %q", run.Info.ArtifactURI, rt.scheme)
			}
			runID := run.Info.RunID
			pyEnv := []string{"MLFLOW_TRACKING_URI=" + uri, "MLFLOW_S3_ENDPOINT_URL=" + moto}

			// Go → Python.
			src := t.TempDir()
			artMakeTree(t, src, 3<<20+123)
			if err := c.LogArtifacts(ctx, runID, src, "gotree", WithConcurrency(3)); err != nil {
				t.Fatal(err)
			}
			// 11 MiB with 5 MiB parts: multipart on S3 (file sections) and
			// through the transfer manager for the unknown-size stream.
			large := make([]byte, 11<<20+3)
			_, _ = rand.Read(large)
			largePath := filepath.Join(t.TempDir(), "big.bin")
			if err := os.WriteFile(largePath, large, 0o644); err != nil {
				t.Fatal(err)
			}
			var lastDone atomic.Int64
			progress := WithProgress(func(_ string, done, _ int64) { lastDone.Store(done) })
			if err := c.LogArtifact(ctx, runID, largePath, "single", WithPartSize(5<<20), WithConcurrency(2), progress); err != nil {
				t.Fatal(err)
			}
			if got := lastDone.Load(); got != int64(len(large)) {
				t.Errorf("final progress %d, want %d", got, len(large))
			}
			stream := make([]byte, 11<<20+7)
			_, _ = rand.Read(stream)
			if err := c.LogArtifactStream(ctx, runID, "stream/s.bin", io.MultiReader(bytes.NewReader(stream)), -1, WithPartSize(5<<20)); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for k, v := range artTreeHashes(t, src) {
				want["gotree/"+k] = v
			}
			largeSum := sha256.Sum256(large)
			want["single/big.bin"] = hex.EncodeToString(largeSum[:])
			sum := sha256.Sum256(stream)
			want["stream/s.bin"] = hex.EncodeToString(sum[:])
			var got map[string]string
			out := artPythonArgs(t, artPyDownload, pyEnv, runID, "gotree", "single", "stream")
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("python output %q: %v", out, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("python read back what Go uploaded (-want +got):\n%s", diff)
			}

			// Python → Go.
			pysrc := t.TempDir()
			artMakeTree(t, pysrc, 4<<20+1)
			pySingle := filepath.Join(t.TempDir(), "py single.bin")
			single := make([]byte, 1<<20+5)
			_, _ = rand.Read(single)
			if err := os.WriteFile(pySingle, single, 0o644); err != nil {
				t.Fatal(err)
			}
			artPythonArgs(t, artPyUpload, pyEnv, runID, pysrc, pySingle)
			dst := t.TempDir()
			if err := c.DownloadArtifact(ctx, runID, "pytree", filepath.Join(dst, "pytree")); err != nil {
				t.Fatal(err)
			}
			if err := c.DownloadArtifact(ctx, runID, "pysingle/py single.bin", filepath.Join(dst, "one.bin")); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(artTreeHashes(t, pysrc), artTreeHashes(t, filepath.Join(dst, "pytree"))); diff != "" {
				t.Errorf("Go read back what Python uploaded (-want +got):\n%s", diff)
			}
			gotSingle, err := os.ReadFile(filepath.Join(dst, "one.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotSingle, single) {
				t.Errorf("single file differs: %d bytes, want %d", len(gotSingle), len(single))
			}

			// Listing.
			page, err := c.ListArtifacts(ctx, runID, "", "")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range page.Files {
				if !f.IsDir {
					t.Errorf("root entry %+v is not a directory", f)
				}
				names = append(names, f.Path)
			}
			slices.Sort(names)
			if diff := cmp.Diff([]string{"gotree", "pysingle", "pytree", "single", "stream"}, names); diff != "" {
				t.Errorf("root listing (-want +got):\n%s", diff)
			}
			var nested []ArtifactInfo
			for f, err := range c.ListArtifactsSeq(ctx, runID, "gotree/nested") {
				if err != nil {
					t.Fatal(err)
				}
				nested = append(nested, f)
			}
			slices.SortFunc(nested, func(a, b ArtifactInfo) int { return strings.Compare(a.Path, b.Path) })
			wantNested := []ArtifactInfo{
				{Path: "gotree/nested/deep", IsDir: true},
				{Path: "gotree/nested/empty.log"},
				{Path: "gotree/nested/with space.md", FileSize: 14},
			}
			if diff := cmp.Diff(wantNested, nested); diff != "" {
				t.Errorf("nested listing (-want +got):\n%s", diff)
			}
			// A missing artifact is ErrNotFound.
			err = c.DownloadArtifact(ctx, runID, "no/such/file.txt", filepath.Join(dst, "x"))
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("missing artifact: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestArtifactsS3NoSuchBucketIntegration logs to a run whose experiment
// points at a bucket that does not exist on moto.
func TestArtifactsS3NoSuchBucketIntegration(t *testing.T) {
	moto := artEnv(t, "MLWATCH_TEST_MOTO_URL")
	uri := artEnv(t, "MLWATCH_TEST_MLFLOW_S3_URI")
	artReachable(t, uri)
	t.Setenv("MLFLOW_S3_ENDPOINT_URL", moto)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := New(uri)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("mlwatch-nobucket-%d", time.Now().UnixNano())
	bucket := "mlwatch-missing-bucket-it"
	exp, err := c.GetOrCreateExperiment(ctx, name, &ExperimentOptions{ArtifactLocation: "s3://" + bucket + "/root"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.CreateRun(ctx, CreateRunOptions{ExperimentID: exp.ID})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "x.txt")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = c.LogArtifact(ctx, run.Info.RunID, f, "")
	var se *S3Error
	if !errors.As(err, &se) || !errors.Is(err, ErrNotFound) || se.Bucket != bucket || se.Code != "NoSuchBucket" {
		t.Fatalf("LogArtifact into a missing bucket: %v, want *S3Error NoSuchBucket naming %q", err, bucket)
	}
	if !strings.HasSuffix(se.Key, "/artifacts/x.txt") {
		t.Errorf("key %q does not name the object", se.Key)
	}
}
