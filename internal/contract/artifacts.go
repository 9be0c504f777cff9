package contract

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlwatch/mlwatch/client"
)

// artifacts: files uploaded through the proxied artifact API are listed
// and downloaded back byte for byte.
func (s *suite) artifacts(t *testing.T, c *client.Client) {
	_, id := s.newRun(t, c, "artifacts")
	files := map[string][]byte{
		"model/model.pkl":        bytes.Repeat([]byte{0, 1, 2, 250}, 4096),
		"model/conf/params.json": []byte(`{"depth": 6}`),
		"report.html":            []byte("<h1>churn DE</h1>"),
	}
	for p, content := range files {
		if err := c.LogArtifactStream(ctx(t), id, p, bytes.NewReader(content), int64(len(content))); err != nil {
			t.Fatalf("LogArtifactStream(%s): %v", p, err)
		}
	}
	root, err := c.ListArtifacts(ctx(t), id, "", "")
	if err != nil {
		t.Fatalf("ListArtifacts: %v", err)
	}
	want := []client.ArtifactInfo{{Path: "model", IsDir: true}, {Path: "report.html", FileSize: int64(len(files["report.html"]))}}
	if diff := cmp.Diff(want, root.Files); diff != "" {
		t.Errorf("root listing (-want +got):\n%s", diff)
	}
	sub, err := c.ListArtifacts(ctx(t), id, "model", "")
	if err != nil {
		t.Fatalf("ListArtifacts(model): %v", err)
	}
	want = []client.ArtifactInfo{{Path: "model/conf", IsDir: true}, {Path: "model/model.pkl", FileSize: int64(len(files["model/model.pkl"]))}}
	if diff := cmp.Diff(want, sub.Files); diff != "" {
		t.Errorf("model listing (-want +got):\n%s", diff)
	}
	dir := t.TempDir()
	if err := c.DownloadArtifact(ctx(t), id, "", dir); err != nil {
		t.Fatalf("DownloadArtifact: %v", err)
	}
	for p, content := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("downloaded %s: %v", p, err)
			continue
		}
		if !bytes.Equal(got, content) {
			t.Errorf("downloaded %s differs (%d bytes, want %d)", p, len(got), len(content))
		}
	}
	if err := c.DownloadArtifact(ctx(t), id, "no/such/file.txt", filepath.Join(dir, "x")); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("DownloadArtifact of a missing file: error = %v, want ErrNotFound", err)
	}
}
