"""The build pipeline: load → validate → reason → write build/, atomically.

Everything is written to a fresh sibling folder first and swapped in only when every stage succeeded,
so a failed or interrupted build leaves the previous build/ complete and usable.
"""

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import DCTERMS, Graph, Literal, URIRef

from mscev.errors import MscevError
from mscev.load import LoadedGraph, load_graph
from mscev.namespaces import bind_prefixes
from mscev.paths import DEFAULT_BUILD_DIR
from mscev.query import ASSERTED_GRAPH, INFERRED_GRAPH, STORE_DIR, rows, run_query
from mscev.reason import ReasoningResult, java_available, reason
from mscev.validate import ValidationReport, validate


@dataclass
class BuildResult:
    out: Path
    loaded: LoadedGraph
    report: ValidationReport
    reasoning: ReasoningResult | None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.report.conforms and (self.reasoning is None or self.reasoning.consistent)


def build(out: Path = DEFAULT_BUILD_DIR, extra: Iterable[Path] = (), use_reasoner: bool = True,
          on_stage: Callable[[str], None] = lambda stage: None) -> BuildResult:
    """Run the whole pipeline. Writes ``out`` only when the graph conforms and is consistent."""
    out = Path(out)
    _check_writable(out.parent)
    seconds: dict[str, float] = {}

    def timed(stage: str, action):
        on_stage(stage)
        started = time.perf_counter()
        value = action()
        seconds[stage] = round(time.perf_counter() - started, 3)
        return value

    loaded = timed("load", lambda: load_graph(extra))
    report = timed("validate", lambda: validate(loaded))
    result = BuildResult(out, loaded, report, None, seconds=seconds)
    if not report.conforms:
        return result
    if use_reasoner and java_available():
        result.reasoning = timed("reason", lambda: reason(loaded.graph))
        if not result.reasoning.consistent:
            return result
    timed("write", lambda: _write(result))
    return result


def _check_writable(folder: Path) -> None:
    if not folder.exists():
        raise MscevError(f"{folder}: the output folder's parent does not exist")
    if not folder.is_dir():
        raise MscevError(f"{folder}: not a folder, so the build cannot be written there (choose another --out)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MscevError(f"{folder}: not writable, so the build cannot be written there (choose another --out)")


def _write(result: BuildResult) -> None:
    """Write every output into a temporary sibling folder, then swap it in place of ``out``."""
    out = result.out
    staging = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        inferred = result.reasoning.inferred if result.reasoning else bind_prefixes(Graph())
        result.loaded.graph.serialize(staging / "graph.ttl", format="turtle", encoding="utf-8")
        _write_sorted_ntriples(result.loaded.graph, staging / "graph.nt")
        _write_inferred(inferred, result.reasoning, staging / "inferred.ttl")
        result.report.graph.serialize(staging / "validation.ttl", format="turtle", encoding="utf-8")
        (staging / "validation.txt").write_text(result.report.as_text(), encoding="utf-8")
        store = ox.Store(str(staging / STORE_DIR))
        store.bulk_load(path=str(staging / "graph.nt"), format=ox.RdfFormat.N_TRIPLES, to_graph=ASSERTED_GRAPH)
        if len(inferred):
            store.bulk_load(input=inferred.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES,
                            to_graph=INFERRED_GRAPH)
        store.optimize()
        result.counts = graph_counts(result, store)
        store.flush()
        del store
        summary = {"counts": result.counts, "seconds": result.seconds,
                   "reasoner": "HermiT" if result.reasoning else "not run",
                   "inferred": result.reasoning.counts() if result.reasoning else {}}
        (staging / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        _swap(staging, out)
    except OSError as error:
        raise MscevError(f"{out}: cannot write the build ({error.strerror or error}); the previous build is unchanged") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_inferred(inferred: Graph, reasoning: ReasoningResult | None, path: Path) -> None:
    """The inferred triples as Turtle, headed by a description that marks them as inferred."""
    marked = bind_prefixes(Graph())
    marked += inferred
    graph = URIRef(str(INFERRED_GRAPH.value))
    marked.add((graph, DCTERMS.description, Literal(
        "Triples inferred by a reasoner from the asserted graph; not stated by curators. "
        "In the store they are the named graph " + INFERRED_GRAPH.value + ".")))
    engine = "none" if reasoning is None else ("HermiT (OWL 2 DL) via owlready2" if reasoning.profile == "dl"
                                               else "OWL 2 RL closure (reasonable, plus property chains)")
    marked.add((graph, DCTERMS.creator, Literal(engine)))
    tmp = path.with_name(f".{path.name}.tmp")
    marked.serialize(tmp, format="turtle", encoding="utf-8")
    tmp.replace(path)


def update_inferred(build_dir: Path, reasoning: ReasoningResult) -> None:
    """Replace an existing build's inferred triples (file and store graph) with a new reasoning result."""
    _write_inferred(reasoning.inferred, reasoning, Path(build_dir) / "inferred.ttl")
    try:
        store = ox.Store(str(Path(build_dir) / STORE_DIR))
    except OSError as error:
        raise MscevError(f"cannot open the store in {build_dir} for writing ({error}); is a server using it?") from None
    store.remove_graph(INFERRED_GRAPH)
    if len(reasoning.inferred):
        store.bulk_load(input=reasoning.inferred.serialize(format="nt", encoding="utf-8"),
                        format=ox.RdfFormat.N_TRIPLES, to_graph=INFERRED_GRAPH)
    store.flush()


def graph_counts(result: BuildResult, store: ox.Store) -> dict[str, int]:
    """The build summary: the stored 'graph-summary' query plus triple and validation counts."""
    summary = rows(run_query("graph-summary", store=store))[0]
    counts = {"triples": len(result.loaded.graph),
              "inferredTriples": len(result.reasoning.inferred) if result.reasoning else 0}
    counts.update({key: int(value) for key, value in summary.items()})
    counts["violations"] = len(result.report.violations)
    counts["warnings"] = len(result.report.warnings)
    return counts


def _write_sorted_ntriples(graph: Graph, path: Path) -> None:
    """N-Triples with lines sorted, so the file is identical for identical graphs."""
    lines = sorted(set(graph.serialize(format="nt", encoding="utf-8").decode("utf-8").splitlines()) - {""})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _swap(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging`` with two renames; the old build is removed only afterwards."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
