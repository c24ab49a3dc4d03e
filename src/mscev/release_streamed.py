"""The release of a fast-engine build (millions of triples), written streaming from the build's own files.

mscev.release writes a curated build from rdflib graphs; at a million findings those take tens of GB and hours.
Here no file is made from the graph held in Python memory: each file is copied, dumped by pyoxigraph or written
line by line from build/graph.nt (N-Triples sorted by line, so a subject's triples are together), and whatever must
be sorted is sorted by the system's `sort` (mscev.lines), which spills to disk. The files hold the same graphs as
the reference release would; their syntax is pyoxigraph's (Turtle and TriG not pretty-printed as rdflib does,
JSON-LD flat with the project's prefixes as its context, as `mscev export` streams it).

Two passes over graph.nt: the first finds the findings and what each owns (effects, value origins, cited
studies), keeping only those links; the second writes every triple as a quad of its nanopublication (or of the
background graph) and counts what the VoID description needs. Meanwhile a second process writes the KGX tables, by
the same code as the curated release's, the edges from the triples of graph.nt they read (TriplesIndex: the store
answers each look-up in 15-20 µs, too slow for the dozen look-ups of each finding), the JSON-LD and the inferred
graph, so both cores work.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyoxigraph as ox

from mscev.errors import MscevError
from mscev.export import BACKGROUND_GRAPH, NANOPUB, PROVENANCE_PREDICATES, stream_jsonld
from mscev.kgx import finish_kgx_tables
from mscev.lines import SORT_ENV, dump_sorted, sort_lines
from mscev.namespaces import ONTOLOGY_IRI, prefix_map
from mscev.processes import with_parent
from mscev.derive import DERIVED_GRAPHS
from mscev.query import ASSERTED_GRAPH, INFERRED_GRAPH, STORE_DIR
from mscev.release import GraphStatistics

RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
MSCEV = prefix_map()["mscev"]
HAS_EFFECT, VALUE_ORIGIN, CITED_STUDY = (f"<{MSCEV}{name}>" for name in ("hasEffect", "valueOrigin", "citedStudy"))
VALUE_ORIGIN_CLASS = f"<{MSCEV}ValueOrigin>"
PROVENANCE = {f"<{p}>" for p in PROVENANCE_PREDICATES} | {VALUE_ORIGIN}
NANOPUB_SUBJECTS = f"<{NANOPUB}"  # every bookkeeping triple's subject starts so, and no triple of the graph's does
FINDING_CLASSES = f"""SELECT ?class WHERE {{ GRAPH <{ASSERTED_GRAPH.value}> {{
  ?class <http://www.w3.org/2000/01/rdf-schema#subClassOf>* <{MSCEV}Finding> }} }}"""

NOT_CURATED = {INFERRED_GRAPH, *(derived.graph for derived in DERIVED_GRAPHS)}  # what the KGX tables leave out


@dataclass
class Ownership:
    """The first pass: each finding, and for every node a nanopublication holds, the finding that owns it."""

    owner: dict[str, str]  # N-Triples term of a finding, effect or value origin → the finding's term
    origins: set[str]  # value origin nodes (all their triples are provenance)
    cited: dict[str, list[str]]  # finding → the studies it cites


def write_streamed_release(build_dir: Path, staging: Path, issued: date,
                           ontology_files: Callable[[], dict[str, bytes]]) -> GraphStatistics:
    """Every distribution of the release of the fast-engine build ``build_dir`` into ``staging``; the support files
    that do not depend on the graph's size are written as ``ontology_files()`` gives them (relative path → bytes).

    Two processes share the work, about half each: a second process writes the KGX tables, the JSON-LD and the
    inferred graph (_write_in_second_process) while this one writes the support files, the derived graphs and the
    nanopublications, and counts what the VoID description needs."""
    build_dir, staging = Path(build_dir), Path(staging)
    (staging / "kgx").mkdir(parents=True, exist_ok=True)
    keyed = staging / "kgx" / ".edges"
    second = multiprocessing.get_context("spawn").Process(target=_write_in_second_process,
                                                          args=(str(build_dir), str(staging), str(keyed), os.getpid()))
    second.start()
    try:
        for name, data in ontology_files().items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
        shutil.copyfile(build_dir / "graph.ttl", staging / "mscev.ttl")
        shutil.copyfile(build_dir / "graph.nt", staging / "mscev.nt")
        store = ox.Store.read_only(str(build_dir / STORE_DIR))
        _write_derived(build_dir, staging / "mscev-derived.nt")
        statistics = _write_nanopublications(build_dir / "graph.nt", store, staging, issued)
        second.join()
        if second.exitcode != 0:
            raise MscevError(f"writing the KGX tables, the JSON-LD and the inferred graph failed (exit "
                             f"{second.exitcode}); see the message above")
        return statistics
    finally:
        if second.is_alive():
            second.kill()
            second.join()


def _write_in_second_process(build_dir: str, staging: str, keyed: str, parent: int) -> None:
    """The KGX tables (by mscev.kgx: the edges from the triples of graph.nt they read, TriplesIndex; the nodes from
    the store), the flat JSON-LD and the inferred graph, dumped from the store and sorted: the second process's half
    of the release."""
    from mscev.kgx import edge_predicates, write_kgx_edges
    from mscev.processes import die_with

    die_with(parent)
    build_dir, staging = Path(build_dir), Path(staging)
    try:
        write_kgx_edges(TriplesIndex(build_dir / "graph.nt", edge_predicates()), Path(keyed))
        store = ox.Store.read_only(str(build_dir / STORE_DIR))
        finish_kgx_tables(StoreGraph(store), Path(keyed), staging / "kgx" / "mscev_nodes.tsv",
                          staging / "kgx" / "mscev_edges.tsv")
        with open(build_dir / "graph.nt", "rb") as source, open(staging / "mscev.jsonld", "wb") as handle:
            stream_jsonld(ox.parse(source, ox.RdfFormat.N_TRIPLES), handle)
        dump_sorted(store, INFERRED_GRAPH, staging / "mscev-inferred.nt")
    except MscevError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)


def _split(line: str) -> tuple[str, str, str]:
    """Subject, predicate and object of one N-Triples line (terms in N-Triples syntax)."""
    subject, predicate, rest = line.split(" ", 2)
    return subject, predicate, rest[:-3]  # rest ends with " .\n"


def _lines_with(path: Path, predicates: set[str]) -> Iterator[tuple[str, str, str, str]]:
    """Each line of the N-Triples file ``path`` whose predicate is one of ``predicates`` (N-Triples text), with its
    subject, predicate and object: the passes over graph.nt that keep a few properties only."""
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            subject, predicate, value = _split(line)
            if predicate in predicates:
                yield line, subject, predicate, value


def _ownership(path: Path, finding_classes: set[str]) -> Ownership:
    """The first pass over graph.nt: the findings, their effects, value origins and cited studies (those triples
    only), and from them the owner of each node, as mscev.export.nanopublications assigns it."""
    findings: set[str] = set()
    origins: set[str] = set()
    effects: dict[str, list[str]] = {}
    origins_of: dict[str, list[str]] = {}
    cited: dict[str, list[str]] = {}
    for _, subject, predicate, value in _lines_with(path, {RDF_TYPE, HAS_EFFECT, VALUE_ORIGIN, CITED_STUDY}):
        if predicate == RDF_TYPE:
            if value in finding_classes:
                findings.add(subject)
            elif value == VALUE_ORIGIN_CLASS:
                origins.add(subject)
        else:
            links = {HAS_EFFECT: effects, VALUE_ORIGIN: origins_of, CITED_STUDY: cited}[predicate]
            links.setdefault(subject, []).append(value)
    owner: dict[str, str] = {}
    for finding in sorted(findings, key=_sort_key):  # the first finding (in IRI order) to claim a node owns it
        owner[finding] = finding
        for effect in effects.get(finding, ()):
            owner.setdefault(effect, finding)
        for node in (finding, *effects.get(finding, ())):
            for origin in origins_of.get(node, ()):
                owner.setdefault(origin, finding)
    return Ownership(owner, origins, {finding: cited.get(finding, []) for finding in sorted(findings, key=_sort_key)})


def _sort_key(term: str) -> str:
    """An N-Triples IRI or blank node term's text, by which rdflib orders nodes ('<a1>' < '<a>', but 'a' < 'a1')."""
    return term[1:-1] if term.startswith("<") else term[2:]


def _write_nanopublications(path: Path, store: ox.Store, staging: Path, issued: date) -> GraphStatistics:
    """mscev-nanopubs.nq (sorted by line) and mscev-nanopubs.trig (graphs in IRI order) from graph.nt, as
    mscev.export.nanopublications makes them; returns the graph's statistics, counted on the way."""
    finding_classes = {str(row["class"]) for row in store.query(FINDING_CLASSES)}
    owned = _ownership(path, finding_classes)
    bookkeeping = staging / ".bookkeeping.nq"
    with open(bookkeeping, "w", encoding="utf-8") as out:
        for finding in owned.cited:
            out.writelines(_bookkeeping(finding, owned.cited[finding], store, issued))
    sort_lines(bookkeeping, bookkeeping)
    statistics = GraphStatistics(findings=len(owned.cited))
    quads, by_graph, objects = staging / "mscev-nanopubs.nq", staging / ".by-graph.nq", staging / ".objects"
    with open(path, encoding="utf-8") as lines, open(quads, "w", encoding="utf-8") as out, \
            open(by_graph, "w", encoding="utf-8") as keyed, open(objects, "w", encoding="utf-8") as values, \
            open(bookkeeping, encoding="utf-8") as extra:
        background = f"<{BACKGROUND_GRAPH}>"
        previous = finding = None
        spliced = owns_provenance = False
        assertion = provenance = background
        properties: dict[str, int] = {}
        for line in lines:
            subject, predicate, value = _split(line)
            if subject != previous:  # a subject's triples are together: its graphs are found once
                if not spliced and subject >= NANOPUB_SUBJECTS:
                    _copy_bookkeeping(extra, out, keyed)
                    spliced = True
                statistics.subjects += 1
                previous = subject
                finding = owned.owner.get(subject)
                if finding is None:
                    assertion = provenance = background
                else:
                    provenance = f"<{_nanopub(finding)}#provenance>"
                    assertion = provenance if subject in owned.origins else f"<{_nanopub(finding)}#assertion>"
                    owns_provenance = subject == finding
            if finding is not None and ((owns_provenance and predicate in PROVENANCE) or predicate == VALUE_ORIGIN):
                graph = provenance
            else:
                graph = assertion
            quad = f"{line[:-3]} {graph} .\n"
            out.write(quad)
            keyed.write(f"{graph}\t{quad}")
            values.write(value + "\n")
            statistics.triples += 1
            properties[predicate] = properties.get(predicate, 0) + 1
            if predicate == RDF_TYPE:
                statistics.classes[value] += 1
                least = statistics.examples.get(value)
                if least is None or _sort_key(subject) < _sort_key(least):
                    statistics.examples[value] = subject
        if not spliced:
            _copy_bookkeeping(extra, out, keyed)
    statistics.properties.update(properties)
    bookkeeping.unlink()
    counting = subprocess.Popen(f"sort -u -S 512M -T {_quoted(staging)} {_quoted(objects)} | wc -l", shell=True,
                                stdout=subprocess.PIPE, env=SORT_ENV, **with_parent())
    _write_trig(by_graph, staging / "mscev-nanopubs.trig")
    statistics.objects = int(counting.communicate()[0])
    objects.unlink()
    if counting.returncode != 0:
        raise MscevError("counting the graph's distinct objects with the system's `sort` failed")
    return statistics


def _copy_bookkeeping(extra, out, keyed) -> None:
    for quad in extra:
        out.write(quad)
        keyed.write(f"{quad.rsplit(' ', 2)[-2]}\t{quad}")


def _quoted(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


def _nanopub(finding: str) -> str:
    """nanopub:<local name of the finding> (mscev.export.nanopublication_iri) of a finding's N-Triples term."""
    return NANOPUB + finding[1:-1].rstrip("/").rsplit("/", 1)[-1]


def _bookkeeping(finding: str, cited: list[str], store: ox.Store, issued: date, _cache: dict = {}) -> list[str]:
    """The quads a nanopublication adds (head links, derivations, creator, licence, date), N-Quads lines."""
    if not _cache:
        np_, prov, dcterms = prefix_map()["np"], prefix_map()["prov"], prefix_map()["dcterms"]
        values = [(f"<{dcterms}{p}>", str(quad.object)) for p in ("creator", "license") for quad in
                  store.quads_for_pattern(ox.NamedNode(ONTOLOGY_IRI), ox.NamedNode(dcterms + p), None, ASSERTED_GRAPH)]
        created = str(ox.Literal(issued.isoformat(), datatype=ox.NamedNode(prefix_map()["xsd"] + "date")))
        _cache.update(np=np_, derived=f"<{prov}wasDerivedFrom>", review=f"<{prefix_map()['mscev-data']}review>",
                      pubinfo=[(f"<{dcterms}created>", created), *values])
    nanopub = _nanopub(finding)
    part = {name: f"<{nanopub}#{name}>" for name in ("Head", "assertion", "provenance", "pubinfo")}
    np_ = _cache["np"]
    lines = [f"<{nanopub}> {RDF_TYPE} <{np_}Nanopublication> {part['Head']} .\n",
              f"<{nanopub}> <{np_}hasAssertion> {part['assertion']} {part['Head']} .\n",
              f"<{nanopub}> <{np_}hasProvenance> {part['provenance']} {part['Head']} .\n",
              f"<{nanopub}> <{np_}hasPublicationInfo> {part['pubinfo']} {part['Head']} .\n"]
    lines += [f"{part['assertion']} {_cache['derived']} {source} {part['provenance']} .\n"
              for source in sorted({*cited, _cache["review"]})]
    lines += [f"<{nanopub}> {p} {o} {part['pubinfo']} .\n" for p, o in _cache["pubinfo"]]
    return lines


def _write_trig(by_graph: Path, target: Path) -> None:
    """TriG from quads keyed by graph (GRAPH<TAB>QUAD lines): sorted, so each graph is one block in IRI order and
    a subject's triples are together, then written by pyoxigraph with the project's prefixes."""
    sort_lines(by_graph, by_graph)
    with subprocess.Popen(["cut", "-f2-", str(by_graph)], stdout=subprocess.PIPE, **with_parent()) as quads, \
            open(target, "wb") as out:
        ox.serialize(ox.parse(quads.stdout, ox.RdfFormat.N_QUADS), out, ox.RdfFormat.TRIG, prefixes=prefix_map())
    if quads.returncode != 0:
        raise MscevError(f"reading the sorted quads for {target.name} with the system's `cut` failed")
    by_graph.unlink()


def _write_derived(build_dir: Path, target: Path) -> None:
    """The derived graphs (mscev.derive) together as one N-Triples file sorted by line, as the curated release's:
    from the build's Turtle files of them (direct.ttl, summaries.ttl; written from the store's graphs, blank node
    labels kept, and checked against the manifest when the release opened the build), which pyoxigraph converts
    ten times faster than it dumps the store's graphs (0.8 against 7.1 s of CPU at 100,000 findings)."""
    parts = [target.with_name(f".{target.name}.{derived.name}") for derived in DERIVED_GRAPHS]
    for derived, part in zip(DERIVED_GRAPHS, parts):
        ox.serialize(ox.parse(path=str(build_dir / derived.file_name), format=ox.RdfFormat.TURTLE), str(part),
                     ox.RdfFormat.N_TRIPLES)
    sort_lines(parts, target)
    for part in parts:
        part.unlink()


class _GraphView:
    """What mscev.kgx reads of an rdflib Graph beyond objects and subjects, for the two views below."""

    def value(self, subject=None, predicate=None):
        return next(iter(self.objects(subject, predicate)), None)

    def transitive_subjects(self, predicate, obj, seen=None):
        seen = set() if seen is None else seen
        if obj in seen:
            return
        seen.add(obj)
        yield obj
        for subject in self.subjects(predicate, obj):
            yield from self.transitive_subjects(predicate, subject, seen)


class TriplesIndex(_GraphView):
    """The rdflib Graph methods mscev.kgx.kgx_edges reads (objects, value, subjects, subject_objects,
    transitive_subjects), answered from dictionaries of the triples of build/graph.nt (the curated graphs: the
    store's asserted and not-from-body-text graphs) whose predicate is one of ``predicates``.

    A look-up in pyoxigraph's store costs 15-20 µs (StoreGraph) and the edges take about 15 per finding; read once
    from graph.nt, the same triples answer in about a microsecond. IRIs and blank nodes are kept as their N-Triples
    text and converted once per distinct term; literals are parsed by pyoxigraph. A subject's one object is kept
    alone, several in a list (a list per triple would be a third of the memory at a million findings)."""

    def __init__(self, path: Path, predicates: set[str]):
        from rdflib import BNode

        from mscev.load import to_rdflib
        from mscev.release import _rdflib_term

        self._blank = BNode
        wanted = {f"<{predicate}>" for predicate in predicates}
        self.forward: dict[str, dict] = {predicate: {} for predicate in wanted}  # predicate → subject → object(s)
        self.backward: dict[str, dict] = {}  # predicate → object → subjects, made when first asked
        terms: dict[str, object] = {}
        literals: list[str] = []  # lines whose object is a literal, parsed by pyoxigraph a batch at a time

        def add(predicate: str, subject: str, term) -> None:
            objects = self.forward[predicate]
            found = objects.get(subject)
            if found is None:
                objects[sys.intern(subject)] = term
            elif type(found) is list:
                found.append(term)
            else:
                objects[subject] = [found, term]

        def add_literals() -> None:
            for triple in ox.parse("".join(literals).encode("utf-8"), ox.RdfFormat.N_TRIPLES):
                add(str(triple.predicate), str(triple.subject), to_rdflib(triple.object))
            literals.clear()

        for line, subject, predicate, value in _lines_with(path, wanted):
            if value.startswith('"'):
                literals.append(line)
                if len(literals) == 100_000:
                    add_literals()
                continue
            term = terms.get(value)
            if term is None:
                term = terms[value] = _rdflib_term(value)
            add(predicate, subject, term)
        add_literals()

    def _text(self, node) -> str:
        return f"_:{node}" if isinstance(node, self._blank) else f"<{node}>"

    def objects(self, subject, predicate):
        return self._all(self.forward[self._text(predicate)].get(self._text(subject)))

    @staticmethod
    def _all(found) -> list | tuple:
        return () if found is None else found if type(found) is list else (found,)

    def subjects(self, predicate, obj):
        from mscev.release import _rdflib_term

        key = self._text(predicate)
        if key not in self.backward:
            backward: dict = {}
            for subject, objects in self.forward[key].items():
                for value in self._all(objects):
                    backward.setdefault(value, []).append(subject)
            self.backward[key] = backward
        return [_rdflib_term(subject) for subject in self.backward[key].get(obj, ())]

    def subject_objects(self, predicate):
        from mscev.release import _rdflib_term

        return ((_rdflib_term(subject), value) for subject, objects in self.forward[self._text(predicate)].items()
                for value in self._all(objects))


class StoreGraph(_GraphView):
    """The few rdflib Graph methods mscev.kgx reads (objects, value, subjects, subject_objects,
    transitive_subjects), answered from the asserted triples of a build's store (its graphs but the inferred and
    the derived ones: the asserted graph and the values not from the review's body text), so the KGX code that
    writes the curated release writes the node table of a million findings without an rdflib graph (a few look-ups
    per node; the edges, a dozen per finding, are read from a TriplesIndex). Terms are converted to rdflib's."""

    def __init__(self, store: ox.Store):
        self.store = store

    def _quads(self, subject, predicate, obj):
        from mscev.load import to_oxigraph

        found = self.store.quads_for_pattern(*(None if term is None else to_oxigraph(term)
                                               for term in (subject, predicate, obj)))
        return (quad for quad in found if quad.graph_name not in NOT_CURATED)

    def objects(self, subject=None, predicate=None):
        from mscev.load import to_rdflib

        return (to_rdflib(quad.object) for quad in self._quads(subject, predicate, None))

    def subjects(self, predicate=None, obj=None):
        from mscev.load import to_rdflib

        return (to_rdflib(quad.subject) for quad in self._quads(None, predicate, obj))

    def subject_objects(self, predicate=None):
        from mscev.load import to_rdflib

        return ((to_rdflib(quad.subject), to_rdflib(quad.object)) for quad in self._quads(None, predicate, None))
