"""Release stage: every export of the built graph in one versioned, described and checksummed folder.

The folder is written to a temporary sibling and swapped in whole (as the build is), so a failed release
leaves the previous one untouched. The same build and version give byte-identical files: the date in them is
the version's release date (see mscev.export.issued_date), never the clock.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from mscev import __version__
from mscev.atomic import check_output_folder, check_writable, replacing_folder, swap_in
from mscev.errors import MscevError
from mscev.export import (CONTEXT_FILE, DATASET_FILE, built_graph, canonical, derived_ntriples, findings, issued_date,
                          nanopublications,
                          ontology_graph, to_jsonld, to_nquads, to_ntriples, to_rdfxml, to_trig, to_turtle)
from mscev.manifest import sha256
from mscev.namespaces import ONTOLOGY_IRI, prefix_map
from mscev.paths import DEFAULT_BUILD_DIR, DEFAULT_RELEASE_DIR, ONTOLOGY_FILE

if TYPE_CHECKING:
    from rdflib import Graph

RELEASE_BASE = "https://w3id.org/mscev/release/{version}/"
VERSION_IRI = "https://w3id.org/mscev/{version}/ontology"
IANA = "https://www.iana.org/assignments/media-types/"
CHECKSUMS = "SHA256SUMS"
# file → (what it is, media type); the order is the order of the release README.
DISTRIBUTIONS = {
    "mscev.ttl": ("the graph as curated (ontology, imports and data), Turtle", "text/turtle"),
    "mscev.nt": ("the same graph, N-Triples sorted by line", "application/n-triples"),
    "mscev.jsonld": ("the same graph, JSON-LD compacted with context.jsonld", "application/ld+json"),
    "mscev-inferred.nt": ("the triples the OWL reasoner inferred from it (load with mscev.nt for the entailed graph)",
                          "application/n-triples"),
    "mscev-derived.nt": ("the direct statements and summaries the build derived from both (rules/; load with them for "
                         "the stored queries)", "application/n-triples"),
    "mscev-nanopubs.trig": ("the same graph as one nanopublication per finding plus a background graph, TriG",
                            "application/trig"),
    "mscev-nanopubs.nq": ("the nanopublications, N-Quads sorted by line", "application/n-quads"),
    "mscev-ontology.owl": ("the ontology merged with its import module, RDF/XML (opens in Protégé offline)",
                           "application/rdf+xml"),
    "kgx/mscev_nodes.tsv": ("Biolink/KGX nodes", "text/tab-separated-values"),
    "kgx/mscev_edges.tsv": ("Biolink/KGX edges", "text/tab-separated-values"),
}
SUPPORT_FILES = {
    "context.jsonld": "the JSON-LD context (the project's prefix map)",
    "kgx/biolink-mapping.md": "how mscev classes and properties map to Biolink categories and predicates",
    "docs/index.html": "the ontology's classes and properties as a web page (pyLODE)",
    "void.ttl": "the dataset description: VoID and DCAT (version, licence, counts, classes, distributions)",
    "README.md": "this file",
    CHECKSUMS: "SHA-256 checksums of every other file (`sha256sum -c SHA256SUMS`)",
}
STREAMED_NOTE = (
    "This release was written streaming from a build of {triples:,} triples by the fast engine, so the files are "
    "pyoxigraph's, not rdflib's: `mscev.ttl` and `mscev-nanopubs.trig` are Turtle and TriG grouped by subject but "
    "not pretty-printed, and `mscev.jsonld` is flat JSON-LD with the project's prefixes as its context (not compacted "
    "with `context.jsonld`), and typed literals are in the canonical form the fast engine writes (`100` for `100.0`). "
    "The graphs, the KGX rows and the VoID counts are those the reference release code makes of the same build.")


@dataclass
class Release:
    out: Path
    version: str
    issued: date
    files: dict[str, int]  # relative path → size in bytes
    triples: int
    findings: int
    streamed: bool = False  # written by mscev.release_streamed (a fast-engine build)


@dataclass
class GraphStatistics:
    """What the VoID description counts, however the graph was read (rdflib terms, or N-Triples text when
    counted by mscev.release_streamed)."""

    triples: int = 0
    findings: int = 0
    subjects: int = 0
    objects: int = 0
    classes: Counter = field(default_factory=Counter)  # class → distinct instances
    properties: Counter = field(default_factory=Counter)  # predicate → triples
    examples: dict = field(default_factory=dict)  # class → its least instance (IRI order)


def write_release(build_dir: Path = DEFAULT_BUILD_DIR, out: Path = DEFAULT_RELEASE_DIR) -> Release:
    """Write the release folder ``out`` from the build in ``build_dir``, atomically.

    A build by the fast engine (millions of triples) is released streaming (mscev.release_streamed), others from
    rdflib graphs, whose Turtle and JSON-LD are pretty-printed and compacted."""
    from mscev.export import streams
    from mscev.query import open_store

    out = Path(out)
    store = open_store(build_dir, checksums=True)  # first "no build", then "cannot write": the default out is in the build
    check_output_folder(out, "the release", [CHECKSUMS])
    check_writable(out.parent.resolve())
    streamed = streams("nt", build_dir)
    graph = None if streamed else built_graph(build_dir)
    version = release_version(graph if graph is not None else _ontology_description(store))
    issued = issued_date()
    with replacing_folder(out, "the release", [CHECKSUMS]) as staging:
        try:
            if streamed:
                from mscev.release_streamed import write_streamed_release

                statistics = write_streamed_release(build_dir, staging, issued, _ontology_files)
            else:
                statistics = _write_from_graph(graph, build_dir, staging, issued)
            sizes = {name: (staging / name).stat().st_size for name in DISTRIBUTIONS}
            (staging / "void.ttl").write_bytes(to_turtle(dataset_description(statistics, sizes, version, issued)))
            result = Release(out, version, issued, {}, statistics.triples, statistics.findings, streamed)
            (staging / "README.md").write_bytes(readme(result).encode("utf-8"))
            names = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
            with ThreadPoolExecutor(2) as hashing:  # hashlib lets go of the GIL: both cores hash
                digests = dict(zip(names, hashing.map(sha256, [staging / name for name in names])))
            (staging / CHECKSUMS).write_text(checksums(digests), encoding="utf-8")
            result.files = {name: (staging / name).stat().st_size for name in sorted([*names, CHECKSUMS])}
            swap_in(staging, out)
        except OSError as error:
            raise MscevError(f"{out}: cannot write the release ({error.strerror or error}); "
                             "the previous one is unchanged") from None
    return result


def _write_from_graph(graph: Graph, build_dir: Path, staging: Path, issued: date) -> GraphStatistics:
    """Every distribution of a curated build's release into ``staging``, from rdflib graphs."""
    from mscev.kgx import kgx_tables

    nanopubs = nanopublications(graph, issued)
    nodes, edges = kgx_tables(graph)
    files: dict[str, bytes] = {
        "mscev.ttl": to_turtle(graph),
        "mscev.nt": to_ntriples(graph),
        "mscev.jsonld": to_jsonld(graph),
        "mscev-inferred.nt": to_ntriples(built_graph(build_dir, inferred=True, asserted=False)),
        "mscev-derived.nt": derived_ntriples(build_dir),
        "mscev-nanopubs.trig": to_trig(nanopubs),
        "mscev-nanopubs.nq": to_nquads(nanopubs),
        "kgx/mscev_nodes.tsv": nodes.encode("utf-8"),
        "kgx/mscev_edges.tsv": edges.encode("utf-8"),
        **_ontology_files(),
    }
    for name, data in files.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(data)
    return graph_statistics(graph)


def _ontology_files() -> dict[str, bytes]:
    """The files that describe the ontology and the formats, the same whatever the size of the graph."""
    from mscev.kgx import mapping_markdown

    return {"mscev-ontology.owl": to_rdfxml(ontology_graph()),
            "context.jsonld": CONTEXT_FILE.read_bytes(),
            "kgx/biolink-mapping.md": mapping_markdown().encode("utf-8"),
            "docs/index.html": ontology_documentation().encode("utf-8")}


def _ontology_description(store) -> Graph:
    """The ontology header's version statements from the build's store (what release_version reads)."""
    from rdflib import OWL, Graph, URIRef

    from mscev.load import to_oxigraph, to_rdflib
    from mscev.query import ASSERTED_GRAPH

    graph = Graph()
    for predicate in (OWL.versionIRI, OWL.versionInfo):
        for quad in store.quads_for_pattern(to_oxigraph(URIRef(ONTOLOGY_IRI)), to_oxigraph(predicate), None, ASSERTED_GRAPH):
            graph.add((URIRef(ONTOLOGY_IRI), predicate, to_rdflib(quad.object)))
    return graph


def graph_statistics(graph: Graph) -> GraphStatistics:
    """What the VoID description counts, from an rdflib graph."""
    from rdflib import RDF

    classes: dict = {}
    for node, cls in graph.subject_objects(RDF.type):
        classes.setdefault(cls, set()).add(node)
    properties = Counter(predicate for _, predicate, _ in graph)
    return GraphStatistics(triples=len(graph), findings=len(findings(graph)), subjects=len(set(graph.subjects())),
                           objects=len(set(graph.objects())), properties=properties,
                           classes=Counter({cls: len(members) for cls, members in classes.items()}),
                           examples={cls: min(members) for cls, members in classes.items()})


def release_version(graph: Graph) -> str:
    """The package version, after checking that the ontology's owl:versionIRI and owl:versionInfo name it."""
    from rdflib import OWL, Literal, URIRef

    version = __version__
    expected_iri, expected_info = URIRef(VERSION_IRI.format(version=version)), Literal(version)
    iris = set(graph.objects(URIRef(ONTOLOGY_IRI), OWL.versionIRI))
    infos = set(graph.objects(URIRef(ONTOLOGY_IRI), OWL.versionInfo))
    if iris != {expected_iri} or infos != {expected_info}:
        raise MscevError(
            f"{ONTOLOGY_FILE}: the ontology's owl:versionIRI ({', '.join(sorted(map(str, iris))) or 'none'}) and "
            f"owl:versionInfo ({', '.join(sorted(map(str, infos))) or 'none'}) must name the package version {version} "
            f"(pyproject.toml): write owl:versionIRI <{expected_iri}> and owl:versionInfo \"{version}\", "
            "then run `mscev build` again", exit_code=1)
    return version


def dataset_description(statistics: GraphStatistics, sizes: dict[str, int], version: str, issued: date) -> Graph:
    """VoID and DCAT: ontology/dataset.ttl plus version, counts, partitions, examples and distributions
    (``sizes``: bytes of each file of DISTRIBUTIONS). The statistics' terms may be rdflib terms or N-Triples text."""
    from rdflib import DCTERMS, OWL, RDF, XSD, BNode, Literal, Namespace, URIRef

    from mscev.load import parse_turtle

    void, dcat = Namespace(prefix_map()["void"]), Namespace(prefix_map()["dcat"])
    mscev, data = Namespace(prefix_map()["mscev"]), Namespace(prefix_map()["mscev-data"])
    description = parse_turtle(DATASET_FILE)
    dataset = data.dataset
    base = RELEASE_BASE.format(version=version)
    description.set((dataset, DCTERMS.issued, Literal(issued.isoformat(), datatype=XSD.date)))
    description.add((dataset, dcat.version, Literal(version)))
    description.add((dataset, OWL.versionInfo, Literal(version)))
    description.add((dataset, DCTERMS.conformsTo, URIRef(VERSION_IRI.format(version=version))))

    def count(n: int) -> Literal:
        return Literal(n, datatype=XSD.integer)

    def node(term):
        return _rdflib_term(term) if type(term) is str else term  # rdflib terms are str too

    for predicate, value in ((void.triples, statistics.triples), (void.classes, len(statistics.classes)),
                             (void.properties, len(statistics.properties)),
                             (void.distinctSubjects, statistics.subjects),
                             (void.distinctObjects, statistics.objects)):
        description.add((dataset, predicate, count(value)))
    for cls, members in statistics.classes.items():
        partition = BNode()
        description.add((dataset, void.classPartition, partition))
        description.add((partition, void["class"], node(cls)))
        description.add((partition, void.entities, count(members)))
    for predicate, triples in statistics.properties.items():
        partition = BNode()
        description.add((dataset, void.propertyPartition, partition))
        description.add((partition, void.property, node(predicate)))
        description.add((partition, void.triples, count(triples)))
    examples = {node(cls): node(member) for cls, member in statistics.examples.items()}
    for cls in (mscev.Finding, mscev.Comparison, mscev.VesiclePreparation, mscev.CellPopulation, mscev.ClinicalTrial):
        if cls in examples:
            description.add((dataset, void.exampleResource, examples[cls]))
    for name, (title, media_type) in DISTRIBUTIONS.items():
        download = URIRef(base + name)
        distribution = BNode()
        description.add((dataset, dcat.distribution, distribution))
        description.add((distribution, RDF.type, dcat.Distribution))
        description.add((distribution, DCTERMS.title, Literal(title)))
        description.add((distribution, dcat.downloadURL, download))
        description.add((distribution, dcat.mediaType, URIRef(IANA + media_type)))
        description.add((distribution, dcat.byteSize, Literal(sizes[name], datatype=XSD.nonNegativeInteger)))
        if media_type not in ("text/tab-separated-values",):
            description.add((dataset, void.dataDump, download))
    return canonical(description)


def ontology_documentation() -> str:
    """The ontology (without its imports) as one HTML page, by pyLODE's OntPub profile.

    Two pyLODE 3.3 quirks are undone here. Importing it sets the root logger to DEBUG with a handler
    (logging.basicConfig in its supermodel loader), so the logging set-up is restored afterwards. And it
    collects the members of owl:unionOf/owl:intersectionOf in a set of HTML elements hashed by identity, so
    their order changes from run to run; its `intersperse` helper (which lays them out) is given them sorted.
    """
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import pylode.utils
    from pylode import OntPub

    root.handlers[:] = handlers
    root.setLevel(level)
    if not getattr(pylode.utils.intersperse, "sorted_members", False):
        unsorted = pylode.utils.intersperse

        def intersperse(members, separator):
            return unsorted(sorted(members, key=str), separator)

        intersperse.sorted_members = True
        pylode.utils.intersperse = intersperse
    from mscev.load import parse_turtle

    return OntPub(ontology=canonical(parse_turtle(ONTOLOGY_FILE)), sort_subjects=True).make_html()


def readme(release: Release) -> str:
    """The release README (templates/release-README.md)."""
    from importlib.resources import files

    rows = [f"| `{name}` | {what} |" for name, (what, _) in DISTRIBUTIONS.items()]
    rows += [f"| `{name}` | {what} |" for name, what in SUPPORT_FILES.items()]
    if release.streamed:
        rows.append("\n" + STREAMED_NOTE.format(triples=release.triples))
    template = Template((files("mscev") / "templates" / "release-README.md").read_text(encoding="utf-8"))
    return template.substitute(version=release.version, issued=release.issued.isoformat(), triples=release.triples,
                               findings=release.findings, files="\n".join(rows),
                               base=RELEASE_BASE.format(version=release.version))


def checksums(digests: dict[str, str]) -> str:
    """`sha256sum` lines for every file (relative path → SHA-256), in path order."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items()))


def _rdflib_term(text: str):
    """An IRI or blank node written in N-Triples (as mscev.release_streamed counts them) as an rdflib term."""
    from rdflib import BNode, URIRef

    return URIRef(text[1:-1]) if text.startswith("<") else BNode(text[2:])
