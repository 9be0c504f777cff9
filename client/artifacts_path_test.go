package client

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCleanArtifactPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"", "", false},
		{"a", "a", false},
		{"a/b c/d.txt", "a/b c/d.txt", false},
		{"a/", "a", false},
		{"..", "", true},
		{"../a", "", true},
		{"a/../../b", "", true},
		{"a/..", "", true},
		{"/abs", "", true},
		{"/", "", true},
		{"a//b", "", true},
		{"./a", "", true},
		{".", "", true},
		{"a\\b", "", true},
		{"C:/x", "", true},
		{"a\x00b", "", true},
		{"..foo/bar", "..foo/bar", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := cleanArtifactPath(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("cleanArtifactPath(%q) = %q, %v; wantErr %v", tt.in, got, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrUnsafeArtifactPath) {
				t.Errorf("err %v is not ErrUnsafeArtifactPath", err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzCleanArtifactPath(f *testing.F) {
	for _, s := range []string{"", "a/b", "../x", "a/../b", "/etc/passwd", "a//b", "a/./b", "x\\..\\y", "..", "...", "a/", "C:x"} {
		f.Add(s)
	}
	root := filepath.FromSlash("/run/root")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := cleanArtifactPath(s)
		if err != nil {
			if !errors.Is(err, ErrUnsafeArtifactPath) {
				t.Fatalf("error %v is not an ArtifactPathError", err)
			}
			return
		}
		for seg := range strings.SplitSeq(p, "/") {
			if p != "" && (seg == "" || seg == "." || seg == "..") {
				t.Fatalf("accepted %q has segment %q", s, seg)
			}
		}
		joined := filepath.Join(root, filepath.FromSlash(p))
		if joined != root && !strings.HasPrefix(joined, root+string(filepath.Separator)) {
			t.Fatalf("accepted %q escapes the root: %q", s, joined)
		}
		if again, err := cleanArtifactPath(p); err != nil || again != p {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, p, again, err)
		}
	})
}

func TestCollectFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	artWrite(t, dir, "a.txt", []byte("a"))
	artWrite(t, dir, "sub/b.txt", []byte("bb"))
	if err := os.Symlink(filepath.Join(dir, "a.txt"), filepath.Join(dir, "sub", "link-to-a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "sub"), filepath.Join(dir, "dirlink")); err != nil {
		t.Fatal(err)
	}
	files, err := collectFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.rel)
	}
	if diff := cmp.Diff([]string{"a.txt", "sub/b.txt", "sub/link-to-a"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	bad := []struct {
		name  string
		setup func(dir string)
		want  error
	}{
		{"symlink outside", func(d string) {
			_ = os.Symlink(os.TempDir(), filepath.Join(d, "out"))
		}, ErrUnsafeArtifactPath},
		{"symlink to parent file", func(d string) {
			p := filepath.Join(filepath.Dir(d), "outside-"+filepath.Base(d))
			_ = os.WriteFile(p, []byte("x"), 0o644)
			_ = os.Symlink(p, filepath.Join(d, "out"))
		}, ErrUnsafeArtifactPath},
		{"broken symlink", func(d string) {
			_ = os.Symlink(filepath.Join(d, "nothing"), filepath.Join(d, "broken"))
		}, ErrUnsafeArtifactPath},
		{"fifo", func(d string) {
			_ = syscall.Mkfifo(filepath.Join(d, "pipe"), 0o644)
		}, ErrUnsafeArtifactPath},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := t.TempDir()
			artWrite(t, d, "ok.txt", []byte("ok"))
			tt.setup(d)
			if _, err := collectFiles(d); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := collectFiles(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
	if _, err := collectFiles(filepath.Join(dir, "a.txt")); !errors.Is(err, ErrUnsafeArtifactPath) {
		t.Errorf("file as dir: %v", err)
	}
}

func TestProxyContentType(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"MLmodel":        "text/plain",
		"conda.yaml":     "text/plain",
		"metrics.json":   "text/plain",
		"plot.png":       "image/png",
		"model.pkl":      "application/octet-stream",
		"noext":          "application/octet-stream",
		"dir/report.csv": "text/plain",
	} {
		if got := proxyContentType(name); got != want {
			t.Errorf("proxyContentType(%q) = %q, want %q", name, got, want)
		}
	}
}
