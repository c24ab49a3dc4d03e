"""The findings table (/findings, mscev.web.findings): paging, sorting, every filter, downloads and links, with its
counts checked against the stored queries and the store; and the heat map, whose every cell opens the findings
it counts."""

import asyncio
import csv
import html
import io
import json
import re
from urllib.parse import parse_qs, urlparse
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from mscev.query import open_store, run_query
from mscev.serve import Settings, create_app
from mscev.errors import MscevError
from mscev.web.findings import SORT_KEYS, Filters, findings_table, read_paging
from mscev.web.site import web_query

MSCEV = "https://w3id.org/mscev/"
SVG = "{http://www.w3.org/2000/svg}"
HTML = {"Accept": "text/html"}
PREFIXES = f"PREFIX mscev: <{MSCEV}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
ALL_FINDINGS = PREFIXES + "SELECT DISTINCT ?finding WHERE { ?finding a/rdfs:subClassOf* mscev:Finding }"
OSTEOARTHRITIS = "http://purl.obolibrary.org/obo/MONDO_0005178"
ROW = re.compile(r'<td class="finding"><a href="([^"]+)">')
REFERENCE_LINK = re.compile(r'<td class="refs">(.*?)</td>', re.S)
COUNT = re.compile(r'<p class="count"><strong>(\d+)</strong>')


@pytest.fixture(scope="module")
def store(built):
    return open_store(built.out)


@pytest.fixture(scope="module")
def client(built):
    settings = Settings(build_dir=built.out, workers=2, timeout=30, max_rows=10_000, worker_memory_mb=1024)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def page(client, **params):
    response = client.get("/findings", params=params, headers=HTML)
    assert response.status_code == 200, response.text
    return response.text


def total(client, **params) -> int:
    return int(COUNT.search(page(client, **params)).group(1))


def finding_paths(text: str) -> list[str]:
    return [html.unescape(href) for href in ROW.findall(text)]


def downloaded(client, **params) -> list[dict]:
    response = client.get("/findings", params={**params, "format": "json"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    return json.loads(response.content)


def selected(store, query: str) -> set[str]:
    return {s["finding"].value for s in store.query(PREFIXES + query, use_default_graph_as_union=True)}


# ---------------------------------------------------------------- paging, sorting, links


def test_the_first_page_counts_every_finding_and_shows_a_page_of_them(client, store):
    summary = next(iter(run_query("graph-summary", store=store)))
    text = page(client)
    assert int(COUNT.search(text).group(1)) == int(summary["findings"].value) == len(selected(store, ALL_FINDINGS[len(PREFIXES):]))
    assert len(finding_paths(text)) == 25
    assert 'aria-label="pages"' in text and "next ›" in text


def test_the_pages_hold_every_finding_once(client, store):
    seen = []
    for offset in range(0, total(client) + 40, 40):  # one page past the last: empty
        seen += finding_paths(page(client, limit=40, offset=offset))
    expected = {iri.removeprefix(MSCEV.rstrip("/")) for iri in selected(store, ALL_FINDINGS[len(PREFIXES):])}
    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == expected


def test_page_links_lead_to_the_next_and_last_pages(client):
    text = page(client, limit=50, offset=50, sort="condition")
    links = {html.unescape(m.group(2)): parse_qs(urlparse(html.unescape(m.group(1))).query)
             for m in re.finditer(r'<a href="(/findings\?[^"]+)">([^<]+)</a>', text)}
    assert links["next ›"]["offset"] == ["100"] and links["‹ previous"]["offset"] == ["0"]
    assert links["last »"]["offset"] == ["150"] and links["next ›"]["sort"] == ["condition"]
    assert '<span class="current" aria-current="page">2</span>' in text


@pytest.mark.parametrize("column", SORT_KEYS)
def test_sorting_by_every_column_orders_the_pages_and_the_downloads(client, column):
    field = {"reference": "references", "finding": "label", "source": "sources", "preparation": "preparations",
             "subtype": "ev_subtypes",
             "condition": "conditions", "outcome": "outcome", "effects": "effects"}[column]
    for order in ("asc", "desc"):
        records = downloaded(client, sort=column, order=order)
        values = [r[field] for r in records if r[field]]  # empty values go last either way
        if column == "reference":
            values = [int(v.split(";")[0]) for v in values]
        else:
            values = [v.casefold() for v in values]
        assert values == sorted(values, reverse=order == "desc"), (column, order)
        shown = finding_paths(page(client, sort=column, order=order, limit=30))
        assert shown == [r["finding"].removeprefix(MSCEV.rstrip("/")) for r in records[:30]]


def test_a_heading_sorts_and_a_second_click_reverses(client):
    text = page(client)
    link = re.search(r'data-column="outcome"><a href="([^"]+)"', text).group(1)
    assert parse_qs(urlparse(html.unescape(link)).query)["order"] == ["asc"]
    text = page(client, sort="outcome", order="asc")
    assert 'data-column="outcome" aria-sort="ascending"' in text
    link = re.search(r'data-column="outcome" aria-sort="ascending"><a href="([^"]+)"', text).group(1)
    assert parse_qs(urlparse(html.unescape(link)).query)["order"] == ["desc"]


def test_rows_link_to_findings_references_and_terms(client, store):
    text = page(client, reference=26)
    for path in finding_paths(text):
        assert client.get(path, headers=HTML).status_code == 200
    references = REFERENCE_LINK.findall(text)
    assert references and all('href="/data/ref/26"' in cell for cell in references)
    assert 'title="Vonk LA, van Dooremalen SFJ' in references[0]  # the reference list's entry, as a tooltip
    assert f'href="/resource?iri={OSTEOARTHRITIS.replace(":", "%3A").replace("/", "%2F")}"' in text
    assert 'href="/BoneMarrowMSC"' in text and 'href="/Beneficial"' in text


@pytest.mark.parametrize("params, message", [
    ({"reference": "x"}, "reference='x'"), ({"source": "no such source at all"}, "source="),
    ({"sort": "colour"}, "sort='colour'"), ({"limit": "0"}, "limit"), ({"offset": "-1"}, "offset"),
    ({"exact": "maybe"}, "exact='maybe'"), ({"format": "xlsx"}, "format"), ({"order": "up"}, "order"),
    ({"reference": "9" * 5000}, "reference=")])
def test_bad_parameters_are_refused_by_name(client, params, message):
    response = client.get("/findings", params=params)
    assert response.status_code == 400 and message in response.text


# ---------------------------------------------------------------- every filter, against the stored queries


def test_source_filter_rolls_up_and_matches_the_findings_by_source(client, store):
    answer = run_query(web_query("findings-by-source"), store=store)
    counts = {s["source"].value: int(s["findings"].value) for s in answer}
    assert f"{MSCEV}UmbilicalCordMSC" in counts and f"{MSCEV}WhartonsJellyMSC" in counts
    for source, findings in counts.items():
        assert total(client, source=source, vesicles_only="true") == findings, source
    umbilical = {r["finding"] for r in downloaded(client, source="mscev:UmbilicalCordMSC")}
    assert {r["finding"] for r in downloaded(client, source="mscev:WhartonsJellyMSC")} < umbilical


def test_condition_filter_rolls_up_unless_exact(client, store):
    nervous = "http://purl.obolibrary.org/obo/MONDO_0005071"
    below = selected(store, f"SELECT DISTINCT ?finding WHERE {{ ?finding a/rdfs:subClassOf* mscev:Finding ; "
                            f"mscev:condition/rdfs:subClassOf* <{nervous}> }}")
    exact = selected(store, f"SELECT DISTINCT ?finding WHERE {{ ?finding a/rdfs:subClassOf* mscev:Finding ; "
                            f"mscev:condition <{nervous}> }}")
    assert len(below) > len(exact)
    assert {r["finding"] for r in downloaded(client, condition=nervous)} == below
    assert {r["finding"] for r in downloaded(client, condition=nervous, exact="true")} == exact


def test_area_filter_matches_the_area_matrix(client, store):
    rows = list(run_query("area-source-matrix", store=store))
    assert rows
    for row in rows:
        assert total(client, area=row["area"].value, vesicles_only="true") == int(row["total"].value)


def test_subtype_filter_rolls_up(client, store):
    exosome, vesicle = (f"http://purl.obolibrary.org/obo/GO_{n}" for n in ("0070062", "1903561"))
    for subtype in (exosome, vesicle):
        expected = selected(store, f"SELECT DISTINCT ?finding WHERE {{ ?finding a/rdfs:subClassOf* mscev:Finding ; "
                                   f"mscev:vesicle/a/rdfs:subClassOf* <{subtype}> }}")
        assert expected and {r["finding"] for r in downloaded(client, subtype=subtype)} == expected
    assert total(client, subtype=exosome) < total(client, subtype=vesicle)


def test_outcome_filter_counts_the_harmful_findings(client, store):
    summary = next(iter(run_query("graph-summary", store=store)))
    assert total(client, outcome="mscev:Harmful") == int(summary["harmfulFindings"].value) > 0


def test_reference_filter_matches_the_reference_query(client, store):
    statements = {s["statement"].value for s in run_query("reference", {"number": "26"}, store=store)
                  if s["kind"] is not None and s["kind"].value in (f"{MSCEV}Finding", f"{MSCEV}Comparison")}
    assert statements and {r["finding"] for r in downloaded(client, reference=26)} == statements


def test_about_finds_a_term_in_any_role(client, store):
    assert {r["finding"] for r in downloaded(client, about="mscev:BoneMarrowMSC")} == \
        {r["finding"] for r in downloaded(client, source="mscev:BoneMarrowMSC")}
    assert {r["finding"] for r in downloaded(client, about=f"{MSCEV}data/ref/26")} == \
        {r["finding"] for r in downloaded(client, reference=26)}
    cargo = next(iter(store.query(PREFIXES + "SELECT ?cargo (COUNT(DISTINCT ?f) AS ?n) WHERE { "
                                  "?f mscev:hasEffect/mscev:mediatedBy ?cargo } GROUP BY ?cargo ORDER BY DESC(?n) LIMIT 1",
                                  use_default_graph_as_union=True)))["cargo"].value
    expected = selected(store, f"SELECT DISTINCT ?finding WHERE {{ {{ ?finding mscev:hasEffect/mscev:mediatedBy <{cargo}> }}"
                               f" UNION {{ [] mscev:supportsFinding ?finding ; mscev:cargo <{cargo}> }} }}")
    assert expected and expected <= {r["finding"] for r in downloaded(client, about=cargo)}
    chondrocyte = "http://purl.obolibrary.org/obo/CL_0000138"
    in_cells = selected(store, f"SELECT DISTINCT ?finding WHERE {{ ?finding mscev:hasEffect/mscev:inCellType <{chondrocyte}> }}")
    assert in_cells and in_cells <= {r["finding"] for r in downloaded(client, about=chondrocyte)}


def test_filters_combine_and_stay_in_the_links(client):
    both = downloaded(client, source="mscev:BoneMarrowMSC", outcome="mscev:Beneficial")
    assert both and all("bone marrow" in r["sources"] and r["outcome"] == "beneficial" for r in both)
    text = page(client, source="mscev:BoneMarrowMSC", outcome="mscev:Beneficial", limit=5)
    for href in re.findall(r'<nav class="pager".*?</nav>', text, re.S)[0].split('href="')[1:]:
        query = parse_qs(urlparse(html.unescape(href.split('"')[0])).query)
        assert query["source"] == ["mscev:BoneMarrowMSC"] and query["outcome"] == ["mscev:Beneficial"]


@pytest.mark.parametrize("name", ["csv", "tsv"])
def test_downloads_hold_every_filtered_row(client, name):
    response = client.get("/findings", params={"area": "mscev:LiverArea", "format": name})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text), dialect="excel" if name == "csv" else "excel-tab"))
    assert [r["finding"] for r in rows] == [r["finding"] for r in downloaded(client, area="mscev:LiverArea")]
    assert len(rows) == total(client, area="mscev:LiverArea") > 0


# ---------------------------------------------------------------- the heat map's cells


def heat_map_cells(client, by: str) -> list[tuple[str, int]]:
    root = ElementTree.fromstring(client.get("/matrix.svg", params={"by": by}).content)
    cells = []
    for link in root.iter(f"{SVG}a"):
        title = link.find(f"{SVG}rect/{SVG}title")
        if title is None:  # a row's total
            title = link.find(f"{SVG}text/{SVG}title") if link.get("class") == "total" else None
        if title is not None:
            cells.append((link.get("href"), int(re.search(r": (\d+) findings?( in all)?$", title.text).group(1))))
    return cells


@pytest.mark.parametrize("by", ["condition", "area"])
def test_every_heat_map_cell_opens_the_findings_it_counts(client, by):
    cells = heat_map_cells(client, by)
    assert len(cells) > 20 and any(count for _, count in cells)
    assert sum("source" not in href and "other_sources" not in href for href, _ in cells) > 5  # the totals
    wrong = []
    for href, count in cells:
        assert href.startswith("/findings?")
        shown = int(COUNT.search(client.get(href, headers=HTML).text).group(1))
        if shown != count:
            wrong.append((href, count, shown))
    assert wrong == []


# ---------------------------------------------------------------- the interface other pages use


def test_a_term_page_can_embed_a_table_about_its_term(client, store):
    site = client.app.state.site
    paging = read_paging({"sort": "condition", "order": "desc", "limit": "3"})
    assert paging == {"sort": "condition", "descending": True, "offset": 0, "limit": 3}
    table = asyncio.run(findings_table(site, Filters(about=OSTEOARTHRITIS), path="/resource", **paging))
    expected = selected(store, f"SELECT DISTINCT ?finding WHERE {{ ?finding a/rdfs:subClassOf* mscev:Finding ; "
                               f"mscev:condition <{OSTEOARTHRITIS}> }}")
    assert table.total >= len(expected) > 3 and len(table.rows) == 3
    text = site.templates.env.from_string(
        '{% from "_findings_table.html" import findings_table %}{{ findings_table(t, form=False) }}').render(t=table)
    assert 'id="findings-form"' not in text and len(finding_paths(text)) == 3
    next_page = parse_qs(urlparse(html.unescape(re.search(r'<a href="(/resource\?[^"]+)">next ›', text).group(1))).query)
    assert next_page["about"] == ["MONDO:0005178"] and next_page["offset"] == ["3"] and next_page["sort"] == ["condition"]
    assert 'href="/findings?about=MONDO%3A0005178"' in text


@pytest.mark.parametrize("params", [{"sort": "colour"}, {"order": "up"}, {"limit": "many"}, {"offset": "-3"},
                                    {"offset": "9" * 5000}])
def test_read_paging_refuses_by_name(params):
    with pytest.raises(MscevError, match=next(iter(params))):
        read_paging(params)


def test_home_page_counts_open_the_findings_they_count(client):
    text = client.get("/", headers=HTML).text
    links = re.findall(r'<td class="number"><a href="(/findings\?[^"]+)" title="These findings">(\d+)</a>', text)
    assert len(links) > 10
    for href, count in links:
        assert int(COUNT.search(client.get(html.unescape(href), headers=HTML).text).group(1)) == int(count), href


def test_a_query_over_the_time_limit_answers_503_not_400(built):
    settings = Settings(build_dir=built.out, workers=1, timeout=0.01, worker_memory_mb=1024)
    with TestClient(create_app(settings)) as hurried:
        response = hurried.get("/findings", params={"about": "mscev:AdiposeMSC"})
    assert response.status_code == 503 and "time limit" in response.text
