"""The SPARQL protocol's rules for this server: which formats it speaks, and which requests it refuses.

Refusals are decided before pyoxigraph parses a query (in the query worker, by ``refusal``: scanning up to 256 KB
of text is CPU work, kept off the server's event loop):
- updates: pyoxigraph's query parser rejects them anyway (a 400), and the store is opened read-only; the
  server answers the clearer 403 when an update form field, an update content type, or an update operation
  (INSERT, DELETE, LOAD, CLEAR …) as the first keyword of the text is seen;
- SERVICE: pyoxigraph does run federated queries over HTTP, so they must be caught before evaluation.
  pyoxigraph does not expose its parse tree, and rdflib's parser takes about 0.2 s a query, longer than most
  queries here take to run; so the text is split into SPARQL tokens the way the grammar does (IRIs, strings,
  comments, prefixed names and variables are whole tokens; \\u escapes are expanded first, as the grammar
  says) and a bare SERVICE keyword token anywhere is refused. SERVICE inside a string, an IRI, a comment, a
  variable name or a prefixed name is not a keyword and passes;
- nesting deeper than MAX_NESTING brackets: pyoxigraph's parser recurses and overflows its stack on
  thousands of nested groups, which would kill the worker (a 500); such a query is refused with 400 first;
- more than MAX_ELEMENTS pattern elements (BIND, OPTIONAL, MINUS, UNION, FILTER, GRAPH, VALUES, EXISTS, SELECT,
  AS, and the separators . ; , between triple patterns and arguments): pyoxigraph's evaluator recurses once
  per element, and 5,000 BINDs, MINUS groups or projected expressions overflow its stack (a segfault), while
  1,000 triple patterns or OPTIONALs already take minutes to plan. The stored queries have at most 102;
  the data of a VALUES block and the text of strings, IRIs and numbers do not count.
"""

from __future__ import annotations

import re

import mimeparse
import pyoxigraph as ox

from mscev.namespaces import prefix_map

RESULTS_TYPES = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
                 "csv": "text/csv", "tsv": "text/tab-separated-values"}
GRAPH_TYPES = {"ttl": "text/turtle", "nt": "application/n-triples", "jsonld": "application/ld+json",
               "rdfxml": "application/rdf+xml", "n3": "text/n3"}
GRAPH_FORMAT_NAMES = {"ttl": "Turtle", "nt": "N-Triples", "jsonld": "JSON-LD", "rdfxml": "RDF/XML", "n3": "N3"}
# Other names and media types that clients use, and the format each means: media types some clients send in
# Accept, and names they send in `format` (Virtuoso, SPARQLWrapper) or `output` (Fuseki, SPARQLWrapper). For a
# graph, json and xml mean JSON-LD and RDF/XML, as in Fuseki (and SPARQLWrapper's XML default); text is Fuseki's.
RESULTS_ALIASES = {"application/json": RESULTS_TYPES["json"], "application/xml": RESULTS_TYPES["xml"],
                   "text/xml": RESULTS_TYPES["xml"], "sparql": RESULTS_TYPES["xml"]}
GRAPH_ALIASES = {"application/json": GRAPH_TYPES["jsonld"], "application/x-json+ld": GRAPH_TYPES["jsonld"],
                 "application/xml": GRAPH_TYPES["rdfxml"], "text/xml": GRAPH_TYPES["rdfxml"],
                 "application/turtle": GRAPH_TYPES["ttl"], "application/x-turtle": GRAPH_TYPES["ttl"],
                 "text/rdf+n3": GRAPH_TYPES["n3"],
                 "json": GRAPH_TYPES["jsonld"], "json-ld": GRAPH_TYPES["jsonld"], "xml": GRAPH_TYPES["rdfxml"],
                 "rdf+xml": GRAPH_TYPES["rdfxml"], "rdf": GRAPH_TYPES["rdfxml"], "turtle": GRAPH_TYPES["ttl"],
                 "text": GRAPH_TYPES["ttl"], "ntriples": GRAPH_TYPES["nt"], "n-triples": GRAPH_TYPES["nt"]}
FORMAT_PARAMETERS = ("format", "output")
HTML = "text/html"

MAX_NESTING = 200
MAX_ELEMENTS = 1000
ELEMENT_KEYWORDS = {"BIND", "OPTIONAL", "MINUS", "UNION", "FILTER", "GRAPH", "VALUES", "EXISTS", "SELECT", "AS",
                    "SERVICE"}
SEPARATORS = ".;,"
# Media ranges of an Accept header that are read: matching costs time per range and offer, so a header of
# thousands of ranges would cost a tenth of a second of the server's event loop; browsers send fewer than ten.
MAX_ACCEPT_RANGES = 64
OPENING, CLOSING = "([{", ")]}"
UPDATE_KEYWORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
TOKEN = re.compile(r"""
    (?P<comment>\#[^\n\r]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\" | '''(?:[^'\\]|\\.|'(?!''))*'''
              | "(?:[^"\\\n\r]|\\.)*" | '(?:[^'\\\n\r]|\\.)*')
  | (?P<variable>[?$][\w\u00B7\u0300-\u036F\u203F-\u2040]+)
  | (?P<name>(?:[^\W\d][\w.-]*)?:(?:[\w:%-]|\\.|\.(?=[\w:%-]))*    # prefixed name (PNAME_NS, PNAME_LN)
            | _:[\w.-]*[\w-]|_:\w                                 # blank node label
            | @[A-Za-z]+(?:-[A-Za-z0-9]+)*)                       # language tag
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[^\W\d]\w*)
  | (?P<other>\S)
""", re.VERBOSE)


def expand_codepoint_escapes(text: str) -> str:
    r"""Expand \uXXXX and \UXXXXXXXX escapes, as the SPARQL grammar does before parsing.

    >>> expand_codepoint_escapes(r"\u0053ERVICE")
    'SERVICE'
    """
    def replace(match: re.Match) -> str:
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if code <= 0x10FFFF else match.group(0)

    return CODEPOINT_ESCAPE.sub(replace, text)


def scan(text: str) -> tuple[list[str], int, int]:
    """The bare words of a SPARQL text, upper-cased (keywords, function names), its deepest bracket nesting and
    its number of pattern elements (ELEMENT_KEYWORDS and SEPARATORS). Scanning stops once the nesting or the
    elements are over their limits: the query is refused anyway, and a hostile one is refused in no time.

    >>> scan('SELECT * WHERE { ?service <urn:SERVICE> "service {" . ex:service ?p 1.5 FILTER(1) } # SERVICE')
    (['SELECT', 'WHERE', 'FILTER'], 2, 3)
    """
    words, depth, deepest, elements = [], 0, 0, 0
    for match in TOKEN.finditer(expand_codepoint_escapes(text)):
        if match.group("word"):
            words.append(match.group("word").upper())
            elements += words[-1] in ELEMENT_KEYWORDS
        elif match.group("other"):
            depth += (match.group("other") in OPENING) - (match.group("other") in CLOSING)
            deepest = max(deepest, depth)
            elements += match.group("other") in SEPARATORS
        if deepest > MAX_NESTING or elements > MAX_ELEMENTS:
            break
    return words, deepest, elements


def refusal(text: str) -> tuple[int, str] | None:
    """The HTTP status and the reason for refusing this query text (an update, a SERVICE call, too deep a
    nesting, too many pattern elements), or None when it may run."""
    words, depth, elements = scan(text)
    operation = next((word for word in words if word not in ("BASE", "PREFIX")), None)
    if operation in UPDATE_KEYWORDS:
        return 403, (f"This endpoint is read-only: SPARQL updates ({operation} …) are refused. Use SELECT, ASK, "
                     "CONSTRUCT or DESCRIBE.")
    if "SERVICE" in words:
        return 403, ("Federated queries (SERVICE) are refused by this endpoint: it answers from its own graph only. "
                     "Run the query on your own store, with this graph loaded, to combine it with other sources.")
    if depth > MAX_NESTING:
        return 400, f"The query nests brackets more than {MAX_NESTING} deep, the most this endpoint accepts."
    if elements > MAX_ELEMENTS:
        return 400, (f"The query has more than {MAX_ELEMENTS} pattern elements (BIND, OPTIONAL, FILTER, UNION, triple "
                     "patterns …), the most this endpoint accepts. Split it, or put data in a VALUES block.")
    return None


def negotiate(accept: str | None, offers: list[str]) -> str | None:
    """The offer that the Accept header prefers, or None; on ties, and for */*, the first offer wins. Only the
    first MAX_ACCEPT_RANGES media ranges count.

    >>> negotiate("text/html,application/xhtml+xml,*/*;q=0.8", ["text/turtle", "text/html"])
    'text/html'
    >>> negotiate(None, ["text/turtle", "text/html"])
    'text/turtle'
    """
    ranked = list(reversed(offers))  # python-mimeparse gives ties to the last offer
    if accept and accept.count(",") >= MAX_ACCEPT_RANGES:
        accept = ",".join(accept.split(",", MAX_ACCEPT_RANGES)[:MAX_ACCEPT_RANGES])
    try:
        return mimeparse.best_match(ranked, accept or "*/*") or None
    except (mimeparse.MimeTypeParseException, ValueError, IndexError):
        return mimeparse.best_match(ranked, "*/*") or None


def format_values(pairs) -> list[tuple[str, str]]:
    """(parameter, value) for each format named in the ``format`` and ``output`` parameters among ``pairs``, in
    order. A value may be a comma-separated list (SPARQLWrapper sends its Accept header there); values are
    compared without case and media-type parameters, empty ones are left out, and a space is read as the "+"
    that an unencoded URL turns into one (rdf+xml)."""
    values = []
    for parameter, value in pairs:
        if parameter in FORMAT_PARAMETERS:
            for item in value.split(","):
                item = item.split(";")[0].strip().lower().replace(" ", "+")
                if item:
                    values.append((parameter, item))
    return values


def unknown_format(values: list[tuple[str, str]], tables: bool = True) -> str | None:
    """The refusal of the first value that names no format this server writes (no graph format, when not
    ``tables``: a resource's description is a graph), or None."""
    kinds = [(GRAPH_TYPES, GRAPH_ALIASES), *([(RESULTS_TYPES, RESULTS_ALIASES)] if tables else [])]
    for parameter, value in values:
        if all(_named(value, *kind) is None for kind in kinds):
            names = [*(RESULTS_TYPES if tables else []), *GRAPH_TYPES]
            return (f"{parameter}={value!r}: choose one of {', '.join(names)} (or turtle, json-ld, ntriples, "
                    "rdf+xml, or a media type such as text/turtle)")
    return None


def _named(value: str, types: dict[str, str], aliases: dict[str, str]) -> str | None:
    if value in types:
        return types[value]
    if value in types.values():
        return value
    return aliases.get(value)


def _negotiated(accept: str | None, types: dict[str, str], aliases: dict[str, str], extra: tuple = ()) -> str | None:
    offers = [*types.values(), *extra, *(alias for alias in aliases if "/" in alias)]
    chosen = negotiate(accept, offers)
    return aliases.get(chosen, chosen)


def results_type(accept: str | None, values: list[tuple[str, str]] = ()) -> str | None:
    """The media type for SELECT/ASK results: the first named format that is one (see format_values), or else
    the one the Accept header prefers; None if none is acceptable."""
    if values:
        return next(filter(None, (_named(value, RESULTS_TYPES, RESULTS_ALIASES) for _, value in values)), None)
    return _negotiated(accept, RESULTS_TYPES, RESULTS_ALIASES)


def graph_type(accept: str | None, values: list[tuple[str, str]] = (), extra: tuple = ()) -> str | None:
    """The media type for CONSTRUCT/DESCRIBE results and resource descriptions (Turtle by default), as
    results_type chooses it; ``extra`` offers (HTML) are negotiated after the RDF formats."""
    if values:
        return next(filter(None, (_named(value, GRAPH_TYPES, GRAPH_ALIASES) for _, value in values)), None)
    return _negotiated(accept, GRAPH_TYPES, GRAPH_ALIASES, extra)


def answer_types(accept: str | None, values: list[tuple[str, str]] = ()) -> tuple[str | None, str | None]:
    """The media types for a result table and for a graph, for a query whose form is not known yet.

    When the Accept header fits one kind of answer only, the other kind gets its default (SPARQL JSON, Turtle)
    instead of a 406, as Fuseki does: rdflib's SPARQLStore with returnFormat="json" accepts SPARQL JSON alone,
    whatever the query. Formats named in ``format``/``output`` are kept as named."""
    results, graph = results_type(accept, values), graph_type(accept, values)
    if not values and (results is None) != (graph is None):
        results, graph = results or RESULTS_TYPES["json"], graph or GRAPH_TYPES["ttl"]
    return results, graph


def used_prefixes(triples) -> dict[str, str]:
    """The project's prefixes that some IRI of ``triples`` starts with, so that Turtle declares only those."""
    namespaces = prefix_map().items()
    used = {}
    for triple in triples:
        for term in (triple.subject, triple.predicate, triple.object):
            if isinstance(term, ox.NamedNode):
                used.update((prefix, namespace) for prefix, namespace in namespaces
                            if prefix not in used and term.value.startswith(namespace))
    return used


def write_graph(triples, media_type: str, output=None, prefixes: dict[str, str] | None = None) -> bytes | None:
    """Triples in ``media_type`` as this server writes them, to the binary file ``output`` or returned: JSON-LD
    by the release's own writer (mscev.export.to_jsonld, compacted with ontology/context.jsonld), so that an
    answer and the release read alike; the other formats by pyoxigraph as the triples come, declaring
    ``prefixes`` (by default the project prefixes the triples use, which needs them as a list)."""
    if media_type != GRAPH_TYPES["jsonld"]:
        return ox.serialize(triples, output, format=ox.RdfFormat.from_media_type(media_type),
                            prefixes=used_prefixes(triples) if prefixes is None else prefixes)
    from rdflib import Graph

    from mscev.export import to_jsonld

    body = to_jsonld(Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt"))
    if output is None:
        return body
    output.write(body)
    return None
