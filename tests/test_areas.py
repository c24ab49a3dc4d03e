"""Conditions roll up to their organ or system area: a question about an area returns every finding below it.

tests/expected/condition-areas.tsv is the reviewed list of the areas each condition lies in (through verified
MONDO/HP parents or, for project condition classes, by location). The reasoners must place every condition so,
and for every area the stored questions and the web matrix must report exactly the findings whose (asserted)
condition the list puts in that area.
"""

from collections import Counter, defaultdict
from pathlib import Path
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from mscev.build import build
from mscev.namespaces import curie
from mscev.query import open_store, run_query
from mscev.serve import Settings, create_app

EXPECTED = Path(__file__).parent / "expected" / "condition-areas.tsv"
MSCEV = "https://w3id.org/mscev/"
SVG = "{http://www.w3.org/2000/svg}"
PLACEMENT = f"""PREFIX mscev: <{MSCEV}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?condition ?area WHERE {{
  {{ SELECT DISTINCT ?condition WHERE {{ ?statement mscev:condition ?condition }} }}
  OPTIONAL {{ ?area a mscev:ConditionArea . ?condition rdfs:subClassOf+ ?area . }}
}}"""
FINDING_CONDITIONS = f"""PREFIX mscev: <{MSCEV}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?finding ?condition WHERE {{
  VALUES ?curated {{ <{MSCEV}data/graph/asserted> <{MSCEV}data/graph/not-from-body-text> }}
  GRAPH <{MSCEV}data/graph/asserted> {{ ?finding a ?type ; mscev:vesicle ?vesicles }}
  GRAPH ?curated {{ ?finding mscev:condition ?condition }}
  ?type rdfs:subClassOf* mscev:Finding .
}}"""


def expected_areas() -> dict[str, set[str]]:
    """Condition CURIE → the local names of its areas, from the reviewed list."""
    lines = [line for line in EXPECTED.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    header, *rows = [line.split("\t") for line in lines]
    assert header == ["condition", "label", "areas", "route"]
    return {row[0]: set(row[2].split()) for row in rows}


AREAS = sorted({area for areas in expected_areas().values() for area in areas})


def placement(store) -> dict[str, set[str]]:
    placed = defaultdict(set)
    for solution in store.query(PLACEMENT, use_default_graph_as_union=True):
        area = solution["area"]
        placed[curie(solution["condition"].value)] |= {area.value.removeprefix(MSCEV)} if area else set()
    return dict(placed)


def expected_findings(store, area: str) -> Counter:
    """(finding, condition) pairs whose asserted condition the reviewed list puts in ``area``: vesicle findings, since
    the questions ask which sources' vesicles were tested (cell-level findings are about the cells themselves)."""
    areas = expected_areas()
    return Counter((s["finding"].value, curie(s["condition"].value)) for s in store.query(FINDING_CONDITIONS, use_default_graph_as_union=True)
                   if area in areas.get(curie(s["condition"].value), set()))


@pytest.fixture(scope="module")
def store(built):
    return open_store(built.out)


@pytest.fixture(scope="module")
def fast_store(tmp_path_factory):
    fast = build(tmp_path_factory.mktemp("fast-areas") / "build", engine="fast")
    assert fast.ok
    return open_store(fast.out)


@pytest.fixture(scope="module")
def client(built):
    settings = Settings(build_dir=built.out, workers=1, timeout=30, max_rows=10000, max_body=100_000,
                        worker_memory_mb=1024)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_every_area_is_defined_in_the_ontology(store):
    defined = {s["area"].value.removeprefix(MSCEV)
               for s in store.query(f"SELECT ?area WHERE {{ ?area a <{MSCEV}ConditionArea> }}",
                                                        use_default_graph_as_union=True)}
    assert set(AREAS) <= defined


@pytest.mark.reasoner
def test_reference_reasoner_places_every_condition_in_its_areas(store):
    placed = placement(store)
    assert placed == expected_areas()
    assert all(placed.values()), "every condition lies in at least one area"


@pytest.mark.slow
def test_fast_engine_places_conditions_as_the_reference_reasoner(store, fast_store):
    assert placement(fast_store) == placement(store)


@pytest.mark.parametrize("area", AREAS)
def test_sources_by_condition_returns_every_finding_of_the_area(store, area):
    """Per reported condition, the findings the question counts (over all sources) are those the list expects."""
    expected = Counter(condition for _, condition in expected_findings(store, area))
    counted = Counter()
    for solution in run_query("sources-by-condition", {"condition": f"mscev:{area}"}, store=store):
        counted[curie(solution["reportedCondition"].value)] += int(solution["findings"].value)
    assert counted == expected


@pytest.mark.parametrize("area", AREAS)
def test_area_matrix_counts_every_finding_of_the_area_once(store, area):
    findings = {finding for finding, _ in expected_findings(store, area)}
    rows = {s["area"].value.removeprefix(MSCEV): s for s in run_query("area-source-matrix", store=store)}
    if not findings:
        assert area not in rows
        return
    row = rows[area]
    columns = ("boneMarrow", "umbilicalCord", "adipose", "embryonic", "otherSources")
    assert int(row["total"].value) == len(findings)
    assert sum(int(row[column].value) for column in columns) == len(findings)  # one source per finding


def web_totals(client) -> dict[str, int]:
    """Area CURIE → the total the web heat map (/matrix.svg?by=area) shows in its row."""
    root = ElementTree.fromstring(client.get("/matrix.svg", params={"by": "area"}).content)
    totals, current = {}, None
    for element in root:
        title = element.find(f"{SVG}text/{SVG}title")
        if element.tag == f"{SVG}a" and title is not None:
            current = title.text.rsplit("(", 1)[1].rstrip(")")
        elif element.tag == f"{SVG}text" and current and (element.text or "").isdigit():
            totals[current], current = int(element.text), None
    return totals


@pytest.mark.parametrize("area", AREAS)
def test_web_matrix_reports_every_finding_of_the_area(client, store, area):
    findings = {finding for finding, _ in expected_findings(store, area)}
    assert web_totals(client).get(f"mscev:{area}", 0) == len(findings)


def test_web_matrix_by_area_links_each_cell_to_the_area_question(client):
    page = client.get("/matrix", params={"by": "area"}, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "organ or system areas" in page.text
    assert "/queries/sources-by-condition?condition=mscev%3AHeartArea" in page.text
    refused = client.get("/matrix", params={"by": "organ"})
    assert refused.status_code == 400 and "by" in refused.text
