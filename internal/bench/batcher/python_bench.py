"""Python baselines for the batcher throughput benchmark (BENCHMARKS.md).

usage: $MLWATCH_TEST_PYTHON internal/bench/batcher/python_bench.py MODE [POINTS] [RUNS] [TIME_LIMIT_S]

MODE: loop  - MlflowClient.log_metric per point (time-bounded, extrapolated)
      batch - MlflowClient.log_batch of 1000 metrics
      async - log_metric(synchronous=False) with MLFLOW_ENABLE_ASYNC_LOGGING=true and
              MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS set by the caller, run by run; waits on
              every future (time-bounded: points whose future completed, extrapolated)
      async-interleaved - the same, logging step by step across the runs
Points are spread over RUNS runs x 10 keys, like the Go benchmark (internal/bench/batcher).
"""
import os
import sys
import time

from mlflow import MlflowClient
from mlflow.entities import Metric

mode = sys.argv[1]
points = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
limit = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
keys = 10
uri = os.environ["MLWATCH_TEST_MLFLOW_URI"]

client = MlflowClient(uri)
exp = client.create_experiment(f"bench-py-{mode}-{time.time_ns()}")
run_ids = [client.create_run(exp).info.run_id for _ in range(runs)]
steps = points // runs // keys
ts = int(time.time() * 1000)

n = 0
start = time.time()
bounded = False
if mode == "loop":
    for s in range(steps):
        for r in run_ids:
            for k in range(keys):
                client.log_metric(r, f"metric_{k}", s * 0.001, timestamp=ts, step=s, synchronous=True)
                n += 1
        if time.time() - start > limit:
            bounded = True
            break
elif mode == "batch":
    for r in run_ids:
        ms = [Metric(f"metric_{k}", s * 0.001, ts, s) for s in range(steps) for k in range(keys)]
        for i in range(0, len(ms), 1000):
            client.log_batch(r, metrics=ms[i : i + 1000], synchronous=True)
            n += len(ms[i : i + 1000])
        if time.time() - start > limit:
            bounded = True
            break
elif mode in ("async", "async-interleaved"):
    # "async" logs run by run (consecutive calls share a run_id, so the
    # buffering loop merges them into batches of up to 1000): the best case
    # for MLflow's async logging. "async-interleaved" logs step by step
    # across the runs, as the Go benchmark does; the loop then only merges
    # the 10 consecutive points of one run.
    ops = []
    if mode == "async":
        order = ((r, s, k) for r in run_ids for s in range(steps) for k in range(keys))
    else:
        order = ((r, s, k) for s in range(steps) for r in run_ids for k in range(keys))
    for r, s, k in order:
        ops.append(client.log_metric(r, f"metric_{k}", s * 0.001, timestamp=ts, step=s, synchronous=False))
        n += 1
    enq = time.time() - start
    done = 0
    for op in ops:
        remaining = limit - (time.time() - start)
        if remaining <= 0:
            bounded = True
            break
        op.wait()
        done += 1
    if bounded:
        n = done
    print(f"python-{mode} enqueue_s={enq:.2f} buffering_s={os.environ.get('MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS')}")
else:
    sys.exit(f"unknown mode {mode}")
elapsed = time.time() - start
note = f" (time-bounded: {n} of {points} points in {limit:.0f}s, rate extrapolated)" if bounded else ""
print(f"python-{mode} points={n} total_s={elapsed:.2f} points_per_s={n / elapsed:.0f}{note}")
