//go:build !unix

package client

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockSpoolDir opens dir/LOCK. On this platform there is no advisory lock:
// do not point two processes at one spool directory.
func lockSpoolDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("client: spool: %w", err)
	}
	return f, nil
}

func unlockSpoolDir(f *os.File) {
	if f != nil {
		_ = f.Close()
	}
}
