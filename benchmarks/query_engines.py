"""Benchmark: every stored query on the embedded store and on Virtuoso 7, side by side in one run (issue 15).

For a kept fast build and its release: starts Virtuoso (benchmarks/virtuoso-bulk.ini) on loopback ports, loads the
release with its bulk loader (benchmarks/virtuoso_load.py), then runs each stored query with its default parameters
as a whole process, as a researcher would: `mscev query NAME -f srtsv` on the build's store, then `mscev query NAME
-f srtsv --endpoint URL` on Virtuoso, alternately, --runs times each. Prints, per query and engine, the median time
to the first row and to the last byte, the CPU time (the query's process, and for Virtuoso the server's while it
answered: on a loaded machine the better measure of work), the rows, the peak memory of the query's process and, for
Virtuoso, the server's peak resident memory while it answered; a run that passes --timeout is stopped (on Virtuoso
the server is then given time to drop the query before the next one). A benchmark prints figures; nothing here is
asserted in tests.

    .venv/bin/mscev release --build BUILD --out RELEASE
    .venv/bin/python benchmarks/query_engines.py --build BUILD --release RELEASE [--runs 3] [--timeout 60]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from query_latency import command  # noqa: E402
from virtuoso_load import bulk_load, peak_sampler, resident_mb, running_virtuoso, split_release  # noqa: E402


def query_names() -> list[str]:
    from mscev.query import stored_queries

    return list(stored_queries())


def run_query(args: list[str], timeout: float, server_pid: int | None) -> dict:
    """One whole `mscev query` process: seconds to its first row (the line after the TSV header) and to its last
    byte, rows, its peak memory, and the server's peak memory meanwhile (``server_pid``)."""
    stop, server_peak = threading.Event(), [0.0]
    if server_pid:
        server_peak[0] = resident_mb(server_pid)
        threading.Thread(target=peak_sampler, args=(server_pid, stop, server_peak), daemon=True).start()
    server_ticks = cpu_ticks(server_pid) if server_pid else 0
    started = time.perf_counter()
    process = subprocess.Popen([*command(), "query", *args, "-f", "srtsv"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    first, lines = None, 0
    try:
        while piece := process.stdout.read1(1 << 16):
            lines += piece.count(b"\n")
            if first is None and lines >= 2:
                first = time.perf_counter() - started
        last = time.perf_counter() - started
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
        stop.set()
    error = process.stderr.read().decode(errors="replace")
    figures = {"last": round(last, 3), "first": round(first if first is not None else last, 3),
               "rows": max(lines - 1, 0), "peak_mb": round(usage.ru_maxrss / 1024),
               "cpu": round(usage.ru_utime + usage.ru_stime, 2)}
    if server_pid:
        figures["server_peak_mb"] = round(server_peak[0])
        figures["server_cpu"] = round((cpu_ticks(server_pid) - server_ticks) / os.sysconf("SC_CLK_TCK"), 2)
    if last >= timeout:
        figures["stopped"] = timeout
    elif os.waitstatus_to_exitcode(status) != 0:
        figures["error"] = error.strip().splitlines()[-1] if error.strip() else f"exit {status}"
    return figures


def cpu_ticks(pid: int) -> int:
    """User and system CPU time of ``pid`` so far, in clock ticks."""
    return sum(int(field) for field in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])


def wait_until_idle(pid: int, limit: float) -> None:
    """Wait until ``pid`` has used no CPU for a second (Virtuoso goes on with a query its client dropped)."""
    deadline = time.monotonic() + limit
    ticks = None
    while time.monotonic() < deadline:
        now = cpu_ticks(pid)
        if now == ticks:
            return
        ticks = now
        time.sleep(1)


def summary(runs: list[dict]) -> dict:
    """Medians of the runs that finished; a query stopped or failed in any run is reported as such."""
    for bad in ("error", "stopped"):
        if any(bad in run for run in runs):
            return next(run for run in runs if bad in run)
    keys = ("first", "last", "peak_mb", "cpu", "server_peak_mb", "server_cpu")
    return {**{key: statistics.median(run[key] for run in runs) for key in keys if key in runs[0]},
            "rows": runs[0]["rows"],
            "runs": len(runs)}


def cell(figures: dict) -> str:
    if "stopped" in figures:
        return f"> {figures['stopped']:g} (stopped)"
    if "error" in figures:
        return f"error: {figures['error'][:60]}"
    cpu = figures["cpu"] + figures.get("server_cpu", 0)
    text = f"{figures['first']:.2f} / {figures['last']:.2f} / {cpu:.2f} / {figures['rows']:,} / {figures['peak_mb']:,}"
    return text + (f" / {figures['server_peak_mb']:,}" if "server_peak_mb" in figures else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, required=True)
    parser.add_argument("--release", type=Path, required=True, help="the build's release (mscev release)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a query run is stopped")
    parser.add_argument("--queries", help="comma-separated names (default: every stored query)")
    parser.add_argument("--buffers", type=int, default=340_000, help="Virtuoso's NumberOfBuffers (8 KiB pages)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()
    names = args.queries.split(",") if args.queries else query_names()
    work = Path(tempfile.mkdtemp(prefix="mscev-engines-"))
    results: dict = {"build": str(args.build.resolve()), "runs": args.runs, "timeout": args.timeout,
                     "loadavg_at_start": os.getloadavg(), "queries": {}}
    try:
        pieces = work / "pieces"
        pieces.mkdir()
        split_release(args.release.resolve(), pieces, 4)
        # Virtuoso answers at most ResultSetMaxRows rows and stops a query at MaxQueryExecutionTime, silently
        # (partial answers): both are set past what this run can reach, so that its answers are whole.
        with running_virtuoso(work, pieces, args.buffers, max_rows=100_000_000,
                              query_seconds=int(args.timeout) + 30) as server:
            results["load"] = bulk_load(server, pieces, loaders=2)
            print(f"# Virtuoso: {results['load']['triples']:,} triples loaded in "
                  f"{results['load']['load_and_checkpoint_seconds']} s", file=sys.stderr, flush=True)
            for name in names:
                runs: dict[str, list[dict]] = {"embedded": [], "virtuoso": []}
                for _ in range(args.runs):
                    runs["embedded"].append(run_query([name, "--build", str(args.build)], args.timeout, None))
                    remote = run_query([name, "--endpoint", server.endpoint], args.timeout, server.process.pid)
                    runs["virtuoso"].append(remote)
                    if "stopped" in remote:
                        wait_until_idle(server.process.pid, args.timeout + 60)
                    if any("stopped" in run[-1] for run in runs.values()):
                        break  # one stopped run tells enough; the next query waits less
                results["queries"][name] = {engine: summary(engine_runs) for engine, engine_runs in runs.items()}
                print(f"{name}: embedded {cell(results['queries'][name]['embedded'])}; "
                      f"virtuoso {cell(results['queries'][name]['virtuoso'])}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["loadavg_at_end"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"load average {results['loadavg_at_start'][0]:.1f} at the start, {results['loadavg_at_end'][0]:.1f} at "
          f"the end; medians of {args.runs}; first row / last byte (s) / CPU s (the query process, and the server's "
          "while it answered) / rows / peak MB of the query process [/ peak MB of the server]")
    print("| query | embedded store | Virtuoso 7 | same rows |")
    print("|---|---|---|---|")
    for name, engines in results["queries"].items():
        rows = {engine: figures.get("rows") for engine, figures in engines.items() if "runs" in figures}
        same = "–" if len(rows) < 2 else "yes" if len(set(rows.values())) == 1 else "no"
        print(f"| {name} | {cell(engines['embedded'])} | {cell(engines['virtuoso'])} | {same} |")


if __name__ == "__main__":
    main()
