"""Linked data: every IRI under https://w3id.org/mscev/ at its own path and any other IRI at /resource?iri=…,
as a page for browsers and as its description for RDF clients (content negotiation). Registered last: its
path matches anything."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import pyoxigraph as ox
from anyio import from_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from mscev.errors import MscevError
from mscev.namespaces import EXTERNAL_ONTOLOGY_IRI, NAMESPACES, ONTOLOGY_IRI, expand
from mscev.paths import EXTERNAL_FILE, ONTOLOGY_FILE
from mscev.web import term_findings
from mscev.web.site import Site, SiteDep, downloads
from mscev.web.sparql import (
    GRAPH_FORMAT_NAMES,
    GRAPH_TYPES,
    HTML,
    format_values,
    graph_type,
    unknown_format,
    write_graph,
)

ONTOLOGY_FILES = {ONTOLOGY_IRI: ONTOLOGY_FILE, EXTERNAL_ONTOLOGY_IRI: EXTERNAL_FILE}
DESCRIPTIONS = {200: {"content": {HTML: {}, **{media_type: {} for media_type in GRAPH_TYPES.values()}}}}

router = APIRouter(tags=["Linked data"])


@router.get("/resource", summary="Any IRI of the graph: a page or its RDF description", responses=DESCRIPTIONS)
def any_resource(request: Request, site: SiteDep,
                 iri: Annotated[str, Query(description="A full IRI or a CURIE.")]):
    iri = expand(iri) or iri
    local = iri[len(NAMESPACES["MSCEV"]):]
    if iri.startswith(NAMESPACES["MSCEV"]) and not local.startswith("/"):  # "//host" would lead off this site
        extra = {k: v for k, v in request.query_params.items() if k != "iri"}
        return RedirectResponse("/" + local + ("?" + urlencode(extra) if extra else ""), 303)
    return describe(request, site, iri, invalid_status=400)


@router.get("/{path:path}", summary="The project's IRIs (https://w3id.org/mscev/PATH): a page or its RDF description",
            responses=DESCRIPTIONS)
def project_resource(request: Request, site: SiteDep, path: str):
    return describe(request, site, NAMESPACES["MSCEV"] + path)


def describe(request: Request, site: Site, iri: str, invalid_status: int = 404) -> Response:
    """Content negotiation for one IRI: a page, or its description in an RDF format.

    Text that is no IRI (spaces, control characters, an empty string) is refused with ``invalid_status``: 404 at
    a path (nothing lives there), 400 for /resource?iri= (the parameter is wrong)."""
    try:
        ox.NamedNode(iri)
    except ValueError as error:
        name = f"iri={iri!r}" if invalid_status == 400 else f"<{iri}>"
        return site.error(request, invalid_status, f"{name} is not a valid IRI ({error}); nothing is about it.")
    named = format_values(request.query_params.multi_items())
    problem = unknown_format(named, tables=False)
    if problem:
        return site.error(request, 400, problem)
    media_type = graph_type(request.headers.get("accept"), named, extra=(HTML,))
    if media_type is None:
        return site.error(request, 406, "Accept text/html, text/turtle, application/n-triples, application/ld+json "
                                        "(or application/json), application/rdf+xml or text/n3.")
    ontology_file = ONTOLOGY_FILES.get(iri)
    if ontology_file is None and not site.pages.exists(iri):
        return site.error(request, 404, f"Nothing in the graph is about <{iri}>. Try the search on the home page.")
    if media_type == HTML:
        links = downloads(request.url.path, dict(request.query_params), tuple(GRAPH_TYPES))
        formats = [(GRAPH_FORMAT_NAMES[name], GRAPH_TYPES[name], link) for name, link in links]
        entity = site.pages.entity(iri)
        # term pages (issue 16, point 3): the findings about the term, from the findings table's cached answer
        try:
            table, table_error = from_thread.run(term_findings.findings_table, site, entity), None
        except MscevError as error:
            table, table_error = None, str(error)
        return site.page(request, "entity.html", entity=entity, iri=iri, formats=formats, findings=table,
                         findings_error=table_error)
    if ontology_file is not None and media_type == "text/turtle":
        body = ontology_file.read_bytes()
    else:
        triples = list(ox.parse(path=ontology_file, format=ox.RdfFormat.TURTLE)) if ontology_file \
            else site.pages.describe(iri)
        body = write_graph(triples, media_type)
    return Response(body, media_type=media_type, headers={"Vary": "Accept", "Link": f'<{iri}>; rel="describes"'})
