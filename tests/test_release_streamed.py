"""The release of a fast-engine build is written streaming (mscev.release_streamed); it must hold exactly what the
reference release code (mscev.export, mscev.kgx, mscev.release on rdflib graphs) makes of the same build.

The build is the curated graph built by the fast engine, so every kind of node the release treats specially
(comparisons, effects, value origins, trials, blank nodes of the ontology) is in it.
"""

import hashlib
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from mscev.cli import main
from mscev.export import built_graph, issued_date, nanopublications, streams, to_nquads
from mscev.kgx import kgx_tables
from mscev.release import (CHECKSUMS, DISTRIBUTIONS, SUPPORT_FILES, dataset_description, graph_statistics,
                           release_version, to_turtle)


@pytest.fixture(scope="module")
def fast_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fast-curated") / "build"
    assert main(["build", "--engine", "fast", "--out", str(out)]) == 0
    assert streams("nt", out)
    return out


@pytest.fixture(scope="module")
def streamed(fast_build, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("streamed") / "release"
    assert main(["release", "--build", str(fast_build), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def graph(fast_build) -> Graph:
    return built_graph(fast_build)


def canonical_quads(data: bytes, fmt: ox.RdfFormat) -> set[str]:
    dataset = ox.Dataset(ox.parse(data, format=fmt))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(quad) for quad in dataset}


@pytest.mark.parametrize("name, fmt", [("mscev-nanopubs.nq", ox.RdfFormat.N_QUADS),
                                       ("mscev-nanopubs.trig", ox.RdfFormat.TRIG)])
def test_nanopublications_are_those_of_the_reference_code(streamed, graph, name, fmt):
    expected = canonical_quads(to_nquads(nanopublications(graph, issued_date())), ox.RdfFormat.N_QUADS)
    actual = canonical_quads((streamed / name).read_bytes(), fmt)
    assert len(expected) > 10_000
    assert sorted(expected - actual)[:5] == [] and sorted(actual - expected)[:5] == []


def test_nquads_are_sorted_by_line(streamed):
    lines = (streamed / "mscev-nanopubs.nq").read_bytes().splitlines()
    assert lines == sorted(set(lines))


def test_kgx_tables_are_those_of_the_reference_code(streamed, graph):
    nodes, edges = kgx_tables(graph)
    assert (streamed / "kgx" / "mscev_nodes.tsv").read_text(encoding="utf-8") == nodes
    assert (streamed / "kgx" / "mscev_edges.tsv").read_text(encoding="utf-8") == edges


def test_dataset_description_is_that_of_the_reference_code(streamed, graph):
    sizes = {name: (streamed / name).stat().st_size for name in DISTRIBUTIONS}
    expected = to_turtle(dataset_description(graph_statistics(graph), sizes, release_version(graph), issued_date()))
    assert (streamed / "void.ttl").read_bytes() == expected


@pytest.mark.parametrize("name, fmt", [("mscev.ttl", "turtle"), ("mscev.jsonld", "json-ld"), ("mscev.nt", "nt"),
                                       ("mscev-inferred.nt", "nt")])
def test_graph_files_hold_the_built_graph(streamed, fast_build, name, fmt):
    expected = built_graph(fast_build, inferred=name == "mscev-inferred.nt", asserted=name != "mscev-inferred.nt")
    actual = Graph().parse(streamed / name, format=fmt)
    assert len(actual) == len(expected) > 0
    assert canonical_quads(actual.serialize(format="nt", encoding="utf-8"), ox.RdfFormat.N_TRIPLES) == \
        canonical_quads(expected.serialize(format="nt", encoding="utf-8"), ox.RdfFormat.N_TRIPLES)


def test_files_checksums_and_readme(streamed, fast_build):
    files = {p.relative_to(streamed).as_posix() for p in streamed.rglob("*") if p.is_file()}
    assert files == {*DISTRIBUTIONS, *SUPPORT_FILES}
    sums = dict(reversed(line.split("  ", 1)) for line in (streamed / CHECKSUMS).read_text().splitlines())
    assert set(sums) == files - {CHECKSUMS}
    assert all(hashlib.sha256((streamed / name).read_bytes()).hexdigest() == digest for name, digest in sums.items())
    assert (streamed / "mscev.nt").read_bytes() == (fast_build / "graph.nt").read_bytes()
    assert "written streaming" in (streamed / "README.md").read_text(encoding="utf-8")
    assert not [p for p in streamed.parent.iterdir() if p.name not in ("release", ".release.lock")], "no staging left"


def test_the_same_build_gives_the_same_bytes(streamed, fast_build, tmp_path):
    again = tmp_path / "release"
    assert main(["release", "--build", str(fast_build), "--out", str(again)]) == 0
    assert (again / CHECKSUMS).read_bytes() == (streamed / CHECKSUMS).read_bytes()


def test_triples_index_answers_as_the_graph_does(fast_build):
    """The dictionaries KGX reads its edges from (graph.nt read as text) give what an rdflib graph of graph.nt as
    pyoxigraph parses it gives (blank node labels kept), for every predicate the edges read: IRIs, blank nodes and
    literals (labels with quotes, escapes, languages) alike."""
    from rdflib import URIRef

    from mscev.kgx import edge_predicates
    from mscev.load import to_rdflib
    from mscev.release_streamed import TriplesIndex

    graph = Graph()
    for quad in ox.parse(path=str(fast_build / "graph.nt"), format=ox.RdfFormat.N_TRIPLES):
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    index = TriplesIndex(fast_build / "graph.nt", edge_predicates())
    for predicate in map(URIRef, sorted(edge_predicates())):
        pairs = sorted(graph.subject_objects(predicate))
        assert sorted(index.subject_objects(predicate)) == pairs
        for subject, obj in pairs[:200]:
            assert sorted(index.objects(subject, predicate)) == sorted(graph.objects(subject, predicate))
            assert sorted(index.subjects(predicate, obj)) == sorted(graph.subjects(predicate, obj))
    assert len(list(index.subject_objects(URIRef("http://www.w3.org/2000/01/rdf-schema#label")))) > 100


def test_derived_graphs_are_those_of_the_store(streamed, fast_build):
    """mscev-derived.nt is written from the build's direct.ttl and summaries.ttl: the same lines as the store's
    derived graphs give (mscev.export.derived_ntriples, the curated release's)."""
    from mscev.export import derived_ntriples

    expected = derived_ntriples(fast_build)
    assert expected.count(b"\n") > 1000
    assert (streamed / "mscev-derived.nt").read_bytes() == expected
