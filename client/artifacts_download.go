package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sync"
)

// DownloadArtifact downloads the artifact artifactPath of a run (a file or a
// directory, relative to the run's root; "" is the whole root) to localPath.
// A file is written to localPath, or into it under its base name when
// localPath is an existing directory. A directory is downloaded recursively
// into localPath (created if needed), keeping the layout, WithConcurrency
// files at a time. Each file is written to a temporary name and renamed into
// place, so a failed download leaves no partial file. Entry names from the
// server that would escape localPath are rejected (*ArtifactPathError). A
// missing artifact yields an error matching ErrNotFound. Safe for concurrent
// use.
func (c *Client) DownloadArtifact(ctx context.Context, runID, artifactPath, localPath string, opts ...ArtifactOption) error {
	st, err := newArtifactSettings(opts)
	if err != nil {
		return err
	}
	p, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return err
	}
	if localPath == "" {
		return &ValidationError{Field: "local_path", Rule: "must not be empty"}
	}
	store, err := c.artifactStoreFor(ctx, runID, st)
	if err != nil {
		return err
	}
	files, isDir, err := walkArtifacts(ctx, store, p)
	if err != nil {
		return err
	}
	if !isDir {
		dst := localPath
		if info, err := os.Stat(localPath); err == nil && info.IsDir() {
			dst = filepath.Join(localPath, path.Base(p))
		}
		return downloadOne(ctx, store, p, dst, st)
	}
	if err := os.MkdirAll(localPath, 0o755); err != nil {
		return fmt.Errorf("client: download artifact: %w", err)
	}
	errs := make([]error, len(files))
	sem := make(chan struct{}, st.concurrency)
	var wg sync.WaitGroup
	for i, f := range files {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rel := f.Path
			if p != "" {
				rel = f.Path[len(p)+1:]
			}
			errs[i] = downloadOne(ctx, store, f.Path, filepath.Join(localPath, filepath.FromSlash(rel)), st)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// walkArtifacts lists p recursively. isDir is false when p has no children
// (MLflow treats such a path as a file; a missing one fails on download).
func walkArtifacts(ctx context.Context, store artifactStore, p string) (files []ArtifactInfo, isDir bool, err error) {
	pending := []string{p}
	for len(pending) > 0 {
		dir := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		n := 0
		for e, err := range listSeq(ctx, store, dir) {
			if err != nil {
				return nil, false, err
			}
			n++
			// Names come from the server: they must stay below dir.
			clean, perr := cleanArtifactPath(e.Path)
			parent := dir
			if parent == "" {
				parent = "."
			}
			if perr != nil || clean == "" || path.Dir(clean) != parent {
				return nil, false, &ArtifactPathError{Path: truncateForError(e.Path), Reason: "listed entry escapes its directory"}
			}
			if e.IsDir {
				pending = append(pending, clean)
			} else {
				files = append(files, ArtifactInfo{Path: clean, FileSize: e.FileSize})
			}
		}
		if dir == p && n == 0 && p != "" {
			return nil, false, nil
		}
	}
	return files, true, nil
}

// downloadOne writes one artifact file to dst via a temporary file.
func downloadOne(ctx context.Context, store artifactStore, src, dst string, st *artifactSettings) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("client: download artifact: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".mlwatch-download-*")
	if err != nil {
		return fmt.Errorf("client: download artifact: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := store.get(ctx, src, tmp, st); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("client: download artifact %q: %w", src, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("client: download artifact %q: %w", src, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("client: download artifact %q: %w", src, err)
	}
	return nil
}
