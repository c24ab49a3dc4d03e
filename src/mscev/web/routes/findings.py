"""The findings table at /findings: every finding, filtered, sorted and paged on the server (mscev.web.findings),
as a page with a plain GET form for browsers, and as CSV, TSV or JSON with the same filters (format=…)."""

from __future__ import annotations

from typing import Annotated, Literal

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mscev.errors import MscevError
from mscev.web import findings
from mscev.web.findings import DEFAULT_LIMIT, DOWNLOADS, MAX_LIMIT, SORT_KEYS, Filters
from mscev.web.pages import RDF_TYPE
from mscev.web.pool import Job
from mscev.web.site import Site, SiteDep, web_query

CONDITION_AREA = ox.NamedNode("https://w3id.org/mscev/ConditionArea")

router = APIRouter(tags=["Pages"])


@router.get("/findings", summary="The findings, filtered, sorted and paged (a page, or CSV/TSV/JSON with format=)",
            responses={200: {"content": {"text/html": {}, **{media_type: {} for media_type in DOWNLOADS.values()}}}})
async def findings_page(
    request: Request, site: SiteDep,
    source: Annotated[str | None, Query(description="An MSC source class (CURIE, IRI or name); its subclasses "
                                                    "are included.")] = None,
    condition: Annotated[str | None, Query(description="A condition; the conditions below it are included "
                                                       "unless exact=true.")] = None,
    exact: Annotated[str | None, Query(description="true: the condition as reported, not below it.")] = None,
    area: Annotated[str | None, Query(description="A condition area (mscev:ConditionArea), as the heat map "
                                                  "rolls conditions up.")] = None,
    subtype: Annotated[str | None, Query(description="An EV subtype class; its subclasses are included.")] = None,
    outcome: Annotated[str | None, Query(description="An outcome: beneficial, harmful, …")] = None,
    reference: Annotated[str | None, Query(description="A reference number of the review.")] = None,
    about: Annotated[str | None, Query(description="Any term the finding names (source, condition, EV subtype, "
                                                   "outcome, reference, cargo, target, pathway, what it affects).")] = None,
    other_sources: Annotated[str | None, Query(description="true: only findings from none of the four main sources "
                                                           "(bone marrow, umbilical cord, adipose, embryonic).")] = None,
    vesicles_only: Annotated[str | None, Query(description="true: leave out cell-level findings.")] = None,
    sort: Annotated[str, Query(description=f"The column to sort by: {', '.join(SORT_KEYS)}.")] = "reference",
    order: Annotated[Literal["asc", "desc"], Query(description="asc or desc.")] = "asc",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page.")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="Rows skipped before the page.")] = 0,
    format: Annotated[Literal["csv", "tsv", "json"] | None, Query(
        description="Download every row the filters keep, sorted, instead of a page.")] = None,
):
    try:
        filters = findings.read_filters(request.query_params, site.store)
        if format:
            findings.check_paging(sort, order, limit, offset)
            rows, _ = await findings.all_rows(site, filters)
            body, media_type = findings.download(findings.sorted_rows(rows, sort, order == "desc"), format)
            return Response(body, media_type=media_type,
                            headers={"Content-Disposition": f'attachment; filename="findings.{format}"'})
        table = await findings.findings_table(site, filters, sort, order == "desc", offset, limit)
        table.options = await form_options(site, filters)
    except MscevError as error:
        return site.error(request, 400, str(error))
    return site.page(request, "findings.html", table=table)


async def form_options(site: Site, filters: Filters) -> dict[str, list[tuple[str, str]]]:
    """The menus of the filter form: the values the findings take (sources with their parent classes, areas),
    and the filter's own value when the menu lacks it (a parent condition given in the URL)."""
    rows, _ = await findings.all_rows(site, Filters())
    options: dict[str, dict[str, str]] = {"source": {}, "area": {}, "condition": {}, "subtype": {}, "outcome": {}}
    sources = await site.cached(Job(web_query("findings-by-source")))
    if sources.ok:
        for source, *_ in site.table(sources)[1]:
            options["source"][source.iri] = source.text
    for quad in site.store.quads_for_pattern(None, RDF_TYPE, CONDITION_AREA):
        options["area"][quad.subject.value] = site.pages.term(quad.subject).text
    for row in rows:
        options["condition"].update((t.iri, t.text) for t in row.conditions)
        options["subtype"].update((t.iri, t.text) for t in row.subtypes)
        options["source"].update((t.iri, t.text) for t in row.sources)
        if row.outcome.iri:
            options["outcome"][row.outcome.iri] = row.outcome.text
    for name, menu in options.items():
        chosen = getattr(filters, name)
        if chosen and chosen not in menu:
            menu[chosen] = site.pages.term(ox.NamedNode(chosen)).text
    return {name: sorted(menu.items(), key=lambda item: item[1].casefold()) for name, menu in options.items()}
