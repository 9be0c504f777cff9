package client_test

import (
	"context"
	"net"
	"os"
	"time"

	"github.com/mlwatch/mlwatch/client"
)

// makeSpool leaves a spool directory behind as a job does when MLflow is
// down: a batcher pointed at a refused port spools its points and closes.
func makeSpool(live *client.Client) (string, error) {
	run, err := live.StartRun(context.Background(), client.RunOptions{ExperimentName: "spooled"})
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	dead, err := client.New(down, client.WithTimeout(time.Second))
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "spool-example-")
	if err != nil {
		return "", err
	}
	b, err := client.NewBatcher(dead, client.WithSpoolDir(dir), client.WithRetryBudget(0))
	if err != nil {
		return "", err
	}
	for i := 0; i < 500; i++ {
		if err := b.LogMetric(run.ID(), "loss", 1/float64(i+1), int64(i)); err != nil {
			return "", err
		}
	}
	return dir, b.Close()
}
