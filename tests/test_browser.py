"""The web interface in a real browser: `mscev serve` started as a user would, and Debian's headless Chromium,
driven by Playwright, clicking through it. Every page must load without a console error or a failed request, and
without asking anything of another server: every request that does not go to the server under test is blocked
and fails the test (the pages must work offline)."""

import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest

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
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    """A fresh page that records console errors, uncaught exceptions, failed requests and any request to another
    server than ``server`` (blocked) in ``page.problems``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.problems = []

    def only_this_server(route):
        url = route.request.url
        if url == server or url.startswith(server + "/"):
            return route.continue_()
        tab.problems.append(f"request to another server (blocked): {url}")
        return route.abort("blockedbyclient")

    context.route("**/*", only_this_server)
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


def test_network_page(server, page):
    page.goto(server + "/network?focus=mscev:UmbilicalCordMSC")
    assert page.locator("svg.network circle").count() > 10


# ---------------------------------------------------------------- every page, offline

# Where the crawl starts: the pages the navigation bar and the footer lead to, and the two pictures' other views.
SITE_ENTRANCES = ["/", "/queries", "/matrix", "/matrix?by=area", "/network", "/sparql", "/ontology", "/docs",
                  "/search?q=osteo"]
PAGES_PER_KIND = 2  # entity pages are many and alike: two of each kind (path head and parameter names) are enough
MAX_PAGES = 60
PAGE_PATHS = {"", "queries", "matrix", "matrix.svg", "network", "network.svg", "sparql", "ontology", "docs", "search",
              "resource"}
# what a page shows once its scripts have run (the scripted pages only)
RENDERED = {"/sparql": ".yasqe .CodeMirror", "/docs": ".swagger-ui .opblock"}


def page_kind(url: str) -> tuple:
    """(path head, parameter names): /data/finding/…, /data/ref/… by their first two segments, the stored
    queries (/queries/NAME) as one kind, the project's classes and properties (/Finding, /condition) as one,
    other pages by their first segment."""
    parts = urlsplit(url)
    segments = parts.path.strip("/").split("/")
    if len(segments) == 1 and segments[0] not in PAGE_PATHS:
        head = ("term",)
    elif segments[0] == "queries" and len(segments) > 1:
        head = ("queries", "NAME")
    else:
        head = tuple(segments[:2] if segments[0] == "data" else segments[:1])
    return head, tuple(sorted(parse_qs(parts.query)))


def followed(url: str, server: str) -> bool:
    """A page of this site to visit: not a download (format=…), a static file, or the API's JSON."""
    parts = urlsplit(url)
    return (url.startswith(server + "/") and "format" not in parse_qs(parts.query)
            and not parts.path.startswith("/static/") and not parts.path.endswith(".json"))


def test_every_page_works_offline(server, page):
    """Crawl the site from its entrances (PAGES_PER_KIND pages of each kind): no page may ask another server for
    anything, log a console error or fail a request; the scripted pages must render."""
    queue, seen, kinds, visited = [server + path for path in SITE_ENTRANCES], set(), {}, []
    while queue and len(visited) < MAX_PAGES:
        url = queue.pop(0).split("#")[0]
        kind = page_kind(url)
        if url in seen or kinds.get(kind, 0) >= PAGES_PER_KIND:
            continue
        seen.add(url)
        kinds[kind] = kinds.get(kind, 0) + 1
        page.goto(url)
        page.wait_for_load_state("networkidle")
        rendered = RENDERED.get(urlsplit(url).path)
        if rendered:
            page.wait_for_selector(rendered)
        assert page.problems == [], url
        visited.append(url)
        links = page.eval_on_selector_all("a[href]", "links => links.map(link => "
                                          "new URL(link.getAttribute('href'), document.baseURI).href)")
        queue += [link for link in links if followed(link, server)]
    assert len(visited) >= 25
    assert {("",), ("sparql",), ("docs",), ("term",), ("data", "finding"), ("data", "ref"), ("resource",)} \
        <= {kind[0] for kind in kinds}


def test_a_request_to_another_server_is_blocked_and_fails_the_test(server, page):
    """The harness itself: without this, the offline checks above could pass by checking nothing."""
    page.goto(server + "/")
    page.evaluate("url => fetch(url).catch(() => null)", "https://example.org/nothing.js")
    page.wait_for_timeout(200)
    blocked = [problem for problem in page.problems if problem.startswith("request to another server")]
    assert blocked == ["request to another server (blocked): https://example.org/nothing.js"]
    page.problems.clear()  # expected here; any other page's would fail the test


# ---------------------------------------------------------------- the SPARQL editor (YASGUI) and /docs


def open_editor(page, server):
    page.goto(server + "/sparql")
    page.wait_for_selector(".yasqe .CodeMirror")
    assert page.locator("#fallback").is_hidden()


def run_in_editor(page, query: str | None = None):
    """Run the active tab's query (after replacing it with ``query``) and wait for its answer."""
    if query is not None:
        page.evaluate("text => yasgui.getTab().getYasqe().setValue(text)", query)
    with page.expect_response(lambda response: response.url.endswith("/sparql") and response.request.method == "POST"):
        page.locator(".yasqe_queryButton:visible").click()  # the active tab's
    page.wait_for_selector(".yasr .dataTable tbody tr:visible, .yasr .errorResult:visible")


def table_column(page, index: int) -> list[str]:
    return page.locator(f".yasr table.dataTable tbody tr td:nth-child({index}):visible").all_inner_texts()


def download(page):
    """What the result viewer's download button gives for the view shown."""
    with page.expect_download() as started:
        page.locator(".yasr .yasr_downloadIcon:visible").click()
    return started.value


def redrawn_column(page, index: int, before: list[str]) -> list[str]:
    """The column once the table shows other values than ``before`` (DataTables redraws after the click)."""
    for _ in range(50):
        column = table_column(page, index)
        if column != before:
            return column
        page.wait_for_timeout(100)
    raise AssertionError("the table was not redrawn")


def in_order(texts: list[str]) -> bool:
    """Whether ``texts`` are in alphabetical order as DataTables sorts text: by letters and digits, ignoring case
    and punctuation ("Adipose" before "AD-MSC")."""
    keys = [re.sub(r"[\W_]", "", text.casefold()) for text in texts]
    return keys == sorted(keys)


def test_editor_runs_the_example_and_shows_a_table(server, page, built):
    open_editor(page, server)
    query = page.evaluate("yasgui.getTab().getQuery()")
    assert "mscev:condition MONDO:0005178" in query and query.count("PREFIX") == 3  # not fifty prefixes
    run_in_editor(page)
    assert page.locator(".yasr table.dataTable thead th").all_inner_texts()[1:] == ["finding", "label", "source",
                                                                                    "quote"]
    quotes = table_column(page, 5)
    expected = {row["quote"].value for row in open_store(built.out).query(query, use_default_graph_as_union=True)}
    assert quotes and {quote.strip() for quote in quotes} <= expected
    # the IRIs open this server's pages
    links = page.locator(".yasr table.dataTable tbody tr td:nth-child(2) a.iri")
    hrefs = links.evaluate_all("links => links.map(link => link.getAttribute('href'))")
    assert hrefs and all(href.startswith("/data/finding/") for href in hrefs)


def test_editor_declares_prefixes_and_completes_classes(server, page):
    open_editor(page, server)
    page.evaluate("yasgui.getTab().getYasqe().setValue('')")
    page.locator(".yasqe .CodeMirror").click()
    page.keyboard.type("SELECT ?finding ?label WHERE { ?finding a mscev:Fin")
    page.keyboard.press("Control+Space")
    page.wait_for_selector(".CodeMirror-hints li")
    assert page.locator(".CodeMirror-hints li").all_inner_texts() == ["mscev:Finding"]
    page.keyboard.press("Enter")
    page.keyboard.type(" ; rdfs:label ?label }")
    query = page.evaluate("yasgui.getTab().getQuery()")
    assert "PREFIX mscev: <https://w3id.org/mscev/>" in query
    assert "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>" in query
    assert query.rstrip().endswith("WHERE { ?finding a mscev:Finding ; rdfs:label ?label }")


def test_editor_table_sorts_and_pages(server, page, built):
    store = open_store(built.out)
    total = len(list(store.query("SELECT ?f ?label WHERE { ?f a <https://w3id.org/mscev/Finding> ; "
                                 "<http://www.w3.org/2000/01/rdf-schema#label> ?label }",
                                 use_default_graph_as_union=True)))
    assert total > 100
    open_editor(page, server)
    run_in_editor(page, "PREFIX mscev: <https://w3id.org/mscev/>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
                        "SELECT ?f ?label WHERE { ?f a mscev:Finding ; rdfs:label ?label }")
    info = page.locator(".yasr .dt-info")
    assert info.inner_text() == f"Showing 1 to 50 of {total} entries"
    page.locator(".yasr .dt-paging-button.next").click()
    assert info.inner_text() == f"Showing 51 to 100 of {total} entries"
    page.locator(".yasr .dt-paging-button.first").click()
    assert info.inner_text() == f"Showing 1 to 50 of {total} entries"
    unsorted = table_column(page, 3)
    header = page.locator(".yasr table.dataTable thead th").nth(2)
    header.click()  # by label, ascending
    ascending = redrawn_column(page, 3, unsorted)
    assert len(ascending) == 50 and in_order(ascending)
    header.click()  # descending
    descending = redrawn_column(page, 3, ascending)
    assert in_order(descending[::-1]) and in_order([ascending[-1], descending[0]])
    page.locator(".yasr .tableFilter").press_sequentially("osteoarthritis")  # it searches every column
    from playwright.sync_api import expect

    expect(info).to_contain_text(f"(filtered from {total} total entries)")
    rows = page.locator(".yasr table.dataTable tbody tr").all_inner_texts()
    assert 0 < len(rows) < 50 and all("osteoarthritis" in row.lower() for row in rows)
    table = Path(download(page).path()).read_text(encoding="utf-8").splitlines()  # the whole answer, as CSV
    assert table[0] == '"f","label"' and len(table) == total + 1


def test_editor_draws_a_bar_chart_of_a_numeric_column(server, page, built):
    query = ("PREFIX mscev: <https://w3id.org/mscev/>\n"
             "SELECT ?outcome (COUNT(?finding) AS ?findings) WHERE { ?finding a mscev:Finding ; mscev:outcome ?outcome }"
             " GROUP BY ?outcome ORDER BY DESC(?findings)")
    counts = [int(row["findings"].value) for row in open_store(built.out).query(query, use_default_graph_as_union=True)]
    assert len(counts) > 1
    open_editor(page, server)
    run_in_editor(page, query)
    assert table_column(page, 3) == [str(count) for count in counts]  # numbers as numbers, not "7"^^xsd:integer
    page.locator(".yasr button.select_chart:visible").click()
    bars = page.locator(".mscevChart:visible svg.barChart rect")
    widths = [float(width) for width in bars.evaluate_all("bars => bars.map(bar => bar.getAttribute('width'))")]
    assert len(widths) == len(counts)
    assert [round(width / widths[0] * counts[0], 6) for width in widths] == [float(count) for count in counts]
    assert page.locator(".mscevChart:visible svg.barChart text.value").all_text_contents() == [str(c) for c in counts]
    svg = Path(download(page).path()).read_text(encoding="utf-8")
    assert svg.startswith("<svg") and svg.count("<rect") == len(counts)


def test_editor_opens_a_stored_query_as_an_example(server, page):
    open_editor(page, server)
    page.select_option("#examples", label=page.locator("#examples option", has_text="conditions-by-source:")
                       .inner_text())
    assert page.locator(".tabsList .tab.active").inner_text().strip().startswith("conditions-by-source")
    query = page.evaluate("yasgui.getTab().getQuery()")
    assert query.startswith("#+ summary:") and "VALUES (?source)" in query  # its default, bound as /queries binds it
    run_in_editor(page)
    assert page.locator(".yasr table.dataTable tbody tr:visible").count() > 0


def test_editor_explains_a_syntax_error(server, page):
    open_editor(page, server)
    run_in_editor(page, "SELECT * WHERE { ?s foo:bar ?o }")
    assert "foo: is not declared; add PREFIX foo:" in page.locator(".yasr .errorResult").inner_text()
    # the 400 answer is the point of this test; Chromium logs it as a console error too
    expected = [problem for problem in page.problems if "400" in problem and "/sparql" in problem or
                problem == "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    assert len(expected) == 2
    for problem in expected:
        page.problems.remove(problem)


def test_sparql_form_works_without_javascript(server, browser):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server + "/sparql")
        assert "PREFIX mscev:" in page.locator("textarea.sparql").input_value()
        page.locator("#sparql-form button[type=submit]").click()
        page.wait_for_selector("table.results")
        assert page.locator("table.results tbody tr").count() > 0
    finally:
        context.close()


def test_docs_render_offline(server, page):
    page.goto(server + "/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert "mscev" in page.locator(".swagger-ui .title").inner_text()
    assert page.locator(".swagger-ui .opblock-summary-path", has_text="/sparql").count() >= 2  # GET and POST
