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
               "rdfxml": "application/rdf+xml"}
GRAPH_FORMAT_NAMES = {"ttl": "Turtle", "nt": "N-Triples", "jsonld": "JSON-LD", "rdfxml": "RDF/XML"}
# Media types that some clients send for SPARQL results, and the format they mean.
RESULTS_ALIASES = {"application/json": "application/sparql-results+json", "application/xml":
                   "application/sparql-results+xml", "text/xml": "application/sparql-results+xml"}
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


def results_type(accept: str | None, short_name: str | None = None) -> str | None:
    """The media type for SELECT/ASK results: a ``format`` name wins over Accept; None if none is acceptable."""
    if short_name:
        return RESULTS_TYPES.get(short_name)
    offers = [*RESULTS_TYPES.values(), *RESULTS_ALIASES]
    chosen = negotiate(accept, offers)
    return RESULTS_ALIASES.get(chosen, chosen)


def graph_type(accept: str | None, short_name: str | None = None) -> str | None:
    """The media type for CONSTRUCT/DESCRIBE results and resource descriptions (Turtle by default)."""
    if short_name:
        return GRAPH_TYPES.get(short_name)
    return negotiate(accept, list(GRAPH_TYPES.values()))


def known_format(short_name: str | None) -> bool:
    return not short_name or short_name in RESULTS_TYPES or short_name in GRAPH_TYPES


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
