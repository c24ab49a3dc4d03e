"""The stored queries over HTTP: /queries lists them, /queries/NAME runs one with its parameters bound as by
`mscev query --param` (results for programs, a page with a form for browsers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mscev.render import catalogue_json
from mscev.web.pool import Job
from mscev.web.site import (
    ALL_TYPES,
    HTML_ROWS,
    RESULT_CONTENT,
    SiteDep,
    downloads,
)
from mscev.web.sparql import (
    FORMAT_PARAMETERS,
    HTML,
    answer_types,
    format_values,
    negotiate,
    unknown_format,
)

# /queries/NAME options, never query parameters
RESERVED_PARAMETERS = (*FORMAT_PARAMETERS, "inferred", "body-text-only", "limit", "offset")

router = APIRouter(tags=["Stored queries"])


@router.get("/queries", summary="The stored queries (JSON, or a page for browsers)",
            responses={200: {"content": {"application/json": {}, HTML: {}}}})
async def query_list(request: Request, site: SiteDep):
    queries = site.queries()
    if negotiate(request.headers.get("accept"), ["application/json", HTML]) == HTML:
        return site.page(request, "queries.html", queries=queries)
    return Response(catalogue_json(queries), media_type="application/json", headers={"Vary": "Accept"})


@router.get("/queries/{name}", responses=RESULT_CONTENT,
            summary="Run a stored query; other URL parameters are its parameters (as `mscev query --param`)")
async def run_stored(
    request: Request, site: SiteDep, name: str,
    format: Annotated[str | None, Query(description="Overrides Accept: json, xml, csv, tsv (or ttl, n3, nt, "
                                                    "jsonld, rdfxml for a CONSTRUCT query), or a media type; "
                                                    "`output` is read the same way.")] = None,
    inferred: Annotated[bool, Query(description="false: asserted triples only.")] = True,
    body_text_only: Annotated[bool, Query(alias="body-text-only", description=(
        "true: leave out the values a finding takes from outside the review's body text (reference titles, "
        "Table 2 rows), as `mscev query --body-text-only`."))] = False,
    limit: Annotated[int | None, Query(ge=0, description="At most this many rows (a page).")] = None,
    offset: Annotated[int, Query(ge=0, description="Skip this many rows first.")] = 0,
):
    queries = site.queries()
    if name not in queries:
        return site.error(request, 404, f"No stored query named '{name}'. The stored queries: "
                                        f"{', '.join(queries) or 'none'} (see /queries).")
    stored = queries[name]
    values = {k: v for k, v in request.query_params.items() if k not in RESERVED_PARAMETERS}
    accept = request.headers.get("accept")
    named = format_values(request.query_params.multi_items())  # `format` above documents them (OpenAPI)
    problem = unknown_format(named)
    if problem:
        return site.error(request, 400, problem)
    if not named and negotiate(accept, [*ALL_TYPES, HTML]) == HTML:
        answer = await site.run(Job(stored, values, inferred=inferred, body_text_only=body_text_only,
                                    page_rows=HTML_ROWS, limit=limit, offset=offset))
        rows = site.table(answer) if answer.ok else None
        form = {p.name: values.get(p.name, p.default or "") for p in stored.parameters}
        options = {**({} if inferred else {"inferred": "false"}), **({"body-text-only": "true"} if body_text_only else {}),
                   **({} if limit is None else {"limit": limit}), **({"offset": offset} if offset else {})}
        links = downloads(f"/queries/{name}", {**values, **options})
        return site.page(request, "query.html", answer.status, query=stored, answer=answer, table=rows,
                         form=form, inferred=inferred, body_text_only=body_text_only, downloads=links)
    job = Job(stored, values, *answer_types(accept, named), inferred=inferred, body_text_only=body_text_only,
              limit=limit, offset=offset)
    if job.results_type is None and job.graph_type is None:
        return site.error(request, 406, "No acceptable format: ask for SPARQL results (JSON, XML, CSV, TSV).")
    return site.respond(await site.stream(job), {"Vary": "Accept"})
