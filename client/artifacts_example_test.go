package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/mlwatch/mlwatch/client"
	"github.com/mlwatch/mlwatch/client/clienttest"
)

// ExampleClient_LogArtifacts uploads a model directory to a run (here the
// fake tracker's proxied artifact store), lists it and downloads one file.
func ExampleClient_LogArtifacts() {
	ts := httptest.NewServer(&clienttest.Server{})
	defer ts.Close()
	c, err := client.New(ts.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	run, err := c.CreateRun(ctx, client.CreateRunOptions{ExperimentID: "0"})
	if err != nil {
		fmt.Println(err)
		return
	}

	dir, err := os.MkdirTemp("", "model-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	_ = os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "MLmodel"), []byte("flavors: {}\n"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "data", "weights.bin"), []byte{1, 2, 3}, 0o644)

	if err := c.LogArtifacts(ctx, run.Info.RunID, dir, "model", client.WithConcurrency(2)); err != nil {
		fmt.Println(err)
		return
	}
	for f, err := range c.ListArtifactsSeq(ctx, run.Info.RunID, "model") {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(f.Path, f.IsDir, f.FileSize)
	}
	dst := filepath.Join(dir, "downloaded-MLmodel")
	if err := c.DownloadArtifact(ctx, run.Info.RunID, "model/MLmodel", dst); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(dst)
	fmt.Printf("%q\n", b)
	// Unordered output:
	// model/MLmodel false 12
	// model/data true 0
	// "flavors: {}\n"
}
