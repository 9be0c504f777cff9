// Command replay sends the points a job left in its batcher spool directory
// (because MLflow was unreachable, or the job was killed) to MLflow, in
// order, and deletes each segment once MLflow has acknowledged it. Points
// that reached MLflow before are sent again with identical content and
// de-duplicated by MLflow's SQL store, so running it twice is safe.
//
//	MLFLOW_TRACKING_URI=http://127.0.0.1:5000 go run ./examples/replay -dir /var/spool/mlwatch/job-42
//
// It exits 0 when the directory is empty, 1 otherwise (run it again later).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/mlwatch/mlwatch/client"
)

func main() {
	dir := flag.String("dir", "", "spool directory (the batcher's WithSpoolDir)")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long (what is left stays in the directory)")
	flag.Parse()
	log.SetFlags(0)
	if *dir == "" {
		log.Fatal("replay: -dir is required")
	}
	// NewFromEnv reads MLFLOW_TRACKING_URI and the MLflow auth variables.
	c, err := client.NewFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := client.ReplaySpool(ctx, c, *dir)
	fmt.Printf("replayed %d entries in %d requests; %d rejected, %d corrupt records skipped, %d segments left\n",
		st.Replayed, st.Batches, st.Failed, st.Corrupt, st.Segments)
	if err != nil {
		log.Print(err)
	}
	if st.Segments > 0 {
		os.Exit(1)
	}
}
