"""The web interface in a real browser: `mscev serve` started as a user would, and Debian's headless Chromium,
driven by Playwright, clicking through it. Every page must load without a console error or a failed request."""

import shutil

import pyoxigraph as ox
import pytest

from mscev.paths import PROJECT_ROOT
from mscev.query import open_store

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No network here: background services of the browser would only log errors.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
EVIDENCE_QUOTE = ox.NamedNode("https://w3id.org/mscev/evidenceQuote")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def server(built):
    """`mscev serve` on a free loopback port, started with the console script, stopped after the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(PROJECT_ROOT / "benchmarks"))
        from load_serve import running_server
    with running_server(built.out, quiet=True) as (_, base):
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors, uncaught exceptions and failed requests in ``page.problems``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda message: message.type == "error" and tab.problems.append(f"console: {message.text}"))
    tab.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    # a request the page itself abandons by navigating on (a favicon still loading when a test clicks) is
    # net::ERR_ABORTED, not a failure of the server; every other failure is one
    tab.on("requestfailed", lambda request: request.failure != "net::ERR_ABORTED"
           and tab.problems.append(f"request failed ({request.failure}): {request.url}"))
    tab.on("response", lambda response: response.status >= 400
           and tab.problems.append(f"HTTP {response.status}: {response.url}"))
    yield tab
    context.close()
    assert tab.problems == []


def test_home_page(server, page):
    page.goto(server + "/")
    assert page.locator("h1").inner_text() == "Extracellular vesicles from mesenchymal stem cells"
    numbers = page.locator("ul.stats .number").all_inner_texts()
    assert len(numbers) >= 5 and all(int(n) >= 0 for n in numbers) and int(numbers[0]) > 0
    assert page.locator("text=By MSC source").is_visible()
    page.locator("#home-search").fill("osteoarthritis")
    page.locator("#home-search").press("Enter")
    page.wait_for_url("**/search?q=osteoarthritis")
    assert page.locator("ol.results a", has_text="osteoarthritis").first.is_visible()


def test_stored_query_form_then_a_finding_and_its_quote(server, page, built):
    page.goto(server + "/queries")
    page.locator('a[href="/queries/conditions-by-source"]').click()
    page.wait_for_url("**/queries/conditions-by-source")
    page.locator("#param-source").fill("bone marrow MSC")
    page.locator("#query-form button[type=submit]").click()
    page.wait_for_url("**source=bone+marrow+MSC**")
    rows = page.locator("table.results tbody tr")
    assert rows.count() > 0
    sources = set(page.locator("table.results tbody tr td:nth-child(1)").all_inner_texts())
    assert sources == {"bone marrow MSC"}
    finding_link = rows.first.locator("td:nth-child(4) a").first
    finding_link.click()
    page.wait_for_url("**/data/finding/**")
    iri = "https://w3id.org/mscev" + page.url.removeprefix(server)
    quotes = {q.object.value for q in open_store(built.out).quads_for_pattern(ox.NamedNode(iri), EVIDENCE_QUOTE, None)}
    shown = {text.strip().strip("“”") for text in page.locator("blockquote.evidence").all_inner_texts()}
    assert quotes and shown == quotes
    assert page.locator(".citation").first.is_visible()


def test_matrix_picture(server, page):
    page.goto(server + "/matrix")
    heatmap = page.locator("svg.heatmap")
    assert heatmap.is_visible()
    assert heatmap.bounding_box()["width"] > 600
    assert page.locator("svg.heatmap rect").count() > 50
    label = page.locator("svg.heatmap text.condition").first
    condition = label.evaluate("text => text.firstChild.textContent").rstrip("…")
    label.click()
    page.wait_for_url("**/resource?iri=**")
    assert page.locator("h1").inner_text().startswith(condition)


def test_network_and_sparql_pages(server, page):
    page.goto(server + "/network?focus=mscev:UmbilicalCordMSC")
    assert page.locator("svg.network circle").count() > 10
    page.goto(server + "/sparql")
    assert "PREFIX mscev:" in page.locator("textarea.sparql").input_value()
    page.locator("#sparql-form button[type=submit]").click()
    page.wait_for_selector("table.results")
    assert page.locator("table.results tbody tr").count() > 0
