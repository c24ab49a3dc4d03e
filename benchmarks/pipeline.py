"""Benchmark of the mscev pipeline on synthetic corpora, against a naive baseline measured in the same run.

For each size (findings) it writes a corpus with `mscev synth`, then, each step in a child process of its own
(so that peak memory is the step's):

- build: mscev.build.build(engine="fast"), exactly as `mscev build --engine fast --data CORPUS` runs it, with
  the wall time, CPU time and peak resident memory of each stage (load, validate, reason RL, write: the derived
  graphs (whose wall time is also given apart, where the build reports it), N-Triples,
  Turtle and the on-disk store) of the main process, and the whole build's wall time and peak memory (the
  main process plus the process that fills the on-disk store beside it, sampled every 0.2 s);
- export: `mscev export -f nt` and `-f jsonld` as the command writes them for a fast-engine build (streamed
  from build/graph.nt; see mscev.export.write_streamed);
- queries: every stored query on the built store, as `mscev query` runs it: time to the first row and to the
  last, with a timeout;
- floor: reading the bytes of graph.nt (from the page cache);
- release: `mscev release` of the build (streamed for a fast-engine build, see mscev.release_streamed), its wall
  time, the CPU time of the process and the children it waited for, and the peak memory of the process tree;
- baseline (sizes up to --baseline-up-to): rdflib parse (mscev's reference loader), pySHACL (mscev's
  reference validator), owlrl (OWL 2 RL in Python), rdflib SPARQL for every stored query, rdflib serialisers.

Medians of --runs runs (one run at a million findings and more). --real adds the curated graph: `mscev build`
with HermiT, and `mscev query NAME` as whole processes. Prints Markdown tables; --json writes every figure.
--steps runs some steps only (build, with the floor; export; queries; baseline), --keep keeps the builds, so a
large build can be measured once and its queries again later, the figures merged in the --json file.
A benchmark prints figures; it is never asserted in tests.

    .venv/bin/python benchmarks/pipeline.py --sizes 1000,10000,100000,1000000 [--runs 3] [--real]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

STAGES = ("load", "validate", "reason", "write")
BASELINE_STAGES = ("load", "validate", "reason", "queries", "export")
STEPS = ("build", "export", "queries", "baseline", "release")


# --- measurement inside a child process --------------------------------------------------------------------

class Meter:
    """Wall time, CPU time and peak resident memory of consecutive steps of this process."""

    def __init__(self):
        self.figures: dict[str, dict] = {}
        self.name: str | None = None
        self.started = self.cpu = 0.0

    def start(self, name: str) -> None:
        self.stop()
        _reset_peak_memory()
        self.name, self.started, self.cpu = name, time.perf_counter(), time.process_time()

    def stop(self) -> None:
        if self.name is not None:
            self.figures[self.name] = {"wall": time.perf_counter() - self.started, "cpu": time.process_time() - self.cpu,
                                       "peak_mb": _peak_memory_mb()}
        self.name = None


def _reset_peak_memory() -> None:
    """Linux: writing 5 to clear_refs resets the process's peak resident set size (VmHWM)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _peak_memory_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_build(corpus: str, out: str) -> dict:
    from mscev.build import build

    meter = Meter()
    result = build(Path(out), engine="fast", data_dir=Path(corpus), on_stage=meter.start)
    meter.stop()
    if not result.ok:
        raise SystemExit(f"the synthetic corpus did not build: {result.report.as_text()[:2000]}")
    return {"stages": meter.figures, "triples": result.counts["triples"],
            "inferred": result.counts["inferredTriples"], "derive": result.seconds.get("derive")}


def child_export(build_dir: str, scratch: str) -> dict:
    from mscev.atomic import writing
    from mscev.export import streams, write_streamed

    meter = Meter()
    for name, fmt in (("N-Triples", "nt"), ("JSON-LD", "jsonld")):
        if not streams(fmt, Path(build_dir)):
            raise SystemExit(f"{build_dir}: not a fast-engine build, so `mscev export -f {fmt}` would not stream")
        meter.start(name)
        with writing(Path(scratch) / f"export.{fmt}") as handle:  # as `mscev export -f FMT --out FILE` writes it
            write_streamed(fmt, handle, Path(build_dir))
    meter.stop()
    return meter.figures


def child_release(build_dir: str, out: str) -> dict:
    """`mscev release` of the build, as the command writes it (streamed for a fast-engine build)."""
    from mscev.release import write_release

    started, cpu = time.perf_counter(), time.process_time()
    result = write_release(Path(build_dir), Path(out))
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "bytes": sum(result.files.values()),
            "streamed": result.streamed}


def child_query(build_dir: str, name: str) -> dict:
    from mscev.query import open_store, run_query

    store = open_store(Path(build_dir))
    started, cpu = time.perf_counter(), time.process_time()
    results = run_query(name, store=store)
    first, count = None, 0
    for _ in results:
        count += 1
        if first is None:
            first = time.perf_counter() - started
    total = time.perf_counter() - started
    return {"first": first if first is not None else total, "total": total, "cpu": time.process_time() - cpu,
            "rows": count}


def child_floor(path: str) -> dict:
    started = time.perf_counter()
    with open(path, "rb") as handle:
        while handle.read(1 << 24):
            pass
    return {"wall": time.perf_counter() - started}


def child_baseline(corpus: str, query_timeout: str) -> dict:
    """The naive stack: rdflib parse, pySHACL, owlrl, rdflib SPARQL, rdflib serialisers."""
    import owlrl
    from rdflib import Graph

    from mscev.load import load_graph
    from mscev.namespaces import prefix_map
    from mscev.paths import source_files
    from mscev.query import stored_queries
    from mscev.validate import validate

    meter = Meter()
    meter.start("load")
    loaded = load_graph(files=source_files(Path(corpus)))
    meter.start("validate")
    validate(loaded)
    meter.start("reason")
    closure = Graph()
    closure += loaded.graph
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(closure)
    meter.start("queries")
    timed_out = []
    for name, query in stored_queries().items():
        bindings = _rdflib_bindings(query)
        signal.signal(signal.SIGALRM, _timeout)
        signal.alarm(int(float(query_timeout)))
        try:
            list(closure.query(query.text, initNs=prefix_map(), initBindings=bindings))
        except TimeoutError:
            timed_out.append(name)
        finally:
            signal.alarm(0)
    meter.start("export")
    loaded.graph.serialize(format="nt")
    loaded.graph.serialize(format="json-ld")
    meter.stop()
    return {"stages": meter.figures, "queries_timed_out": timed_out}


def _timeout(signum, frame):
    raise TimeoutError


def _rdflib_bindings(query) -> dict:
    """A stored query's parameter defaults as rdflib terms (the values `mscev query` binds)."""
    from rdflib import Literal, URIRef

    from mscev.namespaces import expand

    bindings = {}
    for param in query.parameters:
        if param.default is not None:
            bindings[param.name] = URIRef(expand(param.default) or param.default) if param.type == "iri" \
                else Literal(param.default)
    return bindings


CHILDREN = {"build": child_build, "export": child_export, "query": child_query, "floor": child_floor,
            "baseline": child_baseline, "release": child_release}


# --- the parent: runs children, collects, prints -------------------------------------------------------------

def run_child(kind: str, *args: str, timeout: float | None = None) -> dict:
    """Run one measured step in a fresh process; its figures plus the process's wall time and peak memory."""
    with _scratch_file() as output, _scratch_file() as errors:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, __file__, "--child", kind, *args], stdout=output, stderr=errors)
        deadline = None if timeout is None else started + timeout
        tree_peak = 0.0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                process.kill()
                os.wait4(process.pid, 0)
                return {"timeout": timeout}
            tree_peak = max(tree_peak, _tree_rss_mb(process.pid))
            time.sleep(0.2)
        wall = time.perf_counter() - started
        output.seek(0)
        errors.seek(0)
        text, problem = output.read().decode(), errors.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{kind} {' '.join(args)} failed: {problem[-2000:]}")
    figures = json.loads(text.strip().splitlines()[-1])
    return {**figures, "process": {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
                                   "tree_peak_mb": max(tree_peak, usage.ru_maxrss / 1024)}}


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (the build's store loader runs beside it)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0]) / 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, IndexError):
            continue
    return total


def _scratch_file():
    import tempfile

    return tempfile.TemporaryFile()


def measure_size(findings: int, args, work: Path, figures: dict) -> dict:
    """Measure the chosen steps for one size, updating ``figures`` (earlier figures of other steps stay)."""
    from mscev.synth import synthesize

    corpus = work / f"corpus-{findings}"
    if not (corpus / "synth.json").is_file() or json.loads((corpus / "synth.json").read_text())["seed"] != args.seed:
        print(f"# writing the corpus of {findings:,} findings", file=sys.stderr, flush=True)
        synthesize(findings, corpus, seed=args.seed)
    runs = 1 if findings >= 1_000_000 else args.runs
    out = work / f"build-{findings}"
    figures["findings"] = findings
    if "build" in args.steps:
        figures["builds"] = []
        for run in range(runs):
            print(f"# {findings:,} findings: build {run + 1}/{runs}", file=sys.stderr, flush=True)
            figures["builds"].append(run_child("build", str(corpus), str(out)))
        figures["floor"] = statistics.median(run_child("floor", str(out / "graph.nt"))["wall"] for _ in range(3))
        figures["graph_nt_mb"] = (out / "graph.nt").stat().st_size / 1e6
    elif not (out / "store").is_dir():
        raise SystemExit(f"{out}: no build to measure; include the build step (--steps build,...)")
    if "export" in args.steps:
        print(f"# {findings:,} findings: export", file=sys.stderr, flush=True)
        figures["exports"] = [run_child("export", str(out), str(work)) for _ in range(runs)]
    if "queries" in args.steps:
        print(f"# {findings:,} findings: stored queries", file=sys.stderr, flush=True)
        figures["queries"] = {name: run_child("query", str(out), name, timeout=args.query_timeout)
                              for name in _query_names()}
    if "release" in args.steps:
        print(f"# {findings:,} findings: release", file=sys.stderr, flush=True)
        figures["releases"] = [run_child("release", str(out), str(work / f"release-{findings}")) for _ in range(runs)]
        if not args.keep:
            shutil.rmtree(work / f"release-{findings}", ignore_errors=True)
    if "baseline" in args.steps and findings <= args.baseline_up_to:
        print(f"# {findings:,} findings: naive baseline", file=sys.stderr, flush=True)
        figures["baseline"] = run_child("baseline", str(corpus), str(args.query_timeout))
    for name in ("export.nt", "export.jsonld"):
        (work / name).unlink(missing_ok=True)
    return figures


def _query_names() -> list[str]:
    from mscev.query import stored_queries

    return list(stored_queries())


def measure_real(args, work: Path) -> dict:
    """The curated graph: `mscev build` (HermiT) and `mscev query NAME` as whole processes."""
    mscev = str(Path(sys.executable).with_name("mscev"))
    out = work / "build-real"
    builds = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([mscev, "build", "--out", str(out)], check=True, capture_output=True)
        builds.append(time.perf_counter() - started)
    queries = {}
    for name in _query_names():
        times = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run([mscev, "query", name, "--build", str(out), "--format", "tsv", "--out", os.devnull],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        queries[name] = statistics.median(times)
    return {"build": statistics.median(builds), "builds": builds, "queries": queries}


# --- report --------------------------------------------------------------------------------------------------

def median_of(runs: list[dict], *keys) -> float:
    values = []
    for run in runs:
        value = run
        for key in keys:
            value = value[key]
        values.append(value)
    return statistics.median(values)


def report(results: dict) -> str:
    lines = [f"Machine: {results['machine']}", ""]
    sizes = results["sizes"]
    lines += ["### Fast engine, per stage (median wall s / CPU s / peak MB)", "",
              "| findings | triples | " + " | ".join(STAGES) + " | of which derive (wall s) | whole build (s, peak MB) | "
              "export N-Triples | export JSON-LD | floor (read graph.nt) |",
              "|" + "---|" * (len(STAGES) + 7)]
    for size in (s for s in sizes if s.get("builds")):
        builds = size["builds"]
        cells = [f"{median_of(builds, 'stages', s, 'wall'):.2f} / {median_of(builds, 'stages', s, 'cpu'):.2f} / "
                 f"{median_of(builds, 'stages', s, 'peak_mb'):,.0f}" for s in STAGES]
        exports = [f"{median_of(size['exports'], name, 'wall'):.2f}" if size.get("exports") else "–"
                   for name in ("N-Triples", "JSON-LD")]
        lines.append(f"| {size['findings']:,} | {builds[0]['triples']:,} (+{builds[0]['inferred']:,} inferred) | "
                     + " | ".join(cells)
                     + (f" | {median_of(builds, 'derive'):.2f}" if all(b.get("derive") is not None for b in builds) else " | –")
                     + f" | {median_of(builds, 'process', 'wall'):.1f}, {median_of(builds, 'process', 'tree_peak_mb'):,.0f}"
                     + f" | {' | '.join(exports)} | {size['floor']:.2f} ({size['graph_nt_mb']:,.0f} MB) |")
    lines += ["", "### Growth exponent k in time ∝ N^k (wall, between the smallest and largest size ≥ 10,000)", ""]
    grown = [s for s in sizes if s["findings"] >= 10_000 and s.get("builds")]
    if len(grown) >= 2:
        low, high = grown[0], grown[-1]
        ratio = math.log(high["findings"] / low["findings"])
        lines.append("| stage | k |")
        lines.append("|---|---|")
        for stage in STAGES:
            k = math.log(median_of(high["builds"], "stages", stage, "wall")
                         / median_of(low["builds"], "stages", stage, "wall")) / ratio
            lines.append(f"| {stage} | {k:.2f} |")
    for size in sizes:
        if "baseline" not in size:
            continue
        base, builds = size["baseline"]["stages"], size.get("builds")
        if not builds or not size.get("queries") or not size.get("exports"):
            continue
        fast = {s: median_of(builds, "stages", s, "wall") for s in ("load", "validate", "reason")}
        fast["queries"] = sum(q.get("total", math.inf) for q in size["queries"].values())
        fast["export"] = sum(median_of(size["exports"], name, "wall") for name in ("N-Triples", "JSON-LD"))
        lines += ["", f"### Naive baseline at {size['findings']:,} findings", "",
                  "| stage | naive (s) | naive peak MB | fast (s) | naive / fast |", "|---|---|---|---|---|"]
        for stage in BASELINE_STAGES:
            lines.append(f"| {stage} | {base[stage]['wall']:.2f} | {base[stage]['peak_mb']:,.0f} | {fast[stage]:.2f} | "
                         f"{base[stage]['wall'] / fast[stage]:.1f}× |")
        if size["baseline"]["queries_timed_out"]:
            lines.append(f"\nnaive queries stopped at the timeout: {', '.join(size['baseline']['queries_timed_out'])}")
    released = [s for s in sizes if s.get("releases")]
    if released:
        lines += ["", "### `mscev release` (median wall s; CPU s of the main process and of all its children; peak MB of "
                  "the process tree)", "", "| findings | wall | CPU | peak MB | bytes |", "|---|---|---|---|---|"]
        for size in released:
            runs = size["releases"]
            lines.append(f"| {size['findings']:,} | {median_of(runs, 'wall'):.1f} | {median_of(runs, 'process', 'cpu'):.1f} | "
                         f"{median_of(runs, 'process', 'tree_peak_mb'):,.0f} | {median_of(runs, 'bytes'):,.0f} |")
        if len(released) >= 2 and released[0]["findings"] >= 10_000:
            k = math.log(median_of(released[-1]["releases"], "wall") / median_of(released[0]["releases"], "wall")) \
                / math.log(released[-1]["findings"] / released[0]["findings"])
            lines.append(f"\ngrowth exponent k (wall): {k:.2f}")
    queried = [s for s in sizes if s.get("queries")]
    lines += ["", "### Stored queries on the built store (wall time to first row / to last row, CPU time, s; rows)", "",
              "| query | " + " | ".join(f"{s['findings']:,}" for s in queried) + " |", "|---|" + "---|" * len(queried)]
    for name in sorted({name for size in queried for name in size["queries"]}):
        cells = []
        for size in queried:
            q = size["queries"].get(name, {"missing": True})
            if "missing" in q:
                cells.append("–")
                continue
            cells.append(f"> {q['timeout']:.0f} (stopped)" if "timeout" in q else
                         f"{q['first']:.2f} / {q['total']:.2f}{_cpu(q)}; {q['rows']:,}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if "real" in results:
        real = results["real"]
        lines += ["", "### The curated graph (whole processes)", "",
                  f"`mscev build` (reference engine, HermiT): median {real['build']:.1f} s of {len(real['builds'])}", "",
                  "| query | `mscev query NAME` median of 5 (ms) |", "|---|---|"]
        lines += [f"| {name} | {seconds * 1000:.0f} |" for name, seconds in real["queries"].items()]
    return "\n".join(lines)


def _cpu(figures: dict) -> str:
    return f" (CPU {figures['cpu']:.2f})" if "cpu" in figures else ""


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))) / 1024 / 1024
    import pyoxigraph
    import pyshacl
    import rdflib

    return (f"{os.cpu_count()} × {cpu}, {memory:.0f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, pyoxigraph {pyoxigraph.__version__}, rdflib {rdflib.__version__}, "
            f"pySHACL {pyshacl.__version__}; load average at start {os.getloadavg()[0]:.1f}")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(CHILDREN[sys.argv[2]](*sys.argv[3:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="findings per corpus, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (one at a million findings and more)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-up-to", type=int, default=10_000, help="largest size for the naive baseline")
    parser.add_argument("--query-timeout", type=float, default=60.0, help="seconds before a query is stopped")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mscev-bench"), help="corpora and builds go here")
    parser.add_argument("--real", action="store_true", help="also time the curated graph's build and queries")
    parser.add_argument("--json", type=Path, help="write every figure to this file (figures of steps not run "
                                                 "this time are kept from it)")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"which steps to run, of {','.join(STEPS)}; "
                        "without build, the build kept by an earlier --keep run is measured")
    parser.add_argument("--keep", action="store_true", help="keep the builds and releases (in --work) for a later run")
    args = parser.parse_args()
    args.steps = set(args.steps.split(","))
    if args.steps - set(STEPS):
        parser.error(f"--steps: unknown step(s) {', '.join(sorted(args.steps - set(STEPS)))}")
    args.work.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(args.json.read_text()) if args.json and args.json.is_file() else {"sizes": []}
    by_size = {size["findings"]: size for size in earlier["sizes"]}
    results = {**earlier, "machine": machine()}
    for findings in sorted(int(size) for size in args.sizes.split(",") if size):  # --sizes "" --real: the curated graph only
        by_size[findings] = measure_size(findings, args, args.work, by_size.get(findings, {}))
        results["sizes"] = [by_size[size] for size in sorted(by_size)]
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        if not args.keep:
            shutil.rmtree(args.work / f"build-{findings}", ignore_errors=True)
    if args.real:
        results["real"] = measure_real(args, args.work)
    results["load_average_at_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(report(results))
    print(f"\nload average at end {results['load_average_at_end']:.1f}")


if __name__ == "__main__":
    main()
