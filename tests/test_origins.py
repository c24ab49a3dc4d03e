"""Every value says where it comes from (ontology/README.md, "Value origins"; triples/README.md, species rule).

A finding's value that is not from the review's body text (its sentence or, by the rule, its paragraph) has a
mscev:ValueOrigin: the findings export names it, `--body-text-only` drops exactly those values, entity pages
mark them, and nanopublications carry the origins in their provenance graph.
"""

import csv
import io
import re

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from rdflib import RDF, RDFS, Literal, Namespace, URIRef

from mscev.cli import main
from mscev.export import nanopublication_iri, nanopublications
from mscev.query import NOT_FROM_BODY_GRAPH, open_store, query_graphs, run_query
from mscev.serve import Settings, create_app

M = Namespace("https://w3id.org/mscev/")
DCT = Namespace("http://purl.org/dc/terms/")
SOURCE_TEXT = "source/cai-2020-cell-biosci.txt"
# What the body text must say for a value to count as stated there, by value: the test fails on a value it does not
# know, so a new kind of value is looked at once.
CUES = {
    "http://purl.obolibrary.org/obo/NCBITaxon_10090": r"\bmice\b|\bmouse\b",
    "http://purl.obolibrary.org/obo/NCBITaxon_10116": r"\brats?\b",
    "http://purl.obolibrary.org/obo/NCBITaxon_8090": r"\bmedaka\b",
    str(M.InVitro): r"in vitro|extracorporeal|cells \(|RAW264|TUBO|culture",
    str(M.AnimalModel): r"\bmice\b|\bmouse\b|\brats?\b|in vivo|experimental",
    str(M.HumanStudy): r"\btrials?\b|\bpatients\b",
    "http://purl.obolibrary.org/obo/OBI_0000994": r"intravenous",
    "http://purl.obolibrary.org/obo/OBI_0000281": r"intraperitoneal",
    "http://purl.obolibrary.org/obo/OBI_0000983": r"nasal",
    "http://purl.obolibrary.org/obo/OBI_0003556": r"topical",
    "https://w3id.org/mscev/data/route/systemic-infusion": r"systemic infusion",
    "https://w3id.org/mscev/data/route/systemic-administration": r"systemic administration",
    "https://w3id.org/mscev/data/route/intramyocardial-injection": r"myocardium",
    "https://w3id.org/mscev/data/route/intracerebral-injection": r"intracerebral",
}
CHECKED = (M.studyModel, M.modelOrganism, M.route)


@pytest.fixture(scope="module")
def store(built):
    return open_store(built.out)


def findings(graph):
    return {f for f in graph.subjects(RDF.type, M.Finding)} | {f for f in graph.subjects(RDF.type, M.Comparison)}


def origins(graph):
    """(owner, property, value) → its origin nodes, for every value origin of the graph (the owner is a finding, an
    effect or a cargo evidence). A value can have two: a finding citing two studies whose titles both give it."""
    found = {}
    for f, o in graph.subject_objects(M.valueOrigin):
        found.setdefault((f, graph.value(o, M.originProperty), graph.value(o, M.originValue)), []).append(o)
    return found


def findings_of(graph, owner):
    """The findings whose row shows a value of ``owner``: itself, its finding (an effect), those it supports (cargo)."""
    if owner in findings(graph):
        return {owner}
    return set(graph.subjects(M.hasEffect, owner)) | set(graph.objects(owner, M.supportsFinding))


def study_quotes(graph, finding):
    """The quotes of the finding and of the other findings of its study in the same section (its paragraph)."""
    refs = set(graph.objects(finding, M.citedStudy))
    section = graph.value(finding, M.reviewSection)
    same_study = {f for f in findings(graph) if set(graph.objects(f, M.citedStudy)) == refs
                  and graph.value(f, M.reviewSection) == section}
    return " ".join(str(q) for f in same_study | {finding} for q in graph.objects(f, M.evidenceQuote))


def test_every_value_origin_describes_a_value_of_its_finding(loaded_graph):
    graph = loaded_graph.graph
    marked = origins(graph)
    assert marked, "triples/origins.ttl gives no value origins"
    for (finding, prop, value), nodes in marked.items():
        assert (finding, prop, value) in graph, f"{nodes}: {finding} has no {prop} {value}"


def test_no_value_from_a_title_or_table_is_left_unmarked(loaded_graph):
    """A study model, model organism or route is either said in the finding's study quotes or marked with its origin;
    a condition equal to its Table 2 row's is said in the quotes (a disease word of the row) or marked."""
    graph = loaded_graph.graph
    marked = origins(graph)
    unmarked = []
    for finding in findings(graph):
        quotes = study_quotes(graph, finding)
        for prop in CHECKED:
            for value in graph.objects(finding, prop):
                assert str(value) in CUES, f"{finding} {prop}: no cue known for {value}; add one to CUES"
                if (finding, prop, value) not in marked and not re.search(CUES[str(value)], quotes, re.I):
                    unmarked.append((finding, prop, value))
    for row in graph.subjects(RDF.type, M.TableStatement):
        disease = str(graph.value(row, RDFS.label)).split(" — ")[1].lower()
        words = [w for w in re.findall(r"[a-z'’-]{5,}", disease) if w not in ("injury", "disease", "diseases")]
        initials = "".join(w[0] for w in re.split(r"[\s-]+", disease) if w)  # "EAE", "GVHD"
        words += [f" {initials} "] if len(initials) > 2 else []
        for study in graph.objects(row, M.citedStudy):
            for finding in set(graph.subjects(M.citedStudy, study)) & findings(graph):
                for condition in set(graph.objects(row, M.condition)) & set(graph.objects(finding, M.condition)):
                    quotes = re.sub(r"\W+", " ", f" {study_quotes(graph, finding)} ").lower()
                    said = any(w in quotes for w in words) or not words
                    if not said and (finding, M.condition, condition) not in marked:
                        unmarked.append((finding, M.condition, condition))
    assert not unmarked, "values neither in the body text nor marked with their origin:\n" + "\n".join(map(str, unmarked))


def test_reference_title_origins_quote_the_title_of_the_cited_reference(loaded_graph):
    graph = loaded_graph.graph
    text = open(SOURCE_TEXT, encoding="utf-8").read()
    for origin in graph.subjects(M.originSource, M.ReferenceListEntry):
        title = str(graph.value(origin, M.evidenceQuote))
        study = graph.value(origin, M.citedStudy)
        assert title == str(graph.value(study, DCT.title)), origin
        number = graph.value(study, M.referenceNumber)
        assert re.search(rf"^\s+{number}\. .*{re.escape(title)}", text, re.M), f"{origin}: not in the reference list"


def test_findings_export_names_exactly_the_values_not_from_the_body_text(store, loaded_graph):
    graph = loaded_graph.graph

    def label(node):
        return str(graph.value(node, RDFS.label)) if not isinstance(node, Literal) else str(node)

    expected = {}
    for (finding, prop, value), nodes in origins(graph).items():
        for origin in nodes:
            row = graph.value(origin, M.originRow)
            where = str(graph.value(row, M.tableLocation)) if row is not None else \
                f"title of ref {graph.value(graph.value(origin, M.citedStudy), M.referenceNumber)}"
            for shown_in in findings_of(graph, finding):
                expected.setdefault(str(graph.value(shown_in, RDFS.label)), set()).add(
                    f"{label(prop)}: {label(value)} ({where})")
    rows = run_query("findings", store=store)
    assert "not_from_body_text" in [v.value for v in rows.variables]
    seen = {}
    for row in rows:
        if row["not_from_body_text"].value:  # an empty string for a finding whose values all come from the body text
            seen[row["finding"].value] = set(row["not_from_body_text"].value.split("; "))
    assert seen == expected
    not_in_rows = {owner for owner, _prop, _value in origins(graph) if not findings_of(graph, owner)}
    assert all((owner, RDF.type, M.MicroRNA) in graph for owner in not_in_rows), "only a molecule's target has no row"


def test_body_text_only_leaves_out_exactly_the_marked_values(store, loaded_graph):
    marked = {(str(f), str(p), v.n3() if isinstance(v, Literal) else str(v)) for f, p, v in origins(loaded_graph.graph)}

    def triples(**graphs):
        return {(t["s"].value, t["p"].value, str(t["o"]) if isinstance(t["o"], ox.Literal) else t["o"].value)
                for t in store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", **graphs)}

    for inferred in (True, False):
        everything = triples(**query_graphs(inferred))
        body_only = triples(**query_graphs(inferred, body_text_only=True))
        assert body_only < everything
        assert everything - body_only == marked
    assert len(list(store.quads_for_pattern(None, None, None, NOT_FROM_BODY_GRAPH))) == len(marked)


def test_body_text_only_switch_of_mscev_query(built, capsys):
    def findings_csv(*options):
        assert main(["query", "findings", "-f", "csv", "--build", str(built.out), *options]) == 0
        return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))

    full, body_only = findings_csv(), findings_csv("--body-text-only")
    assert len(full) == len(body_only)
    assert any(row["not_from_body_text"] for row in full)
    assert not any(row["not_from_body_text"] for row in body_only)
    cadmium = [row for row in full if "ref 31" in row["not_from_body_text"]]
    assert cadmium and all(row["model"] == "animal model" for row in cadmium)
    assert all(row["model"] == "" for row in body_only if row["finding"] in {r["finding"] for r in cadmium})


def test_body_text_only_is_refused_on_an_endpoint(capsys):
    assert main(["query", "findings", "--body-text-only", "--endpoint", "http://127.0.0.1:9/sparql"]) == 2
    assert "--body-text-only" in capsys.readouterr().err


def test_entity_page_marks_the_values_not_from_the_body_text(built):
    settings = Settings(build_dir=built.out, workers=1, timeout=10)
    with TestClient(create_app(settings)) as client:
        page = client.get("/data/finding/ref31-cadmium-organ-repair", headers={"Accept": "text/html"}).text
        marks = re.findall(r'<a class="badge origin" href="([^"]+)"[^>]*>not in body text: ([^<]+)</a>', page)
        assert sorted(marks) == [("/data/origin/ref31-cadmium-organ-repair-model-organism",
                                  "from the title of ref 31 in the reference list"),
                                 ("/data/origin/ref31-cadmium-organ-repair-study-model",
                                  "from the title of ref 31 in the reference list")]
        table = client.get("/data/finding/ref37-mouse-vs-human-ev-tissue-regeneration", headers={"Accept": "text/html"}).text
        assert table.count("not in body text: from Table 2, row 7") == 2
        effect = client.get("/data/finding/ref48-mir214-oxidative-damage", headers={"Accept": "text/html"}).text
        assert effect.count("not in body text: from the title of ref 48 in the reference list") == 1  # the effect's target
        plain = client.get("/data/finding/ref35-agvhd-survival", headers={"Accept": "text/html"}).text
        assert 'class="badge origin" href' not in plain
        answer = client.get("/queries/animal-models?format=csv&body-text-only=true").text
        medaka = "NCBITaxon_8090"
        assert medaka not in answer and medaka in client.get("/queries/animal-models?format=csv").text


def test_nanopublications_carry_value_origins_in_their_provenance(loaded_graph):
    from datetime import date

    graph = loaded_graph.graph
    dataset = nanopublications(graph, date(2026, 1, 1))
    checked = 0
    for (owner, _prop, _value), nodes in origins(graph).items():
        if (owner, RDF.type, M.CargoEvidence) in graph or (owner, RDF.type, M.MicroRNA) in graph:
            continue  # cargo evidence and molecules are background, not part of a nanopublication
        (finding,) = findings_of(graph, owner)
        provenance = dataset.graph(URIRef(nanopublication_iri(finding) + "#provenance"))
        for origin in nodes:
            assert (owner, M.valueOrigin, origin) in provenance
            assert set(graph.predicate_objects(origin)) == set(provenance.predicate_objects(origin))
            checked += 1
    assert checked


# ---------------------------------------------------------------- the species rule (triples/README.md)

HUMAN_NAME = re.compile(r"\bhuman ([\w -]+?) mesenchymal stem cells \((\w+-MSCs)\)|\b[hH](uc|UC|BM|AD)-MSCs")
OTHER_SPECIES = re.compile(r"\b(mouse|murine|mice|rats?|mBM|mMSCs?)\b")
SOURCE_CLASS = {"bone marrow": M.BoneMarrowMSC, "bm": M.BoneMarrowMSC, "adipose": M.AdiposeMSC, "ad": M.AdiposeMSC,
                "umbilical cord": M.UmbilicalCordMSC, "uc": M.UmbilicalCordMSC}


def test_a_paragraph_that_names_human_cells_gives_human_to_its_findings(loaded_graph):
    """A paragraph naming one source as human (and no other species) makes the findings quoted from it, whose
    vesicles come from that source, human: refs 84-87 (AD) and 72-73 (UC) were once 'species not stated'."""
    graph = loaded_graph.graph
    paragraphs = [p for p in open(SOURCE_TEXT, encoding="utf-8").read().split("\n\n") if len(p) > 200]
    checked = 0
    for paragraph in paragraphs:
        if OTHER_SPECIES.search(paragraph):
            continue
        named = {cls for match in HUMAN_NAME.finditer(paragraph) for key, cls in SOURCE_CLASS.items()
                 if key in (match.group(1) or match.group(3) or match.group(2)).lower()}
        for finding in findings(graph):
            quotes = [str(q) for q in graph.objects(finding, M.evidenceQuote)]
            if not all(q in paragraph for q in quotes):
                continue
            for cells in graph.objects(graph.value(finding, M.vesicle), M.producedBy):
                if set(graph.objects(cells, RDF.type)) & named:
                    checked += 1
                    assert (cells, M.inTaxon, URIRef("http://purl.obolibrary.org/obo/NCBITaxon_9606")) in graph, \
                        f"{finding}: its paragraph names these cells as human, but {cells} has no species"
    assert checked >= 16
