"""The site's own pages: the home page and the search (a page for browsers, JSON for programs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from mscev.web.pictures import MATRIX_QUERY
from mscev.web.pool import Job
from mscev.web.site import SiteDep, web_query
from mscev.web.sparql import HTML, negotiate

router = APIRouter(tags=["Pages"])


@router.get("/", response_class=HTMLResponse, summary="Home page")
async def home(request: Request, site: SiteDep):
    queries = site.queries()
    context = {"queries": queries}
    jobs = {"summary": queries.get("graph-summary"),
            "sources": web_query("findings-by-source"), "subtypes": web_query("preparations-by-ev-subtype"),
            "conditions": queries.get(MATRIX_QUERY)}
    for key, stored in jobs.items():
        if stored is None:
            continue
        answer = await site.cached(Job(stored))
        if answer.ok:
            context[key] = site.table(answer)
    return site.page(request, "home.html", **context)


@router.get("/search", response_class=HTMLResponse, summary="Search the labels and synonyms of the graph")
async def search(request: Request, site: SiteDep, q: Annotated[str, Query(max_length=200)] = ""):
    results = site.pages.search(q)
    if negotiate(request.headers.get("accept"), [HTML, "application/json"]) == "application/json":
        return JSONResponse([{"iri": term.iri, "curie": term.curie, "label": term.text,
                              "types": [t.curie for t in types]} for term, types in results])
    if len(results) == 1 and results[0][0].href and q.strip():
        return RedirectResponse(results[0][0].href, 303)
    closest = site.pages.closest(q) if q.strip() and not results else []
    return site.page(request, "search.html", q=q, results=results, closest=closest)
