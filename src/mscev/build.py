"""The build pipeline: load → validate → reason → write build/, atomically.

Everything is written to a fresh sibling folder first and swapped in only when every stage succeeded, by one
build at a time (mscev.atomic), so a failed, interrupted or killed build leaves the previous build/ complete
and usable.

Two engines write the same build/ layout:
- ``reference``: rdflib, pySHACL and HermiT (OWL 2 DL) — the curated graph's engine.
- ``fast``: pyoxigraph throughout, never an rdflib graph of the data: the files are parsed into an in-memory
  store, validated with the shapes compiled to SPARQL, closed under OWL 2 RL with SPARQL rules, and written
  by pyoxigraph (graph.nt sorted with the system's `sort`, which spills to disk instead of memory).
``auto`` picks the fast engine when the input Turtle files total more than FAST_ENGINE_BYTES (about 100,000
triples: pySHACL and HermiT then take minutes), else the reference engine.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import DCTERMS, Graph, Literal, URIRef

from mscev.atomic import locked, replacing_folder, swap_in, write_text
from mscev.derive import DERIVED_GRAPHS, DerivedGraph, derive, write_derived
from mscev.errors import MscevError
from mscev.export import canonical, canonical_quads
from mscev.lines import dump_sorted
from mscev.load import LoadedGraph, LoadedStore, load_graph, load_store, turtle_source
from mscev.manifest import MANIFEST, source_digests, write_manifest
from mscev.namespaces import bind_prefixes, prefix_map
from mscev.processes import OUT_OF_MEMORY_HINT, at_lower_priority, die_with
from mscev.paths import DEFAULT_BUILD_DIR, TRIPLES_DIR, source_files
from mscev.query import (ASSERTED_GRAPH, INFERRED_GRAPH, NOT_FROM_BODY_GRAPH, STORE_DIR, rows, run_query,
                         separate_values_not_from_body)
from mscev.reason import ReasoningResult, StoreReasoningResult, java_available, reason, reason_store
from mscev.validate import ValidationReport, validate, validate_store

ENGINES = ("auto", "reference", "fast")
BUILD_MARKERS = (MANIFEST, "summary.json")  # a folder holding one is a build, which --out may replace
BUILD_FILES = ("graph.nt", "graph.ttl", "inferred.ttl", "summary.json", "validation.ttl", "validation.txt",
               *(derived.file_name for derived in DERIVED_GRAPHS))
FAST_ENGINE_BYTES = 8_000_000
ENGINE_NAMES = {"dl": "HermiT (OWL 2 DL) via owlready2", "rl": "OWL 2 RL closure (reasonable, plus property chains)",
                "rl-sparql": "OWL 2 RL closure (SPARQL rules on pyoxigraph)"}


@dataclass
class BuildResult:
    out: Path
    loaded: LoadedGraph | LoadedStore
    report: ValidationReport
    reasoning: ReasoningResult | StoreReasoningResult | None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    engine: str = "reference"
    sources: dict[str, str] = field(default_factory=dict)  # each input file's SHA-256, for staleness by content
    derived: dict[str, int] = field(default_factory=dict)  # triples per derived graph (mscev.derive)
    synthetic: bool = False  # the data is a corpus made by `mscev synth`, not the review
    data_dir: Path = TRIPLES_DIR

    @property
    def ok(self) -> bool:
        return self.report.conforms and (self.reasoning is None or self.reasoning.consistent)


def build(out: Path = DEFAULT_BUILD_DIR, extra: Iterable[Path] = (), use_reasoner: bool = True,
          on_stage: Callable[[str], None] = lambda stage: None, engine: str = "auto",
          data_dir: Path = TRIPLES_DIR) -> BuildResult:
    """Run the whole pipeline. Writes ``out`` only when the graph conforms and is consistent.

    ``data_dir`` replaces triples/ (e.g. a synthetic corpus); ``engine`` is auto, reference or fast.
    """
    out = Path(out)
    files = [*source_files(data_dir), *map(Path, extra)]
    fast = choose_engine(engine, files) == "fast"
    sources = source_digests(files)
    seconds: dict[str, float] = {}

    def timed(stage: str, action):
        on_stage(stage)
        started = time.perf_counter()
        value = action()
        seconds[stage] = round(time.perf_counter() - started, 3)
        return value

    with replacing_folder(out, "the build", BUILD_MARKERS, sources=files) as staging:
        loader = _DiskStoreLoader(staging / STORE_DIR, files) if fast else None
        try:
            if fast:
                loaded = timed("load", lambda: load_store(files, ASSERTED_GRAPH))
                report = timed("validate", lambda: validate_store(loaded))
            else:
                loaded = timed("load", lambda: load_graph(files=files))
                report = timed("validate", lambda: validate(loaded))
            result = BuildResult(out, loaded, report, None, seconds=seconds, engine="fast" if fast else "reference",
                                 sources=sources, data_dir=Path(data_dir))
            if not report.conforms:
                return result
            if use_reasoner and (fast or java_available()):
                result.reasoning = timed("reason", lambda: reason_store(loaded) if fast else reason(loaded.graph))
                if not result.reasoning.consistent:
                    return result
            timed("write", lambda: _write(result, staging, loader))
            return result
        finally:
            if loader:
                loader.stop()


def choose_engine(engine: str, files: list[Path]) -> str:
    """reference or fast: ``auto`` goes by the total size of the input files."""
    if engine not in ENGINES:
        raise MscevError(f"--engine {engine!r}: choose auto, reference (rdflib, pySHACL, HermiT) or fast (pyoxigraph)")
    if engine != "auto":
        return engine
    size = sum(path.stat().st_size for path in files if path.is_file())
    return "fast" if size > FAST_ENGINE_BYTES else "reference"


def _write(result: BuildResult, staging: Path, loader: "_DiskStoreLoader | None") -> None:
    """Write every output into the staging folder, then swap it in place of ``out``."""
    try:
        if isinstance(result.loaded, LoadedStore):
            _write_graphs_fast(result, staging, loader)
        else:
            _write_graphs(result, staging)
        canonical(result.report.graph).serialize(staging / "validation.ttl", format="turtle", encoding="utf-8")
        (staging / "validation.txt").write_text(result.report.as_text(), encoding="utf-8")
        summary = {"counts": result.counts, "seconds": result.seconds, "engine": result.engine,
                   "reasoner": ENGINE_NAMES[result.reasoning.profile] if result.reasoning else "not run",
                   "inferred": result.reasoning.counts() if result.reasoning else {}, "derived": result.derived,
                   "synthetic": result.synthetic, "data_dir": str(result.data_dir.resolve()), "sources": result.sources}
        (staging / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        write_build_manifest(staging, ox.Store.read_only(str(staging / STORE_DIR)))
        swap_in(staging, result.out)
    except OSError as error:
        raise MscevError(f"{result.out}: cannot write the build ({error.strerror or error}); "
                         "the previous build is unchanged") from None


def _write_graphs(result: BuildResult, staging: Path) -> None:
    """Reference engine: the rdflib graphs as Turtle and sorted N-Triples, and the store built from them."""
    inferred = result.reasoning.inferred if result.reasoning else bind_prefixes(Graph())
    asserted = canonical(result.loaded.graph)
    asserted.serialize(staging / "graph.ttl", format="turtle", encoding="utf-8")
    _write_sorted_ntriples(asserted, staging / "graph.nt")
    _write_inferred(inferred, result.reasoning, staging / "inferred.ttl")
    store = ox.Store(str(staging / STORE_DIR))
    store.bulk_load(path=str(staging / "graph.nt"), format=ox.RdfFormat.N_TRIPLES, to_graph=ASSERTED_GRAPH)
    separate_values_not_from_body(store)
    if len(inferred):
        store.bulk_load(input=inferred.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES,
                        to_graph=INFERRED_GRAPH)
    for sorted_ntriples in _derive(result, store, staging):
        sorted_ntriples.unlink()
    store.optimize()
    result.counts, result.synthetic = graph_counts(result, store), is_synthetic(store)
    store.flush()


def _write_graphs_fast(result: BuildResult, staging: Path, loader: "_DiskStoreLoader") -> None:
    """Fast engine: the files written by pyoxigraph from the in-memory store; the inferred and derived graphs
    added to the on-disk store by the loader process (which has filled it with the asserted ones meanwhile), each
    as soon as its sorted N-Triples are written, while this process derives.

    The in-memory store lists triples in no fixed order, so each graph goes out as N-Triples sorted by the system's
    `sort`, and the Turtle files are written from those sorted lines (a subject's triples are together there).
    The asserted and inferred files are written by a second thread while this one derives (pyoxigraph lets go of
    Python's lock while it queries, dumps and serializes, so the two use both cores); the derived graphs are
    added to the in-memory store, which the files of the asserted and inferred graphs do not read."""
    memory = result.loaded.store
    _canonical_blank_nodes(memory)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="write") as second_core:
        asserted_and_inferred = second_core.submit(_write_asserted_and_inferred, result, memory, staging, loader)
        derived = _derive(result, memory, staging, on_written=lambda graph, path: loader.add(path, graph.graph))
        result.counts, result.synthetic = graph_counts(result, memory), is_synthetic(memory)
        inferred = asserted_and_inferred.result()
    _release_memory_store(result)
    del memory  # its memory is reused by the loads below instead of adding to the build's peak
    loader.wait()
    for loaded_file in (inferred, *derived):
        if loaded_file:
            loaded_file.unlink()
    store = ox.Store(str(staging / STORE_DIR))
    separate_values_not_from_body(store)
    store.flush()
    del store


def _write_asserted_and_inferred(result: BuildResult, memory: ox.Store, staging: Path,
                                 loader: "_DiskStoreLoader") -> Path | None:
    """graph.nt, graph.ttl and inferred.ttl from the in-memory store; returns the inferred graph's sorted
    N-Triples (.inferred.nt, handed to the loader for the on-disk store), or None without reasoning."""
    dump_sorted(memory, ASSERTED_GRAPH, staging / "graph.nt")
    ox.serialize(ox.parse(path=str(staging / "graph.nt"), format=ox.RdfFormat.N_TRIPLES), str(staging / "graph.ttl"),
                 ox.RdfFormat.TURTLE, prefixes=prefix_map())
    header = bind_prefixes(Graph())
    _mark_inferred(header, result.reasoning)
    inferred = staging / ".inferred.nt" if result.reasoning else None
    if inferred:
        dump_sorted(memory, INFERRED_GRAPH, inferred)
        loader.add(inferred, INFERRED_GRAPH)
    with (staging / "inferred.ttl").open("wb") as handle:
        handle.write(header.serialize(format="turtle", encoding="utf-8"))
        if inferred:
            ox.serialize(ox.parse(path=str(inferred), format=ox.RdfFormat.N_TRIPLES), handle, ox.RdfFormat.TURTLE,
                         prefixes=prefix_map())
    return inferred


def _release_memory_store(result: BuildResult) -> None:
    """Drop the result's references to the in-memory store once every file is written from it (the inferred
    counts are kept), so that its memory can be reused before the on-disk store takes the inferred and derived
    graphs: at a million findings it holds about 9 GB, and Store.clear() frees none of it."""
    if result.reasoning is not None:
        result.reasoning.counts()  # kept by the result, for summary.json
        result.reasoning.store = None
    result.loaded.store = None


OnWritten = Callable[[DerivedGraph, Path], None]  # told of each derived graph's N-Triples file once it is written


def _derive(result: BuildResult, store: ox.Store, staging: Path, on_written: OnWritten | None = None) -> list[Path]:
    """_derived_files, timed, with the triples per derived graph kept in ``result``."""
    started = time.perf_counter()
    result.derived, files = _derived_files(store, staging, dump_sorted if result.engine == "fast" else _dump_in_order,
                                           on_written)
    result.seconds["derive"] = round(time.perf_counter() - started, 3)
    return files


def _derived_files(store: ox.Store, folder: Path, dump, on_written: OnWritten | None = None
                   ) -> tuple[dict[str, int], list[Path]]:
    """The direct statements and summaries (mscev.derive) into ``store``, and written as NAME.ttl in ``folder``;
    returns the triples per derived graph and each graph's N-Triples file (.NAME.nt in ``folder``, written in a
    fixed order by ``dump``, and passed to ``on_written`` from the thread that wrote it), for the caller to load and
    remove. Each graph's files are written by a second thread as soon as its rules have run, while the next
    graph's rules run."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="derived") as writer:
        written = []
        counts = derive(store, folder, on_graph=lambda derived: written.append(
            writer.submit(_write_derived_graph, store, derived, folder, dump, on_written)))
        return counts, [future.result() for future in written]


def _write_derived_graph(store: ox.Store, derived: DerivedGraph, folder: Path, dump,
                         on_written: OnWritten | None) -> Path:
    """One derived graph as .NAME.nt (returned, and passed to ``on_written``) and as NAME.ttl, in ``folder``."""
    ntriples = folder / f".{derived.name}.nt"
    dump(store, derived.graph, ntriples)
    if on_written:
        on_written(derived, ntriples)
    write_derived(derived, ntriples, folder, prefix_map())
    return ntriples


def _dump_in_order(store: ox.Store, graph: ox.NamedNode, target: Path) -> None:
    """One graph of an on-disk store as N-Triples, in the store's index order (the same for the same graph), so
    the reference engine needs no system `sort`."""
    store.dump(str(target), ox.RdfFormat.N_TRIPLES, from_graph=graph)


def _canonical_blank_nodes(store: ox.Store) -> None:
    """Relabel the blank nodes of the store's asserted and inferred graphs canonically (mscev.export.canonical_quads),
    in place: only the quads that hold one are read and rewritten."""
    found = store.query("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) } }")
    quads = [ox.Quad(row["s"], row["p"], row["o"], row["g"]) for row in found]
    for quad in quads:
        store.remove(quad)
    store.extend(canonical_quads(quads))


class _DiskStoreLoader:
    """The build's on-disk store, filled by a second process while this one works in memory: first the input files
    (the asserted graph), while this process validates and reasons; then each N-Triples file handed to it with
    ``add`` (the inferred and derived graphs), while this process derives. Writing the store's indexes is the
    slowest step of a large build, and with two cores it overlaps the others instead of following them. (A
    compaction afterwards, Store.optimize, made no query faster here, so it is left out.)"""

    def __init__(self, path: Path, files: list[Path]):
        self.log = path.with_name(".store-loader.log")
        self.lock = threading.Lock()  # add() is called from the threads that write the files
        code = ("import sys; from mscev.build import load_disk_store; "
                "load_disk_store(sys.argv[2], sys.argv[3:], parent=int(sys.argv[1]))")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-c", code, str(os.getpid()), str(path), *map(str, files)],
                                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)

    def add(self, ntriples: Path, graph: ox.NamedNode) -> None:
        """Load ``ntriples`` into ``graph`` of the store after what was handed before (the file must stay until
        wait() returns). A loader that has died is reported by wait()."""
        with self.lock:
            try:
                self.process.stdin.write(f"{graph.value}\t{ntriples.resolve()}\n".encode("utf-8"))
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass

    def _close_input(self) -> None:
        """No more files: the loader flushes the store and ends once it has loaded those handed to it."""
        with self.lock:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass

    def wait(self) -> None:
        """Until every file is loaded and the store is flushed and closed."""
        self._close_input()
        if self.process.wait() != 0:  # the log ends with the loader's exception (a traceback before it)
            log = self.log.read_text(errors="replace")
            if "memory allocation of" in log or "MemoryError" in log or self.process.returncode == -signal.SIGKILL:
                raise MscevError(f"loading the on-disk store ran out of memory; {OUT_OF_MEMORY_HINT}")
            lines = log.strip().splitlines() or [f"exit {self.process.returncode}"]
            raise MscevError(f"loading the on-disk store failed: {lines[-1]}")
        self.log.unlink()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_input()


def load_disk_store(path: str, files: list[str], parent: int) -> None:
    """The asserted graph of an on-disk store, straight from the Turtle files, then the N-Triples files named on
    standard input (GRAPH-IRI TAB PATH per line) into their graphs, until it ends (run by _DiskStoreLoader, whose
    PID is ``parent``: the loader dies with a killed build instead of writing on unseen).

    The Turtle files are loaded at nice +10, so that the build's load, validation and reasoning go first; the
    N-Triples files at the build's own priority: the write stage waits for them (at a million findings, with the
    whole loader at nice +10, the build's end waited about 4 minutes for it on a busy machine)."""
    die_with(parent)
    store = ox.Store(path)

    def load_asserted() -> None:
        for file in files:
            store.bulk_load(**turtle_source(Path(file)), format=ox.RdfFormat.TURTLE,
                            base_iri=Path(file).resolve().as_uri(), to_graph=ASSERTED_GRAPH)

    at_lower_priority(load_asserted)
    for line in sys.stdin:
        graph, ntriples = line.rstrip("\n").split("\t")
        store.bulk_load(path=ntriples, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph))
    store.flush()


def _write_inferred(inferred: Graph, reasoning: ReasoningResult | None, path: Path) -> None:
    """The inferred triples as Turtle, headed by a description that marks them as inferred."""
    marked = bind_prefixes(Graph())
    marked += inferred
    _mark_inferred(marked, reasoning)
    write_text(path, marked.serialize(format="turtle"))


def _mark_inferred(graph: Graph, reasoning) -> None:
    """The description heading inferred.ttl: what the triples are and which engine derived them."""
    node = URIRef(str(INFERRED_GRAPH.value))
    graph.add((node, DCTERMS.description, Literal(
        "Triples inferred by a reasoner from the asserted graph; not stated by curators. "
        "In the store they are the named graph " + INFERRED_GRAPH.value + ".")))
    graph.add((node, DCTERMS.creator, Literal(ENGINE_NAMES[reasoning.profile] if reasoning else "none")))


def update_inferred(build_dir: Path, reasoning: ReasoningResult) -> None:
    """Replace an existing build's inferred triples (file and store graph) with a new reasoning result.

    Under the build's lock, so no build swaps the folder meanwhile; the store's graph is replaced in one
    transaction (one SPARQL update), so a process killed half-way leaves the old inferred graph or the new one.
    The derived graphs are derived again from it (direct:area follows the reasoner's classes); a process killed
    while they are derived leaves a store that the manifest's counts no longer match (mscev.manifest).
    """
    build_dir = Path(build_dir)
    with locked(build_dir, "the build"):
        try:
            store = ox.Store(str(build_dir / STORE_DIR))
        except OSError as error:
            raise MscevError(f"cannot open the store in {build_dir} for writing ({error}); is a server using it?") from None
        triples = reasoning.inferred.serialize(format="nt", encoding="utf-8").decode("utf-8")
        store.update(f"DROP SILENT GRAPH {INFERRED_GRAPH} ; INSERT DATA {{ GRAPH {INFERRED_GRAPH} {{ {triples} }} }}")
        store.flush()
        _write_inferred(reasoning.inferred, reasoning, build_dir / "inferred.ttl")
        store.update(" ; ".join(f"DROP SILENT GRAPH {derived.graph}" for derived in DERIVED_GRAPHS))
        derived, files = _derived_files(store, build_dir, _dump_in_order)
        for sorted_ntriples in files:
            sorted_ntriples.unlink()
        store.flush()
        summary_file = build_dir / "summary.json"
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        summary.update(reasoner=ENGINE_NAMES[reasoning.profile], inferred=reasoning.counts(), derived=derived)
        write_text(summary_file, json.dumps(summary, indent=2) + "\n")  # queries then say which inferences they see
        write_build_manifest(build_dir, store)


def is_synthetic(store: ox.Store) -> bool:
    """Whether the graph is a corpus made by `mscev synth` (its review is a mscev:SyntheticReview)."""
    return bool(store.query("ASK { ?review a <https://w3id.org/mscev/SyntheticReview> }", use_default_graph_as_union=True))


def write_build_manifest(folder: Path, store: ox.Store) -> None:
    """manifest.json: the build's files and the store's triples per graph (mscev.manifest)."""
    graphs = {}
    for graph in (ASSERTED_GRAPH, INFERRED_GRAPH, NOT_FROM_BODY_GRAPH, *(derived.graph for derived in DERIVED_GRAPHS)):
        found = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}")
        graphs[graph.value] = int(next(found)[0].value)
    write_manifest(folder, BUILD_FILES, graphs)


def graph_counts(result: BuildResult, store: ox.Store) -> dict[str, int]:
    """The build summary: the stored 'graph-summary' query plus triple and validation counts."""
    summary = rows(run_query("graph-summary", store=store))[0]
    fast = isinstance(result.loaded, LoadedStore)
    inferred = 0 if result.reasoning is None else sum(result.reasoning.counts().values())
    counts = {"triples": result.loaded.triples if fast else len(result.loaded.graph), "inferredTriples": inferred}
    counts.update({key: int(value) for key, value in summary.items()})
    counts["violations"] = len(result.report.violations)
    counts["warnings"] = len(result.report.warnings)
    return counts


def _write_sorted_ntriples(graph: Graph, path: Path) -> None:
    """N-Triples with lines sorted, so the file is identical for identical graphs."""
    lines = sorted(set(graph.serialize(format="nt", encoding="utf-8").decode("utf-8").splitlines()) - {""})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
