"""Growth of each query of the fast validator: which compiled SHACL check (or cross-node query) grows faster than N.

The build's validate stage is the sum of about 140 queries (mscev.shacl_sparql compiles one per constraint of each
shape; mscev.validate adds the undeclared-term, value-origin and language-tag queries). A single query that turns
quadratic hides among them at 10,000 findings and dominates at a million (the value-origin check did: 0.05 s of
CPU at 10,000 findings, 1.7 s at 60,000, about 8 min at a million). For each size this writes a synthetic corpus
(`mscev synth`, kept in --work), loads it as the fast build does, and times every query alone (CPU seconds of this
process, rows counted); then lists the queries that cost most beyond linear growth (seconds at the largest size
minus the smallest size's seconds scaled by the ratio of sizes), with their growth exponent k (time ∝ N^k), and
the total. Figures only; nothing is asserted.

    .venv/bin/python benchmarks/validation_checks.py --sizes 10000,30000 [--top 15]
"""

import argparse
import json
import math
import os
import time
from pathlib import Path

from mscev.load import load_store, parse_turtle
from mscev.namespaces import curie
from mscev.paths import SHAPES_FILE, source_files
from mscev.query import ASSERTED_GRAPH
from mscev.shacl_sparql import compile_shapes
from mscev.synth import synthesize
from mscev.validate import ORIGIN_CHECK, TAGGED_TEXT, UNDECLARED_TERMS


def corpus(findings: int, work: Path, seed: int) -> Path:
    """The corpus of ``findings`` findings in ``work``, written unless one with the same seed is there."""
    folder = work / f"corpus-{findings}"
    made = folder / "synth.json"
    if not made.is_file() or json.loads(made.read_text())["seed"] != seed:
        synthesize(findings, folder, seed=seed)
    return folder


def query_seconds(folder: Path) -> dict[str, float]:
    """CPU seconds of every query the fast validator runs, each alone, on the corpus in ``folder``."""
    loaded = load_store(source_files(folder), ASSERTED_GRAPH)
    checks = compile_shapes(parse_turtle(SHAPES_FILE), loaded.store, loaded.graph)
    queries = {f"{curie(str(c.shape))} {curie(str(c.path)) if c.path else '-'}{' (inverse)' if c.inverse else ''} "
               f"{curie(str(c.constraint))}": c.query for c in checks}
    queries.update(UNDECLARED_TERMS=UNDECLARED_TERMS, ORIGIN_CHECK=ORIGIN_CHECK, TAGGED_TEXT=TAGGED_TEXT)
    seconds = {}
    for name, query in queries.items():  # two constraints of one kind on one path add up under one name
        started = time.process_time()
        sum(1 for _ in loaded.store.query(query, default_graph=loaded.graph))
        seconds[name] = seconds.get(name, 0.0) + time.process_time() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,30000", help="findings per corpus, comma-separated (two or more)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mscev-bench"), help="corpora go here")
    parser.add_argument("--top", type=int, default=15, help="how many queries to list, most beyond linear first")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    if len(sizes) < 2:
        parser.error("--sizes: give two sizes or more")
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"load average at start {os.getloadavg()[0]:.1f}")
    figures = {findings: query_seconds(corpus(findings, args.work, args.seed)) for findings in sizes}
    low, high = figures[sizes[0]], figures[sizes[-1]]
    scale, ratio = sizes[-1] / sizes[0], math.log(sizes[-1] / sizes[0])
    # a query's seconds at the largest size beyond linear growth from the smallest: what it costs over N^1
    excess = {name: high.get(name, 0.0) - low[name] * scale for name in low}
    print(f"\n| query | {' | '.join(f'{size:,} (CPU s)' for size in sizes)} | k | beyond linear (s) |\n"
          f"|---|{'---|' * len(sizes)}---|---|")
    for name in sorted(excess, key=excess.get, reverse=True)[:args.top]:
        k = math.log(high[name] / low[name]) / ratio if low[name] > 0 and high.get(name, 0) > 0 else float("nan")
        print(f"| {name} | {' | '.join(f'{figures[size].get(name, 0):.3f}' for size in sizes)} | {k:.2f} | "
              f"{excess[name]:.3f} |")
    totals = [sum(figures[size].values()) for size in sizes]
    print(f"| all {len(low)} queries | {' | '.join(f'{total:.2f}' for total in totals)} | "
          f"{math.log(totals[-1] / totals[0]) / ratio:.2f} | {totals[-1] - totals[0] * scale:.3f} |")
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
