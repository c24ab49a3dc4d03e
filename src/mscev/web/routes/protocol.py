"""The SPARQL 1.1 Protocol at /sparql: GET, POST form and POST application/sparql-query; the query page for
browsers; the Service Description when no query is given."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mscev.web.editor import editor_context
from mscev.web.pool import Answer, Job
from mscev.web.site import (
    ALL_TYPES,
    HTML_ROWS,
    RESULT_CONTENT,
    WEB_DIR,
    Site,
    SiteDep,
    base_url,
    downloads,
)
from mscev.web.sparql import (
    GRAPH_TYPES,
    HTML,
    RESULTS_TYPES,
    answer_types,
    format_values,
    graph_type,
    negotiate,
    unknown_format,
)

SERVICE_DESCRIPTION = WEB_DIR / "service-description.ttl"
SPARQL_QUERY_TYPE, SPARQL_UPDATE_TYPE, FORM_TYPE = ("application/sparql-query", "application/sparql-update",
                                                     "application/x-www-form-urlencoded")
SD_PREFIXES = {"sd": "http://www.w3.org/ns/sparql-service-description#", "formats": "http://www.w3.org/ns/formats/",
               "dcterms": "http://purl.org/dc/terms/"}

router = APIRouter(tags=["SPARQL protocol"])


@router.get("/sparql", responses=RESULT_CONTENT,
            summary="SPARQL 1.1 query by GET; without a query, the service description (or the query page)")
async def sparql_get(
    request: Request, site: SiteDep,
    query: Annotated[str | None, Query(description="A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE).")] = None,
    default_graph_uri: Annotated[list[str] | None, Query(alias="default-graph-uri", description=(
        "Graphs forming the default graph; without it, the union of the asserted and the inferred graph."))] = None,
    named_graph_uri: Annotated[list[str] | None, Query(alias="named-graph-uri")] = None,
    format: Annotated[str | None, Query(description=(
        "Overrides Accept: json, xml, csv, tsv, ttl, n3, nt, jsonld, rdfxml, other usual names (turtle, json-ld, "
        "ntriples, rdf+xml …) or a media type; json and xml mean JSON-LD and RDF/XML for a graph. `output` is "
        "read the same way (Fuseki's name for it)."))] = None,
):
    # the parameters above document the interface (OpenAPI); repeated ones are read from the URL as they came
    return await answer_sparql(request, site, _fields(request.query_params.multi_items()))


@router.post("/sparql", responses=RESULT_CONTENT,
             summary="SPARQL 1.1 query by POST (form or application/sparql-query); updates are refused",
             openapi_extra={"requestBody": {"required": True, "content": {
                 FORM_TYPE: {"schema": {"type": "object", "properties": {
                     "query": {"type": "string"}, "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                     "named-graph-uri": {"type": "array", "items": {"type": "string"}}}}},
                 SPARQL_QUERY_TYPE: {"schema": {"type": "string"}}}}})
async def sparql_post(request: Request, site: SiteDep):
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == SPARQL_UPDATE_TYPE:
        return site.error(request, 403, "This endpoint is read-only: SPARQL updates are refused.")
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return site.error(request, 400, "The request body is not UTF-8 text.")
    url_fields = request.query_params.multi_items()
    if content_type == FORM_TYPE:
        fields = _fields([*url_fields, *parse_qsl(text, keep_blank_values=True)])
    elif content_type == SPARQL_QUERY_TYPE:
        fields = _fields([(k, v) for k, v in url_fields if k != "query"])
        fields["query"] = [text]
    else:
        return site.error(request, 415, f"POST a query as {FORM_TYPE} or {SPARQL_QUERY_TYPE} "
                                        f"(got {content_type or 'no content type'}).")
    return await answer_sparql(request, site, fields)


async def answer_sparql(request: Request, site: Site, fields: dict[str, list[str]]) -> Response:
    """One protocol request, whichever way it came: the fields of the URL and the body, by name."""
    if "update" in fields:
        return site.error(request, 403, "This endpoint is read-only: SPARQL updates are refused.")
    queries = fields.get("query", [])
    named = format_values((name, value) for name, values in fields.items() for value in values)
    problem = unknown_format(named)
    if problem:
        return site.error(request, 400, problem)
    accept = request.headers.get("accept")
    wants_html = not named and negotiate(accept, [*ALL_TYPES, HTML]) == HTML
    if len(queries) > 1:
        return site.error(request, 400, "Give exactly one 'query' parameter.")
    if not queries or not queries[0].strip():
        if wants_html:
            return site.page(request, "sparql.html", answer=None, **editor_context(site))
        return _service_description(request, site, named)
    text = queries[0]  # refused or not by its shape in a worker (mscev.web.pool.execute), off the event loop
    graphs = {"default_graphs": tuple(fields.get("default-graph-uri", [])),
              "named_graphs": tuple(fields.get("named-graph-uri", []))}
    for name, iris in zip(("default-graph-uri", "named-graph-uri"), graphs.values()):
        for iri in iris:
            try:
                ox.NamedNode(iri)
            except ValueError as error:
                return site.error(request, 400, f"{name}={iri!r}: not a valid IRI ({error}).")
    graphs["base_iri"] = _endpoint(request)
    if wants_html:  # the page renders SPARQL JSON or N-Triples itself
        job = Job(text, results_type=RESULTS_TYPES["json"], graph_type=GRAPH_TYPES["nt"], page_rows=HTML_ROWS,
                  **graphs)
    else:
        results, graph = answer_types(accept, named)
        job = Job(text, results_type=results, graph_type=graph, **graphs)
    if job.results_type is None and job.graph_type is None:
        return site.error(request, 406, "No acceptable format: ask for SPARQL results (JSON, XML, CSV, TSV) "
                                        "or RDF (Turtle, N-Triples, JSON-LD).")
    answer = await site.run_free(request, job)
    if wants_html:
        return _sparql_page(request, site, text, answer)
    return site.respond(answer, {"Vary": "Accept", **({"Retry-After": "5"} if answer.status == 429 else {})})


def _sparql_page(request: Request, site: Site, text: str, answer: Answer) -> Response:
    graph = answer.ok and answer.media_type.startswith("application/n-triples")
    context = {**editor_context(site, text), "answer": answer,
               "downloads": downloads("/sparql", {"query": text}, ("ttl", "nt", "jsonld") if graph else None)}
    if graph:
        triples = list(ox.parse(answer.body, ox.RdfFormat.N_TRIPLES))
        context["variables"] = ["subject", "predicate", "object"]
        context["rows"] = [[site.pages.term(t.subject), site.pages.term(t.predicate), site.pages.term(t.object)]
                           for t in triples[:HTML_ROWS]]
    elif answer.ok:
        results = ox.parse_query_results(answer.body, ox.QueryResultsFormat.JSON)
        if isinstance(results, ox.QueryBoolean):
            context["boolean"] = bool(results)
        else:
            context["variables"], context["rows"] = site.pages.table(results)
    status = answer.status if not answer.ok else 200
    return site.page(request, "sparql.html", status, **context)


def _service_description(request: Request, site: Site, named: list[tuple[str, str]]) -> Response:
    media_type = graph_type(request.headers.get("accept"), named)
    if media_type is None:
        return site.error(request, 406, "The service description is RDF: accept Turtle, N-Triples or JSON-LD.")
    endpoint = base_url(request, site.settings.base_url) + "sparql"
    triples = ox.parse(path=SERVICE_DESCRIPTION, format=ox.RdfFormat.TURTLE, base_iri=endpoint)
    body = ox.serialize(triples, format=ox.RdfFormat.from_media_type(media_type), prefixes=SD_PREFIXES)
    return Response(body, media_type=media_type, headers={"Vary": "Accept"})


def _fields(pairs) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


def _endpoint(request: Request) -> str | None:
    """The endpoint's URL, the base IRI of a query sent to it (SPARQL 1.1 Protocol); None if it is no IRI."""
    endpoint = str(request.url.replace(query=""))
    try:
        ox.NamedNode(endpoint)
    except ValueError:
        return None
    return endpoint
