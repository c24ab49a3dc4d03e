"""The pictures: the source × condition (or × area) heat map and the network around a source or condition, as
pages and as SVG alone. Their drawing is mscev.web.pictures; here they get their data."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from mscev.web import pictures
from mscev.web.pictures import MATRIX_QUERIES
from mscev.web.pool import Job
from mscev.web.site import Site, SiteDep, web_query

NETWORK_DEFAULT_FOCUS = "mscev:BoneMarrowMSC"
SVG = {200: {"content": {"image/svg+xml": {}}}}
MatrixRows = Annotated[Literal["condition", "area"], Query(
    description="Rows: the conditions as reported (condition) or the organ or system areas they roll up to (area)")]
Focus = Annotated[str, Query(max_length=500)]

router = APIRouter(tags=["Pages"])


@router.get("/matrix", response_class=HTMLResponse,
            summary="The source × condition (or × area) evidence matrix as a heat map")
async def matrix(request: Request, site: SiteDep, by: MatrixRows = "condition"):
    return site.page(request, "matrix.html", heatmap=await _heatmap(site, by), query=MATRIX_QUERIES[by], by=by)


@router.get("/matrix.svg", summary="The heat map alone, as SVG", responses=SVG)
async def matrix_svg(request: Request, site: SiteDep, by: MatrixRows = "condition"):
    return site.templates.TemplateResponse(request, "matrix.svg", {"heatmap": await _heatmap(site, by),
                                                                  "standalone": True}, media_type="image/svg+xml")


@router.get("/network", response_class=HTMLResponse,
            summary="The neighbourhood of a source or a condition: sources → vesicles → cargo → targets → conditions")
async def network(request: Request, site: SiteDep, focus: Focus = NETWORK_DEFAULT_FOCUS):
    center, picture = await _network(site, focus)
    sources = await site.cached(Job(web_query("findings-by-source")))
    matrix_query = site.queries().get(pictures.MATRIX_QUERY)
    conditions = await site.cached(Job(matrix_query)) if matrix_query else None
    return site.page(request, "network.html", focus=center, network=picture,
                     sources=site.table(sources)[1] if sources.ok else [],
                     conditions=site.table(conditions)[1][:15] if conditions and conditions.ok else [])


@router.get("/network.svg", summary="The network view alone, as SVG", responses=SVG)
async def network_svg(request: Request, site: SiteDep, focus: Focus = NETWORK_DEFAULT_FOCUS):
    _center, picture = await _network(site, focus)
    return site.templates.TemplateResponse(request, "network.svg", {"network": picture, "standalone": True},
                                           media_type="image/svg+xml")


async def _heatmap(site: Site, rows_by: str):
    name = MATRIX_QUERIES[rows_by]
    stored = site.queries().get(name)
    if stored is None:
        raise HTTPException(404, f"The stored query {name} is missing from queries/.")
    answer = await site.cached(Job(stored))
    if not answer.ok:
        raise HTTPException(answer.status, answer.text)
    variables, rows = site.table(answer)
    return pictures.heatmap(variables, rows, partial(pictures.matrix_cell_href, rows_by=rows_by), row_heading=rows_by)


async def _network(site: Site, focus: str):
    answer = await site.cached(Job(web_query("neighbourhood"), {"focus": focus}))
    if not answer.ok:
        raise HTTPException(answer.status, answer.text)
    _, rows = site.table(answer)
    if not rows:
        raise HTTPException(404, f"Nothing surrounds {focus}: give an MSC source (class or cell population) or a "
                                 "condition that some finding names.")
    return rows[0][0], pictures.network(rows, rows[0][0].iri)
