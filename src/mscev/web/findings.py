"""The findings table the whole site uses: filtered in SPARQL, sorted and paged here, laid out by the Jinja macro
``findings_table`` of templates/_findings_table.html.

Interface (for /findings, term pages and any other page that embeds a table of findings):

    from mscev.web.findings import Filters, findings_table, read_filters

    filters = read_filters(request.query_params, site.store)      # MscevError naming the parameter when wrong
    filters = Filters(about="http://purl.obolibrary.org/obo/MONDO_0005178")   # or made directly (full IRIs)
    table = await findings_table(site, filters, sort="reference", descending=False, offset=0, limit=25,
                                 path="/findings")

    {% from "_findings_table.html" import findings_table %}
    {{ findings_table(table) }}                  # the whole table: count, page links, rows, downloads
    {{ findings_table(table, form=False) }}      # without the filter form (an embedded table)

A term page embeds the findings about its term so (its page links then lead back to the term page, which reads
sort, order, limit and offset from its own URL; with path="/findings" they lead to the full table instead):

    paging = read_paging(request.query_params)   # sort, descending, offset, limit; MscevError when wrong
    table = await findings_table(site, Filters(about=iri), path=request.url.path, **paging)

``table.rows`` are the rows of the page asked for (``FindingRow``: Terms with links), ``table.total`` counts every
row the filters keep, ``table.pages`` are the page links, ``table.href(...)`` makes links that keep the filters.
The URL parameters (also the names of ``Filters``' fields): source, condition, exact, area, subtype, outcome,
reference, about, other_sources, vesicles_only; sort (a name of SORT_KEYS), order (asc or desc), limit, offset.
Filters are RDF terms, never pasted into query text: source, subtype and about are queries of their own, read
from the term towards the findings (TERM_QUERIES, parameter `term`), whose answers are intersected with the
table's; the others are bound in a VALUES block of web/queries/findings-table.rq. Answers are kept in the site's
answer cache and their labelled rows here (_rows), so paging and sorting a table do not query again.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from urllib.parse import urlencode

import pyoxigraph as ox
from starlette.exceptions import HTTPException

from mscev.errors import MscevError
from mscev.namespaces import curie, expand
from mscev.query import resolve_iri, with_values
from mscev.web.pages import Pages, Term
from mscev.web.pool import Answer, Job
from mscev.web.site import web_query

QUERY = "findings-table"
XSD = "http://www.w3.org/2001/XMLSchema#"
TRUE = ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean"))
CITATION = ox.NamedNode("http://purl.org/dc/terms/bibliographicCitation")
REFERENCE_NUMBER = ox.NamedNode("https://w3id.org/mscev/referenceNumber")
DEFAULT_LIMIT, MAX_LIMIT = 25, 500
ORDERS = ("asc", "desc")
# Filter (URL parameter) → the variable of findings-table.rq it binds (None: a query of its own, TERM_QUERIES);
# `exact` turns `condition` into ?byReportedCondition (the condition as reported, as the heat map's rows count it)
IRI_FILTERS = {"source": None, "condition": "byCondition", "area": "byArea", "subtype": None,
               "outcome": "byOutcome", "about": None}
# Filters read from the term towards the findings (web/queries/NAME.rq, parameter `term`), whose answers are
# intersected with the table's: testing every finding for a term below a class takes pyoxigraph 100 times longer
TERM_QUERIES = {"source": "findings-from-source", "subtype": "findings-of-subtype", "about": "findings-about"}
FLAGS = {"other_sources": "otherSources", "vesicles_only": "vesicleOnly"}
VARIABLES = [*filter(None, IRI_FILTERS.values()), "byReportedCondition", "byReference", *FLAGS.values()]
SMALL_NUMBER = re.compile(r"[+-]?\d{1,9}", re.ASCII)  # int() of thousands of digits would raise
FLAG_VALUES = {"true": True, "1": True, "on": True, "false": False, "0": False, "": False}


@dataclass(frozen=True)
class Filters:
    """What the table keeps: full IRIs (rolled up through subclasses, but for ``exact`` conditions), a reference
    number, and two flags. Empty fields do not filter."""

    source: str | None = None
    condition: str | None = None
    exact: bool = False
    area: str | None = None
    subtype: str | None = None
    outcome: str | None = None
    reference: int | None = None
    about: str | None = None
    other_sources: bool = False
    vesicles_only: bool = False

    def params(self) -> dict[str, str]:
        """The filters as URL parameters (only those set; IRIs as CURIEs where one reads back as the same IRI)."""
        out = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is True:
                out[field.name] = "true"
            elif isinstance(value, str):
                short = curie(value)
                out[field.name] = short if expand(short) == value else value
            elif value not in (None, False):
                out[field.name] = str(value)
        return out

    def bindings(self) -> dict[str, object]:
        """Variable of findings-table.rq → RDF term (None: UNDEF)."""
        bound = {name: None for name in VARIABLES}
        for parameter, variable in IRI_FILTERS.items():
            value = getattr(self, parameter)
            if value and variable:
                bound["byReportedCondition" if parameter == "condition" and self.exact else variable] = ox.NamedNode(value)
        if self.reference is not None:
            bound["byReference"] = ox.Literal(str(self.reference), datatype=ox.NamedNode(XSD + "integer"))
        for parameter, variable in FLAGS.items():
            bound[variable] = TRUE if getattr(self, parameter) else None
        return bound


def read_filters(params: Mapping[str, str], store: ox.Store) -> Filters:
    """Filters from URL parameters: an IRI, a CURIE or a label of exactly one term for the term filters, a number
    for ``reference``, true/false for the flags. MscevError naming the parameter otherwise."""
    values = {}
    for name in IRI_FILTERS:
        text = (params.get(name) or "").strip()
        if text:
            def refuse(why: str, name=name, text=text):
                raise MscevError(f"{name}={text!r}: {why}")
            values[name] = resolve_iri(text, store, refuse).value
    reference = (params.get("reference") or "").strip()
    if reference:
        if not SMALL_NUMBER.fullmatch(reference):
            raise MscevError(f"reference={reference!r}: not a reference number (up to 9 digits)")
        values["reference"] = int(reference)
    for name in ("exact", *FLAGS):
        text = (params.get(name) or "").strip().lower()
        if text not in FLAG_VALUES:
            raise MscevError(f"{name}={params.get(name)!r}: choose true or false")
        values[name] = FLAG_VALUES[text]
    return Filters(**values)


@dataclass(frozen=True)
class Reference:
    term: Term  # the reference's page
    number: int | None
    citation: str | None  # as the review's reference list prints it


@dataclass(frozen=True)
class FindingRow:
    finding: Term
    references: tuple[Reference, ...]
    sources: tuple[Term, ...]
    preparations: tuple[Term, ...]  # the vesicle preparations (or the cells of a cell-level finding)
    subtypes: tuple[Term, ...]
    conditions: tuple[Term, ...]
    outcome: Term
    effects: str
    quote: str


def _text(terms) -> str:
    return "; ".join(t.text for t in terms).casefold()


# Sort keys: each gives a row a key that sorts the same way for every row (empty values last, then by finding).
SORT_KEYS = {
    "reference": lambda r: (r.references[0].number if r.references and r.references[0].number is not None
                            else math.inf),
    "finding": lambda r: r.finding.text.casefold(),
    "source": lambda r: _text(r.sources) or "\uffff",
    "preparation": lambda r: _text(r.preparations) or "\uffff",
    "subtype": lambda r: _text(r.subtypes) or "\uffff",
    "condition": lambda r: _text(r.conditions) or "\uffff",
    "outcome": lambda r: r.outcome.text.casefold() or "\uffff",
    "effects": lambda r: r.effects.casefold() or "\uffff",
}
COLUMNS = {"reference": "ref", "finding": "finding", "source": "MSC source", "preparation": "preparation",
           "subtype": "EV subtype", "condition": "condition", "outcome": "outcome", "effects": "effects"}


@dataclass(frozen=True)
class PageLink:
    text: str
    href: str
    current: bool = False


@dataclass
class FindingsTable:
    """One page of the findings the filters keep, and what the macro needs to link around it."""

    filters: Filters
    rows: list[FindingRow]
    total: int
    offset: int
    limit: int
    sort: str
    descending: bool
    path: str
    truncated: bool = False  # the query's answer was cut at the server's row cap: total counts those rows only
    options: dict = None  # filter name → [(value, label)] for the form's menus
    chosen: list = None  # (filter name, Term) of the term filters set, to say what the table holds

    def href(self, **changes) -> str:
        """A link to this table with some parameters changed (filters kept; None drops a parameter)."""
        params = {**self.filters.params(), "sort": self.sort, "order": "desc" if self.descending else "asc",
                  "limit": str(self.limit), "offset": str(self.offset)}
        params.update({k: str(v) for k, v in changes.items() if v is not None})
        for k in [k for k, v in changes.items() if v is None]:
            params.pop(k, None)
        return f"{self.path}?{urlencode(params)}"

    def sort_href(self, column: str) -> str:
        """Sort by ``column`` (ascending; descending when it is already the ascending sort), from the first page."""
        descending = column == self.sort and not self.descending
        return self.href(sort=column, order="desc" if descending else "asc", offset=0)

    @property
    def columns(self) -> list[tuple[str, str]]:
        """(sort key, heading) of each column, in order."""
        return list(COLUMNS.items())

    @property
    def last(self) -> int:
        return min(self.offset + self.limit, self.total)

    @property
    def pages(self) -> list[PageLink]:
        """First, previous, the numbered pages near this one, next, last (no links when one page holds all)."""
        if self.total <= self.limit:
            return []
        count = math.ceil(self.total / self.limit)
        current = self.offset // self.limit
        links = []
        if current > 0:
            links += [PageLink("« first", self.href(offset=0)),
                      PageLink("‹ previous", self.href(offset=max(0, self.offset - self.limit)))]
        for number in range(max(0, current - 3), min(count, current + 4)):
            links.append(PageLink(str(number + 1), self.href(offset=number * self.limit), number == current))
        if self.offset + self.limit < self.total:
            links += [PageLink("next ›", self.href(offset=self.offset + self.limit)),
                      PageLink("last »", self.href(offset=(count - 1) * self.limit))]
        return links

    def downloads(self) -> list[tuple[str, str]]:
        """(format, link) of every row the filters keep, sorted as shown."""
        return [(name, self.href(format=name, limit=None, offset=None)) for name in DOWNLOADS]


async def all_rows(site, filters: Filters) -> tuple[list[FindingRow], bool]:
    """Every finding the filters keep (unsorted), and whether the answer was cut at the server's row cap."""
    stored = web_query(QUERY)
    bound = filters.bindings()
    text = with_values(stored.text, [ox.Variable(name) for name in bound], [tuple(bound.values())])
    answer = _checked(await site.cached(Job(replace(stored, text=text), page_rows=site.settings.max_rows)))
    rows = _rows(site.pages, answer)
    for name, query in TERM_QUERIES.items():
        term = getattr(filters, name)
        if term:
            kept = _checked(await site.cached(Job(web_query(query), {"term": term}, page_rows=site.settings.max_rows)))
            named = {s["finding"].value for s in ox.parse_query_results(kept.body, ox.QueryResultsFormat.JSON)}
            rows = [row for row in rows if row.finding.iri in named]
    return rows, answer.truncated


def _checked(answer: Answer) -> Answer:
    if not answer.ok:  # the time limit, the memory budget, a worker lost: the answer's own status and message
        raise HTTPException(answer.status, answer.text)
    return answer


@lru_cache(maxsize=32)
def _rows(pages: Pages, answer: Answer) -> list[FindingRow]:
    """The rows of an answer, labelled, kept for the answers asked for most lately (a page of the cached answer
    costs its sorting then, not its labelling: 70 ms for every finding)."""
    solutions = ox.parse_query_results(answer.body, ox.QueryResultsFormat.JSON)
    return [_row(pages, solution) for solution in solutions]


def _row(pages: Pages, solution) -> FindingRow:
    def terms(name: str) -> tuple[Term, ...]:
        value = solution[name]
        found = [pages.term(ox.NamedNode(iri)) for iri in value.value.split()] if value is not None else []
        return tuple(sorted(found, key=lambda t: t.text.casefold()))

    references = tuple(sorted((_reference(pages.store, term) for term in terms("refs")),
                              key=lambda r: (r.number is None, r.number or 0)))
    return FindingRow(pages.term(solution["finding"]), references, terms("sources"), terms("preparations"),
                      terms("subtypes"),
                      terms("conditions"), pages.term(solution["outcome"]),
                      solution["effects"].value if solution["effects"] is not None else "",
                      solution["quote"].value if solution["quote"] is not None else "")


def _reference(store: ox.Store, term: Term) -> Reference:
    node = ox.NamedNode(term.iri)
    citation = next((q.object.value for q in store.quads_for_pattern(node, CITATION, None)), None)
    number = next((q.object.value for q in store.quads_for_pattern(node, REFERENCE_NUMBER, None)), None)
    return Reference(term, int(number) if number and number.isdigit() else None, citation)


def sorted_rows(rows: list[FindingRow], sort: str, descending: bool) -> list[FindingRow]:
    """Rows in the order of SORT_KEYS[sort], ties broken by finding label (always ascending)."""
    rows = sorted(rows, key=lambda r: r.finding.text.casefold())
    return sorted(rows, key=SORT_KEYS[sort], reverse=descending)


def check_paging(sort: str, order: str, limit: int, offset: int) -> None:
    if sort not in SORT_KEYS:
        raise MscevError(f"sort={sort!r}: choose one of {', '.join(SORT_KEYS)}")
    if order not in ORDERS:
        raise MscevError(f"order={order!r}: choose asc or desc")
    if not 1 <= limit <= MAX_LIMIT:
        raise MscevError(f"limit={limit}: give a number of rows from 1 to {MAX_LIMIT}")
    if offset < 0:
        raise MscevError(f"offset={offset}: give 0 or more")


def read_paging(params: Mapping[str, str]) -> dict:
    """sort, descending, offset and limit from URL parameters (defaults when absent), checked."""
    sort, order = params.get("sort") or "reference", params.get("order") or "asc"
    numbers = {}
    for name, default in (("offset", 0), ("limit", DEFAULT_LIMIT)):
        text = (params.get(name) or "").strip() or str(default)
        if not SMALL_NUMBER.fullmatch(text):
            raise MscevError(f"{name}={params.get(name)!r}: give a whole number (up to 9 digits)")
        numbers[name] = int(text)
    check_paging(sort, order, numbers["limit"], numbers["offset"])
    return {"sort": sort, "descending": order == "desc", **numbers}


async def findings_table(site, filters: Filters, sort: str = "reference", descending: bool = False, offset: int = 0,
                         limit: int = DEFAULT_LIMIT, path: str = "/findings") -> FindingsTable:
    """One page of the findings ``filters`` keep, sorted by ``sort``; ``path`` is where its links lead."""
    check_paging(sort, "desc" if descending else "asc", limit, offset)
    rows, truncated = await all_rows(site, filters)
    ordered = sorted_rows(rows, sort, descending)
    chosen = [(name, site.pages.term(ox.NamedNode(getattr(filters, name))))
              for name in IRI_FILTERS if getattr(filters, name)]
    return FindingsTable(filters, ordered[offset:offset + limit], len(ordered), offset, limit, sort, descending, path,
                         truncated, chosen=chosen)


# ---------------------------------------------------------------- downloads

DOWNLOADS = {"csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
             "json": "application/json"}
DOWNLOAD_FIELDS = ("finding", "label", "references", "sources", "preparations", "ev_subtypes", "conditions", "outcome",
                   "effects", "quote")


def download_records(rows: list[FindingRow]) -> list[dict[str, str]]:
    """One flat record per finding: its IRI and label, then labels joined by "; " (the IRIs are on its page)."""
    return [{"finding": r.finding.iri, "label": r.finding.text,
             "references": "; ".join(str(ref.number) for ref in r.references),
             "sources": "; ".join(t.text for t in r.sources),
             "preparations": "; ".join(t.text for t in r.preparations),
             "ev_subtypes": "; ".join(t.text for t in r.subtypes),
             "conditions": "; ".join(t.text for t in r.conditions), "outcome": r.outcome.text,
             "effects": r.effects, "quote": r.quote} for r in rows]


def download(rows: list[FindingRow], format_name: str) -> tuple[bytes, str]:
    """The rows as CSV, TSV (the csv module's dialects) or JSON, and its media type."""
    if format_name not in DOWNLOADS:
        raise MscevError(f"format={format_name!r}: choose one of {', '.join(DOWNLOADS)}")
    records = download_records(rows)
    if format_name == "json":
        return json.dumps(records, ensure_ascii=False, indent=1).encode("utf-8"), DOWNLOADS["json"]
    out = io.StringIO()
    writer = csv.DictWriter(out, DOWNLOAD_FIELDS, dialect="excel" if format_name == "csv" else "excel-tab")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode("utf-8"), DOWNLOADS[format_name]
