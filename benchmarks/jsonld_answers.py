"""Cost of writing JSON-LD as the release does (compacted with ontology/context.jsonld by mscev.export.to_jsonld,
through mscev.web.sparql.write_graph) against pyoxigraph's expanded JSON-LD, which the server wrote before
issue 16: for a finding's description, the ontology, and a CONSTRUCT of 10,000 triples (the default row cap).
Prints milliseconds per answer and the load average before and after: other work on the machine slows them.

    .venv/bin/python benchmarks/jsonld_answers.py [--build build]

A benchmark: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pyoxigraph as ox

from mscev.paths import DEFAULT_BUILD_DIR, ONTOLOGY_FILE
from mscev.query import open_store
from mscev.web.sparql import GRAPH_TYPES, used_prefixes, write_graph

FINDING = ox.NamedNode("https://w3id.org/mscev/data/finding/ref26-cartilage-regeneration")


def per_call_ms(write, repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        write()
    return 1000 * (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=DEFAULT_BUILD_DIR)
    store = open_store(parser.parse_args().build)
    graphs = {
        "a finding's description": [ox.Triple(q.subject, q.predicate, q.object)
                                    for q in store.quads_for_pattern(FINDING, None, None)],
        "the ontology": list(ox.parse(path=ONTOLOGY_FILE, format=ox.RdfFormat.TURTLE)),
        "CONSTRUCT of 10,000 triples": list(store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 10000",
                                                        use_default_graph_as_union=True)),
    }
    print(f"load average {os.getloadavg()[0]:.1f}")
    for name, triples in graphs.items():
        repeats = 20 if len(triples) < 5000 else 3
        write_graph(triples, GRAPH_TYPES["jsonld"])  # imports and caches warmed
        expanded = per_call_ms(lambda: ox.serialize(triples, format=ox.RdfFormat.JSON_LD,
                                                    prefixes=used_prefixes(triples)), repeats)
        compacted = per_call_ms(lambda: write_graph(triples, GRAPH_TYPES["jsonld"]), repeats)
        print(f"{name} ({len(triples)} triples): expanded (pyoxigraph) {expanded:.1f} ms, "
              f"compacted as the release {compacted:.1f} ms")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
