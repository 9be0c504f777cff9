"""Python side of internal/bench/evalscale: the same fetches and comparisons
with MLflow's official MlflowClient, timed in one process.

Input: a JSON file (argv[1]) written by main.go. Output: JSON on stdout."""
import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor

t0 = time.perf_counter()
import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - t0
EPS = 4 * 2.0**-52


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def checks(cand, bench, n_metrics):
    """Threshold 0.5, at most 0.02 and 5 % below the benchmark; returns failures."""
    failed = 0
    for k in range(n_metrics):
        m = "m%02d" % k
        c, b = cand[m], bench[m]
        tol = EPS * max(abs(c), abs(b), 0.5)
        failed += not (c >= 0.5 - tol)
        failed += not (b - c <= 0.02 + tol)
        failed += not (b - c <= 0.05 * abs(b) + tol)
    return failed


def main():
    cfg = json.load(open(sys.argv[1]))
    client = MlflowClient(tracking_uri=cfg["uri"])
    cands, benches, n = cfg["cands"], cfg["benches"], cfg["metrics"]
    pool = ThreadPoolExecutor(max_workers=cfg["concurrency"])

    def per_run_search():
        exp = client.get_experiment_by_name(cfg["bench_exp"])

        def one(i):
            cand = client.get_run(cands[i])
            runs = client.search_runs(
                [exp.experiment_id],
                filter_string="tags.pipeline = 'p%04d' and attributes.status = 'FINISHED'" % i,
                order_by=["attributes.start_time DESC"],
                max_results=2,
            )
            bench = next(r for r in runs if r.info.run_id != cands[i])
            assert bench.info.run_id == benches[i]
            return checks(cand.data.metrics, bench.data.metrics, n)

        return sum(pool.map(one, range(len(cands))))

    def per_run_explicit():
        def one(i):
            cand = client.get_run(cands[i])
            bench = client.get_run(benches[i])
            return checks(cand.data.metrics, bench.data.metrics, n)

        return sum(pool.map(one, range(len(cands))))

    def fetch_all(exp_id):
        out, token = {}, None
        while True:
            page = client.search_runs(
                [exp_id],
                filter_string="attributes.status = 'FINISHED'",
                order_by=["attributes.start_time DESC"],
                max_results=1000,
                page_token=token,
            )
            for r in page:
                out.setdefault(r.data.tags["pipeline"], r)
            token = page.token
            if not token:
                return out

    def bulk():
        fc = pool.submit(fetch_all, cfg["cand_exp_id"])
        fb = pool.submit(fetch_all, cfg["bench_exp_id"])
        c, b = fc.result(), fb.result()
        failed = 0
        for i in range(len(cands)):
            key = "p%04d" % i
            assert b[key].info.run_id == benches[i]
            failed += checks(c[key].data.metrics, b[key].data.metrics, n)
        return failed

    result = {
        "python": sys.version.split()[0],
        "mlflow": mlflow.__version__,
        "import_seconds": IMPORT_SECONDS,
        "strategies": {},
    }
    for name, fn in (("per-run search", per_run_search), ("per-run explicit", per_run_explicit), ("bulk", bulk)):
        secs, cpus, breaches = [], [], 0
        for _ in range(cfg["reps"]):
            cpu0 = cpu_seconds()
            start = time.perf_counter()
            breaches = fn()
            secs.append(time.perf_counter() - start)
            cpus.append(cpu_seconds() - cpu0)
        result["strategies"][name] = {"seconds": secs, "cpu": cpus, "breaches": breaches}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
