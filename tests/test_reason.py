"""Reasoning does real work on this graph: consistency, classification, chains, explanations, two profiles."""

import pytest
from rdflib import RDF, RDFS, URIRef

from mscev.cli import main
from mscev.load import load_graph
from mscev.namespaces import MSCEV
from mscev.query import rows, run_query
from mscev.reason import reason

from conftest import FIXTURES

REASONING = FIXTURES / "reasoning"
CONTRADICTIONS = {
    "exosome-and-microvesicle.ttl": ["prep:fx-both", "GO:0070062", "GO:1990742", "AllDisjointClasses"],
    "exosome-500nm.ttl": ["prep:fx-big-exosome", "mscev:maxDiameterNm", "500", "<= 200"],
    "beneficial-and-harmful.ttl": ["finding:fx-both-outcomes", "mscev:outcome", "functional"],
}


def with_fixture(name: str, profile: str = "dl"):
    return reason(load_graph(extra=[REASONING / name]).graph, profile)


@pytest.mark.reasoner
def test_curated_graph_is_consistent(built):
    assert built.reasoning is not None and built.reasoning.consistent
    assert built.reasoning.unsatisfiable == []


@pytest.mark.reasoner
def test_cell_described_by_tissue_is_classified_under_its_source():
    result = with_fixture("wharton-cell.ttl")
    cell = URIRef("https://w3id.org/mscev/data/cell/fx-unlabelled-wj")
    types = set(result.inferred.objects(cell, RDF.type))
    assert MSCEV.WhartonsJellyMSC in types
    assert MSCEV.UmbilicalCordMSC in types, "Wharton's jelly MSCs are umbilical cord MSCs"
    assert URIRef("http://purl.obolibrary.org/obo/CL_0002569") in types, "CL: mesenchymal stem cell of umbilical cord"


@pytest.mark.reasoner
@pytest.mark.parametrize("name", sorted(CONTRADICTIONS))
def test_contradictions_are_inconsistent_with_an_explanation(name):
    result = with_fixture(name)
    assert not result.consistent
    text = " ".join(result.explanation)
    for needle in CONTRADICTIONS[name]:
        assert needle in text, text


@pytest.mark.parametrize("name", sorted(CONTRADICTIONS))
def test_rl_profile_catches_the_same_contradictions(name):
    result = with_fixture(name, "rl")
    assert not result.consistent
    assert CONTRADICTIONS[name][0] in " ".join(result.explanation)


@pytest.mark.reasoner
def test_property_chain_derives_candidate_mechanisms(built):
    derived = list(built.reasoning.inferred.triples((None, MSCEV.potentiallyModulates, None)))
    assert derived, "carries o targets o actsInPathway should derive mscev:potentiallyModulates"
    for preparation, _, pathway in derived:
        assert (preparation, MSCEV.potentiallyModulates, pathway) not in built.loaded.graph


@pytest.mark.reasoner
def test_stored_query_is_richer_with_reasoning(built):
    from mscev.query import open_store

    store = open_store(built.out)
    with_inference = rows(run_query("inferred-mechanisms", store=store))
    without = rows(run_query("inferred-mechanisms", store=store, inferred=False))
    assert without == [] and len(with_inference) >= 1


@pytest.mark.reasoner
def test_rl_closure_agrees_with_hermit_on_individuals(built):
    """OWL 2 RL covers the class memberships and property values HermiT derives here."""
    rl = reason(built.loaded.graph, "rl")
    hermit_abox = {t for t in built.reasoning.inferred if t[1] != RDFS.subClassOf}
    rl_abox = {t for t in rl.inferred if t[1] != RDFS.subClassOf}
    missing = hermit_abox - rl_abox
    assert not missing, sorted(missing)[:20]


def test_reason_without_java_exits_2(monkeypatch, capsys):
    monkeypatch.setattr("mscev.reason.shutil.which", lambda name: None)
    assert main(["reason"]) == 2
    assert "Java is required" in capsys.readouterr().err


def test_unknown_profile_exits_2(capsys):
    assert main(["reason", "--profile", "el"]) == 2


@pytest.mark.reasoner
def test_reason_command_reports_and_explains(capsys):
    assert main(["reason", str(REASONING / "exosome-500nm.ttl")]) == 1
    assert "prep:fx-big-exosome" in capsys.readouterr().err


@pytest.mark.reasoner
def test_rl_inferences_replace_hermits_only_when_asked(built, tmp_path, capsys):
    """`reason --profile rl` on a HermiT build leaves the build alone unless --replace; after it, queries say so."""
    import json
    import shutil

    out = tmp_path / "build"
    shutil.copytree(built.out, out)
    before = (out / "inferred.ttl").read_bytes()
    assert main(["reason", "--profile", "rl", "--build", str(out)]) == 0
    assert "Add --replace to replace them" in capsys.readouterr().out.replace("\n", " ")
    assert (out / "inferred.ttl").read_bytes() == before
    assert json.loads((out / "summary.json").read_text())["reasoner"].startswith("HermiT")
    assert main(["reason", "--profile", "rl", "--build", str(out), "--replace"]) == 0
    assert (out / "inferred.ttl").read_bytes() != before
    assert json.loads((out / "summary.json").read_text())["reasoner"].startswith("OWL 2 RL")
    assert main(["query", "graph-summary", "--build", str(out)]) == 0
    assert "inferences: OWL 2 RL" in capsys.readouterr().out.replace("\n", " ")
    assert main(["reason", "--build", str(out)]) == 0  # HermiT again over an RL build: also needs --replace
    assert "Add --replace" in capsys.readouterr().out.replace("\n", " ")

def test_punned_class_keeps_its_inferred_superclass():
    """A class also used as a value (a condition) is classified like any class: its superclass is a subClassOf link."""
    result = with_fixture("punned-class-superclass.ttl")
    renal, area = MSCEV.FxRenalInjury, MSCEV.FxKidneyArea
    assert (renal, RDFS.subClassOf, area) in result.inferred
    assert (renal, RDF.type, area) not in result.inferred
