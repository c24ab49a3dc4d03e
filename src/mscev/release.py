"""Release stage: every export of the built graph in one versioned, described and checksummed folder.

The folder is written to a temporary sibling and swapped in whole (as the build is), so a failed release
leaves the previous one untouched. The same build and version give byte-identical files: the date in them is
the version's release date (see mscev.export.issued_date), never the clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from mscev import __version__
from mscev.atomic import check_output_folder, check_writable, replacing_folder, swap_in
from mscev.errors import MscevError
from mscev.export import (CONTEXT_FILE, DATASET_FILE, built_graph, canonical, derived_ntriples, findings, issued_date, nanopublications,
                          ontology_graph, to_jsonld, to_nquads, to_ntriples, to_rdfxml, to_trig, to_turtle)
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


@dataclass
class Release:
    out: Path
    version: str
    issued: date
    files: dict[str, int]  # relative path → size in bytes
    triples: int
    findings: int


def write_release(build_dir: Path = DEFAULT_BUILD_DIR, out: Path = DEFAULT_RELEASE_DIR) -> Release:
    """Write the release folder ``out`` from the build in ``build_dir``, atomically."""
    from mscev.kgx import kgx_tables, mapping_markdown

    from mscev.query import open_store

    out = Path(out)
    open_store(build_dir, checksums=True)  # first "no build", then "cannot write": the default out is in the build
    check_output_folder(out, "the release", [CHECKSUMS])
    check_writable(out.parent.resolve())
    graph = built_graph(build_dir)
    version = release_version(graph)
    issued = issued_date()
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
        "mscev-ontology.owl": to_rdfxml(ontology_graph()),
        "kgx/mscev_nodes.tsv": nodes.encode("utf-8"),
        "kgx/mscev_edges.tsv": edges.encode("utf-8"),
        "context.jsonld": CONTEXT_FILE.read_bytes(),
        "kgx/biolink-mapping.md": mapping_markdown().encode("utf-8"),
        "docs/index.html": ontology_documentation().encode("utf-8"),
    }
    files["void.ttl"] = to_turtle(dataset_description(graph, files, version, issued))
    result = Release(out, version, issued, {}, len(graph), len(findings(graph)))
    files["README.md"] = readme(result).encode("utf-8")
    files[CHECKSUMS] = checksums(files).encode("utf-8")
    result.files = {name: len(data) for name, data in sorted(files.items())}
    _write_folder(out, files)
    return result


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


def dataset_description(graph: Graph, files: dict[str, bytes], version: str, issued: date) -> Graph:
    """VoID and DCAT: ontology/dataset.ttl plus version, counts, partitions, examples and distributions."""
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

    classes: dict = {}
    for node, cls in graph.subject_objects(RDF.type):
        classes.setdefault(cls, set()).add(node)
    properties: dict = {}
    for _, predicate, _ in graph:
        properties[predicate] = properties.get(predicate, 0) + 1
    for predicate, value in ((void.triples, len(graph)), (void.classes, len(classes)),
                             (void.properties, len(properties)),
                             (void.distinctSubjects, len(set(graph.subjects()))),
                             (void.distinctObjects, len(set(graph.objects())))):
        description.add((dataset, predicate, count(value)))
    for cls, members in classes.items():
        partition = BNode()
        description.add((dataset, void.classPartition, partition))
        description.add((partition, void["class"], cls))
        description.add((partition, void.entities, count(len(members))))
    for predicate, triples in properties.items():
        partition = BNode()
        description.add((dataset, void.propertyPartition, partition))
        description.add((partition, void.property, predicate))
        description.add((partition, void.triples, count(triples)))
    for cls in (mscev.Finding, mscev.Comparison, mscev.VesiclePreparation, mscev.CellPopulation, mscev.ClinicalTrial):
        if classes.get(cls):
            description.add((dataset, void.exampleResource, min(classes[cls])))
    for name, (title, media_type) in DISTRIBUTIONS.items():
        download = URIRef(base + name)
        distribution = BNode()
        description.add((dataset, dcat.distribution, distribution))
        description.add((distribution, RDF.type, dcat.Distribution))
        description.add((distribution, DCTERMS.title, Literal(title)))
        description.add((distribution, dcat.downloadURL, download))
        description.add((distribution, dcat.mediaType, URIRef(IANA + media_type)))
        description.add((distribution, dcat.byteSize, Literal(len(files[name]), datatype=XSD.nonNegativeInteger)))
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
    template = Template((files("mscev") / "templates" / "release-README.md").read_text(encoding="utf-8"))
    return template.substitute(version=release.version, issued=release.issued.isoformat(), triples=release.triples,
                               findings=release.findings, files="\n".join(rows),
                               base=RELEASE_BASE.format(version=release.version))


def checksums(files: dict[str, bytes]) -> str:
    """`sha256sum` lines for every file, in path order."""
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items()))


def _write_folder(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into a staging folder, then swap it in place of ``out``."""
    with replacing_folder(out, "the release", [CHECKSUMS]) as staging:
        try:
            for name, data in files.items():
                path = staging / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            swap_in(staging, out)
        except OSError as error:
            raise MscevError(f"{out}: cannot write the release ({error.strerror or error}); "
                             "the previous one is unchanged") from None
