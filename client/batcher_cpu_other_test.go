//go:build !linux

package client

import "testing"

// cpuTimer is a no-op where per-thread CPU time is not available.
func cpuTimer(*testing.B) func() { return func() {} }
