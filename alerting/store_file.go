package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileStore is a StateStore in one JSON file, for long-lived processes with
// a persistent disk. Every MarkSent rewrites the file atomically (write a
// temporary file in the same directory, fsync, rename), so a crash leaves
// either the old or the new state, never a torn file. It takes no file
// lock: exactly one process may write a given file (single writer); a
// second writer would overwrite the first one's updates. Entries older than
// 30 days are pruned on write. It is safe for concurrent use within the
// process.
type FileStore struct {
	path string
	mu   sync.Mutex
	last map[string]int64 // key -> unix ms
}

type fileState struct {
	Version  int              `json:"version"`
	LastSent map[string]int64 `json:"last_sent"`
}

// NewFileStore opens (or, on first MarkSent, creates) the state file at
// path. A missing file is an empty state; an unreadable or corrupt one is an
// error (delete it to reset the throttle).
func NewFileStore(path string) (*FileStore, error) {
	if path == "" {
		return nil, &ConfigError{Option: "path", Reason: "empty state file path"}
	}
	s := &FileStore{path: path, last: map[string]int64{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("alerting: read state file: %w", err)
	}
	var st fileState
	if err := json.Unmarshal(b, &st); err != nil || st.Version != 1 {
		return nil, fmt.Errorf("alerting: state file %s is corrupt or of an unknown version", filepath.Base(path))
	}
	for k, v := range st.LastSent {
		s.last[k] = v
	}
	return s, nil
}

// LastSent implements StateStore.
func (s *FileStore) LastSent(_ context.Context, keys []string) (map[string]time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(keys))
	for _, k := range keys {
		if ms, ok := s.last[k]; ok {
			out[k] = time.UnixMilli(ms)
		}
	}
	return out, nil
}

// MarkSent implements StateStore; it persists the state before returning.
func (s *FileStore) MarkSent(_ context.Context, keys []string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := t.UnixMilli()
	for _, k := range keys {
		s.last[k] = ms
	}
	cutoff := t.Add(-30 * 24 * time.Hour).UnixMilli()
	for k, v := range s.last {
		if v < cutoff {
			delete(s.last, k)
		}
	}
	b, err := json.Marshal(fileState{Version: 1, LastSent: s.last})
	if err != nil {
		return fmt.Errorf("alerting: encode state: %w", err)
	}
	return writeFileAtomic(s.path, b)
}

// writeFileAtomic replaces path with b via a synced temporary file and a
// rename, then syncs the directory.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("alerting: write state file: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("alerting: write state file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("alerting: sync state file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("alerting: close state file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("alerting: replace state file: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
