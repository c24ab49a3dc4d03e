"""Benchmark of each derivation rule (rules/direct/*.rq, rules/summaries/*.rq, run by mscev.derive) alone, on a
fast-engine build: its wall time, CPU time and triples, so that a rule that grows faster than the findings shows.

- ``--memory`` (as the build derives): the build's asserted graph (graph.nt) and inferred graph (read from its
  store) are loaded into an in-memory store, then the rules run in file order, each rule's triples added to its
  graph before the next runs, as mscev.derive does;
- otherwise the rules run on the build's on-disk store, opened read-only (it already holds the derived graphs).

``--out DIR`` keeps each rule's triples as sorted N-Triples (DIR/GRAPH/RULE.nt), to compare two versions of the
rules (``--rules`` names another rules folder). Prints a Markdown table; --json writes the figures.
A benchmark prints figures; it is never asserted in tests.

    .venv/bin/python benchmarks/rules.py BUILD [--memory] [--rules DIR] [--out DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

from mscev.derive import DERIVED_GRAPHS
from mscev.paths import RULES_DIR
from mscev.query import ASSERTED_GRAPH, INFERRED_GRAPH, STORE_DIR


def memory_store(build: Path, scratch: Path) -> ox.Store:
    """The build's asserted and inferred graphs in an in-memory store, as the build holds them when it derives."""
    store = ox.Store()
    store.bulk_load(path=str(build / "graph.nt"), format=ox.RdfFormat.N_TRIPLES, to_graph=ASSERTED_GRAPH)
    inferred = scratch / "inferred.nt"
    ox.Store.read_only(str(build / STORE_DIR)).dump(str(inferred), ox.RdfFormat.N_TRIPLES, from_graph=INFERRED_GRAPH)
    store.bulk_load(path=str(inferred), format=ox.RdfFormat.N_TRIPLES, to_graph=INFERRED_GRAPH)
    inferred.unlink()
    return store


def time_rules(store: ox.Store, rules: Path, scratch: Path, add: bool, out: Path | None) -> list[dict]:
    """Each rule's figures, in the order mscev.derive runs them; with ``add``, its triples go into its graph."""
    figures = []
    for derived in DERIVED_GRAPHS:
        for rule in sorted((rules / derived.name).glob("*.rq")):
            part = scratch / f"{derived.name}-{rule.stem}.nt"
            wall, cpu = time.perf_counter(), time.process_time()
            store.query(rule.read_text(encoding="utf-8"), use_default_graph_as_union=True).serialize(
                str(part), ox.RdfFormat.N_TRIPLES)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            with part.open("rb") as handle:
                triples = sum(1 for _ in handle)
            if add:
                store.load(path=str(part), format=ox.RdfFormat.N_TRIPLES, to_graph=derived.graph)
            if out:
                (out / derived.name).mkdir(parents=True, exist_ok=True)
                subprocess.run(["sort", "-u", "-S", "1G", "-T", str(scratch), "-o", str(out / derived.name / part.name.split("-", 1)[1]),
                                str(part)], env={**os.environ, "LC_ALL": "C"}, check=True)
            part.unlink()
            figures.append({"rule": f"{derived.name}/{rule.stem}", "wall": round(wall, 2), "cpu": round(cpu, 2),
                            "triples": triples})
            print(f"| {derived.name}/{rule.stem} | {wall:.2f} | {cpu:.2f} | {triples:,} |", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build", type=Path, help="a fast-engine build folder (graph.nt, store/)")
    parser.add_argument("--memory", action="store_true", help="derive in an in-memory store, as the build does")
    parser.add_argument("--rules", type=Path, default=RULES_DIR, help="the rules folder (direct/, summaries/)")
    parser.add_argument("--out", type=Path, help="keep each rule's triples, sorted, in this folder")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mscev-rules-", dir=args.out.parent if args.out else None) as scratch:
        started = time.perf_counter()
        store = memory_store(args.build, Path(scratch)) if args.memory else ox.Store.read_only(str(args.build / STORE_DIR))
        print(f"# {'in-memory store loaded' if args.memory else 'on-disk store opened'} in "
              f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
        print("| rule | wall s | CPU s | triples |\n|---|---:|---:|---:|", flush=True)
        figures = time_rules(store, args.rules, Path(scratch), args.memory, args.out)
    print(f"# load average at the end {os.getloadavg()[0]:.2f}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"build": str(args.build), "memory": args.memory, "rules": figures,
                                         "load_average": os.getloadavg()[0]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
