"""The findings table in Debian's headless Chromium (the harness of tests/test_browser.py): it pages, sorts and
filters without JavaScript errors or failed requests, and a heat-map cell lands on the findings it counts."""

import re

import pytest
from test_browser import browser, page  # noqa: F401  (the fixtures: Chromium, a page; the server is conftest's)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shown_total(tab) -> int:
    return int(tab.locator("p.count strong").inner_text())


def test_findings_page_pages_and_sorts(server, page):  # noqa: F811
    page.goto(server + "/findings")
    total = shown_total(page)
    assert total > 100
    first = page.locator("table.findings tbody tr").all_inner_texts()
    assert len(first) == 25
    page.locator("nav.pager").first.get_by_role("link", name="next ›").click()
    page.wait_for_url("**offset=25**")
    assert page.locator('nav.pager span.current').first.inner_text() == "2"
    second = page.locator("table.findings tbody tr").all_inner_texts()
    assert len(second) == 25 and not set(second) & set(first)
    assert shown_total(page) == total

    page.locator('th[data-column="finding"] a').click()
    page.wait_for_url("**sort=finding**")
    names = page.locator("table.findings td.finding > a").all_inner_texts()
    assert names == sorted(names, key=str.casefold)
    page.locator('th[data-column="finding"] a').click()  # again: descending
    page.wait_for_url("**order=desc**")
    names = page.locator("table.findings td.finding > a").all_inner_texts()
    assert names == sorted(names, key=str.casefold, reverse=True)
    assert page.locator('th[data-column="finding"]').get_attribute("aria-sort") == "descending"

    page.locator('#findings-form select[name="outcome"]').select_option(label="harmful")
    page.locator("#findings-form button[type=submit]").click()
    page.wait_for_url("**outcome=**")
    assert 0 < shown_total(page) < total
    assert set(page.locator("table.findings tbody td:nth-child(7)").all_inner_texts()) == {"harmful"}

    page.locator("table.findings td.finding > a").first.click()
    page.wait_for_url("**/data/finding/**")
    assert page.locator("blockquote.evidence").first.is_visible()


def test_heat_map_cell_opens_the_findings_it_counts(server, page):  # noqa: F811
    for by in ("condition", "area"):
        page.goto(f"{server}/matrix?by={by}")
        cell = page.locator("svg.heatmap a:has(rect):has(text)").first  # a cell with a count
        count = int(cell.locator("text").text_content())
        title = cell.locator("rect title").text_content()
        cell.locator("rect").click()
        page.wait_for_url("**/findings?**")
        assert shown_total(page) == count, title
        assert page.locator("table.findings tbody tr").count() == min(count, 25)
        assert re.search(r"vesicles_only=true", page.url)


def test_findings_page_works_without_javascript(server, browser):  # noqa: F811
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    failed = []
    tab.on("response", lambda response: response.status >= 400 and failed.append(response.url))
    tab.goto(server + "/findings")
    tab.locator('#findings-form select[name="area"]').select_option(label="liver (area)")
    tab.locator("#findings-form button[type=submit]").click()
    tab.wait_for_url("**area=**")
    in_area = shown_total(tab)
    assert 0 < in_area < 100
    tab.locator('th[data-column="reference"] a').click()
    tab.wait_for_url("**sort=reference**")
    assert shown_total(tab) == in_area
    tab.locator("table.findings td.finding summary").first.click()  # the quote opens without a script
    assert tab.locator("table.findings td.finding blockquote").first.is_visible()
    context.close()
    assert failed == []
