"""HermiT over the ontology and data: the real graph is consistent, and the axioms do real work."""

import pytest
from rdflib import RDF, URIRef

from mscev.load import load_graph
from mscev.namespaces import MSCEV
from mscev.reason import java_available, reason

from conftest import FIXTURES

pytestmark = [pytest.mark.reasoner,
              pytest.mark.skipif(not java_available(), reason="Java is not installed (CI installs it)")]
REASONING = FIXTURES / "reasoning"


def with_fixture(name: str):
    return reason(load_graph(extra=[REASONING / name]).graph)


def test_curated_graph_is_consistent(built):
    assert built.reasoning is not None and built.reasoning.consistent
    assert built.reasoning.unsatisfiable == []


def test_cell_described_by_tissue_is_classified_under_its_source():
    result = with_fixture("wharton-cell.ttl")
    cell = URIRef("https://w3id.org/mscev/data/cell/fx-unlabelled-wj")
    types = set(result.inferred.objects(cell, RDF.type))
    assert MSCEV.WhartonsJellyMSC in types
    assert MSCEV.UmbilicalCordMSC in types, "Wharton's jelly MSCs are umbilical cord MSCs"


@pytest.mark.parametrize("name", ["exosome-and-microvesicle.ttl", "exosome-500nm.ttl", "beneficial-and-harmful.ttl"])
def test_contradictions_are_inconsistent(name):
    assert not with_fixture(name).consistent
