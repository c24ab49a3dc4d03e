"""Term pages in Debian's headless Chromium (the harness of tests/test_browser.py): a condition class page, a
reused MONDO term and an MSC source load without console errors or failed requests; the explanation of an
inferred link and the curation notes open on a click; the embedded findings table leads to /findings?about=."""

import pytest
from test_browser import browser, page  # noqa: F401  (the fixtures: Chromium, a page; the server is conftest's)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_condition_term_page(server, page):  # noqa: F811
    page.goto(server + "/KidneyInjury")
    assert page.locator("h1").inner_text() == "kidney injury"
    assert page.locator(".kinds .kind", has_text="project condition class").is_visible()
    assert "_:" not in page.locator("main").inner_text()
    tree = page.locator("section.hierarchy")
    child = tree.locator("ul.children li", has_text="renal ischemia reperfusion injury")
    explanation = child.locator("details.why")
    assert not explanation.locator("ol").is_visible()
    explanation.locator("summary").click()
    assert explanation.locator("ol li").first.is_visible()
    assert "placed by the definition of kidney injury" in explanation.inner_text()
    definition = page.locator("section.axioms .manchester").first
    assert definition.inner_text() == "injury and (disease has location some kidney)"
    definition.get_by_role("link", name="kidney", exact=True).click()
    page.wait_for_url("**/resource?iri=http%3A%2F%2Fpurl.obolibrary.org%2Fobo%2FUBERON_0002113")
    assert page.locator("h1").inner_text() == "kidney"


def test_reused_term_page_notes_and_findings(server, page):  # noqa: F811
    page.goto(server + "/resource?iri=MONDO:0005178")
    assert page.locator("h1").inner_text() == "osteoarthritis"
    notes = page.locator("details.curation-notes")
    assert not notes.locator("ul").is_visible()
    notes.locator("summary").click()
    assert notes.locator("ul li").first.inner_text().startswith("osteoarthritis; parents from")
    table = page.locator("section.term-findings")
    rows = table.locator("table.findings tbody tr")
    total = int(table.locator("p.count strong").inner_text())
    assert rows.count() == total > 0
    table.get_by_role("link", name="Open in the findings table").click()
    page.wait_for_url("**/findings?about=*")
    assert int(page.locator("p.count strong").inner_text()) == total  # the same findings, by the SPARQL filter


def test_source_term_page(server, page):  # noqa: F811
    page.goto(server + "/BoneMarrowMSC")
    assert page.locator("section.axioms .manchester").first.inner_text() == \
        "mesenchymal stem cell and (derives from some bone marrow)"
    tested = page.locator("section.tested-in tbody tr")
    assert tested.count() > 5
    assert page.locator("section.term-findings table.findings tbody tr").count() == 25  # the first page
