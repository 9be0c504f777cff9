package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// localStore is the file:// route: the run's artifact root is a local (or
// mounted) directory.
type localStore struct {
	root string
}

func (l localStore) abs(rel string) string {
	return filepath.Join(l.root, filepath.FromSlash(rel))
}

func (l localStore) put(ctx context.Context, dest string, src *uploadSource, st *artifactSettings) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	target := l.abs(dest)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("client: log artifact: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".mlwatch-upload-*")
	if err != nil {
		return fmt.Errorf("client: log artifact: %w", err)
	}
	defer os.Remove(tmp.Name())
	r := &progressReader{r: src.body, path: dest, total: src.size, st: st}
	if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		tmp.Close()
		return fmt.Errorf("client: log artifact %q: %w", dest, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("client: log artifact %q: %w", dest, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("client: log artifact %q: %w", dest, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("client: log artifact %q: %w", dest, err)
	}
	if src.size == 0 {
		st.report(dest, 0, 0)
	}
	return nil
}

func (l localStore) list(ctx context.Context, dir, _ string) (*ArtifactsPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(l.abs(dir))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
			return &ArtifactsPage{}, nil
		}
		return nil, fmt.Errorf("client: list artifacts: %w", err)
	}
	page := &ArtifactsPage{}
	for _, e := range entries {
		info := ArtifactInfo{Path: joinArtifactPath(dir, e.Name()), IsDir: e.IsDir()}
		if !e.IsDir() {
			fi, err := e.Info()
			if err != nil {
				continue
			}
			info.FileSize = fi.Size()
		}
		page.Files = append(page.Files, info)
	}
	return page, nil
}

func isNotDir(err error) bool {
	return errors.Is(err, syscall.ENOTDIR)
}

func (l localStore) get(ctx context.Context, src string, dst *os.File, st *artifactSettings) error {
	f, err := os.Open(l.abs(src))
	if err != nil {
		return fmt.Errorf("client: download artifact: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("client: download artifact: %w", err)
	}
	r := &progressReader{r: f, path: src, total: info.Size(), st: st}
	if _, err := io.Copy(dst, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("client: download artifact %q: %w", src, err)
	}
	return nil
}

// ctxReader stops a local copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
