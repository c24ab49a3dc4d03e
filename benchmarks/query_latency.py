"""Whole-process latency of `mscev query`: what a researcher waits for at the command line.

Runs the installed command N times per case as a fresh process (Python start-up and imports included) on a built
graph and prints the median, the 90th percentile and the fastest run. Figures only; nothing is asserted.

    .venv/bin/python benchmarks/query_latency.py [--build build] [--runs 20]

Needs a build (`mscev build`). Also prints how long importing the query path takes (python -X importtime), and
the time of each stored query inside one process, to tell start-up apart from query work.
"""

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = [
    ("--version", ["--version"]),
    ("--list", ["query", "--list"]),
    ("graph-summary", ["query", "graph-summary", "-f", "tsv"]),
    ("sources-by-condition, label", ["query", "sources-by-condition", "-p", "condition=osteoarthritis"]),
    ("conditions-by-source, tissue", ["query", "conditions-by-source", "-p", "source=umbilical cord", "-f", "csv"]),
    ("findings (183 rows, csv)", ["query", "findings", "-f", "csv"]),
    ("audit-review-claims", ["query", "audit-review-claims"]),
]


def command() -> list[str]:
    script = Path(sys.executable).with_name("mscev")
    return [str(script)] if script.exists() else [shutil.which("mscev") or "mscev"]


def wall_times(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return times


def import_milliseconds(build: Path) -> dict[str, float]:
    """Cumulative import time of the top-level modules on the query path, from python -X importtime."""
    code = f"from mscev.cli import main; main(['query', 'graph-summary', '-f', 'tsv', '--build', {str(build)!r}])"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
    totals = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S+)$", line)  # top-level imports only
        if match:
            totals[match.group(2)] = int(match.group(1)) / 1000
    return dict(sorted(totals.items(), key=lambda item: -item[1])[:8])


def in_process_milliseconds(build: Path) -> dict[str, float]:
    """Each stored query run inside one process on the built store (best of 3)."""
    from mscev.query import open_store, run_query, stored_queries

    store = open_store(build)
    timings = {}
    for name in stored_queries():
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            list(run_query(name, store=store))
            best = min(best, time.perf_counter() - started)
        timings[name] = best * 1000
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=Path("build"), help="the build folder (default: build)")
    parser.add_argument("--runs", type=int, default=20, help="runs per case (default: 20)")
    options = parser.parse_args()
    if not (options.build / "store").is_dir():
        raise SystemExit(f"no built graph in {options.build}: run `mscev build` first")
    base = command()
    print(f"whole process, {options.runs} runs each, build {options.build}")
    print(f"{'case':34} {'median':>8} {'p90':>8} {'min':>8}")
    for label, args in CASES:
        full = base + args + (["--build", str(options.build)] if args[0] == "query" and args[1] != "--list" else [])
        times = sorted(wall_times(full, options.runs))
        p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
        print(f"{label:34} {statistics.median(times) * 1000:7.0f}ms {p90 * 1000:7.0f}ms {times[0] * 1000:7.0f}ms")
    print("\nslowest imports on the query path (cumulative ms):")
    for module, ms in import_milliseconds(options.build).items():
        print(f"  {module:30} {ms:7.1f}")
    print("\nstored queries inside one process (best of 3):")
    for name, ms in sorted(in_process_milliseconds(options.build).items(), key=lambda item: -item[1]):
        print(f"  {name:32} {ms:7.1f} ms")


if __name__ == "__main__":
    main()
