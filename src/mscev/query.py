"""Query stage: the stored SPARQL queries of queries/ run on the embedded pyoxigraph store.

Each stored query declares its question and parameters in its header::

    #+ summary: Which conditions were treated with vesicles from a given MSC source?
    #+ tags: source, condition
    #+ param: source iri(source) = mscev:UmbilicalCordMSC — the MSC source (a source class, tissue or cell population)

An iri parameter may name the kind of term it expects in brackets, ``iri(condition)`` or ``iri(source|condition)``
(queries/kinds/NAME.rq lists the terms of each kind): a name is then matched only among terms of that kind, and a
near miss gets the closest terms of that kind (mscev.names).

Values are turned into RDF terms of the declared type, then bound as a VALUES block placed first in the
query's WHERE group, written from those terms (N-Triples syntax), never from the user's text. The same block
binds them on a SPARQL endpoint (mscev.remote), which has no other way. pyoxigraph's substitutions would
bind them too, but its optimiser does not see substituted values when it orders the joins: a lookup by a
condition then scans every finding (seconds at 10,000 findings) where the VALUES block takes a millisecond.
A parameter's variable is in its query's SELECT clause, which shows the user what the value resolved to.

This module is on the path of `mscev query`, which should answer in a few hundred milliseconds: it imports
neither rdflib nor curies (see mscev.namespaces).
"""

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from mscev.derive import DERIVED_GRAPHS
from mscev.errors import MscevError
from mscev.names import NameIndex, read_kind, resolve_name
from mscev.namespaces import curie, expand, prefix_map
from mscev.manifest import source_digests
from mscev.paths import DEFAULT_BUILD_DIR, QUERIES_DIR, source_files

PARAM_TYPES = ("iri", "literal", "integer", "decimal", "boolean")
XSD = "http://www.w3.org/2001/XMLSchema#"
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
HEADER = re.compile(r"^#\+\s*([\w-]+)\s*:\s*(.*)$")
PARAM = re.compile(r"^(?P<name>\w+)\s+(?P<type>\w+)(?:\((?P<kinds>[\w|-]+)\))?"
                   r'(?:\s*=\s*(?:"(?P<quoted>[^"]*)"|(?P<default>\S+)))?'
                   r"\s*(?:(?:—|--?)\s*(?P<description>.*))?$")
INTEGER = re.compile(r"[+-]?\d+", re.ASCII)  # ASCII: other scripts' digits are no xsd:integer
DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)
BOOLEANS = {"true": "true", "1": "true", "false": "false", "0": "false"}
CURIE_LIKE = re.compile(r"[A-Za-z][\w.-]*:\S*")
PAGE_ROWS = 100  # the row numbers of a '#+ page-by' query looked up at once (with_page, paged_rows): at 100,000
# findings, 100 took 0.68 ms a row and 200 took 52 ms a row, as pyoxigraph's optimiser then joins by hashing
STORE_DIR = "store"
ASSERTED_GRAPH = ox.NamedNode("https://w3id.org/mscev/data/graph/asserted")
INFERRED_GRAPH = ox.NamedNode("https://w3id.org/mscev/data/graph/inferred")
# The asserted values that do not come from the review's body text (a value of a finding, effect or cargo evidence
# with a mscev:valueOrigin: a reference title, a Table 2 row) are kept in a graph of their own, so a query can
# leave them out.
NOT_FROM_BODY_GRAPH = ox.NamedNode("https://w3id.org/mscev/data/graph/not-from-body-text")
SEPARATE_NOT_FROM_BODY = f"""
DELETE {{ GRAPH {ASSERTED_GRAPH} {{ ?owner ?property ?value }} }}
INSERT {{ GRAPH {NOT_FROM_BODY_GRAPH} {{ ?owner ?property ?value }} }}
WHERE {{ GRAPH {ASSERTED_GRAPH} {{
  ?owner <https://w3id.org/mscev/valueOrigin> ?origin .
  ?origin <https://w3id.org/mscev/originProperty> ?property ; <https://w3id.org/mscev/originValue> ?value .
  ?owner ?property ?value }} }}
"""
# SPARQL tokens, enough to find braces outside strings, IRIs and comments (an IRI cannot hold braces or spaces).
TOKENS = re.compile(r'''
    (?P<comment>\#[^\r\n]*)
  | (?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'
              |"(?:[^"\\\r\n]|\\.)*"|'(?:[^'\\\r\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$]\w+)
  | (?P<name>[\w.-]*:[^\s{}()<>"',;]*|[A-Za-z_]\w*)
  | (?P<brace>[{}])
  | (?P<paren>[()])
  | (?P<other>\S)
''', re.X | re.S)


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: str | None
    description: str
    kinds: tuple[str, ...] = ()  # for an iri parameter: the kinds of term it expects (queries/kinds/), any when empty


@dataclass(frozen=True)
class StoredQuery:
    name: str
    path: Path
    summary: str
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    text: str
    may_be_empty: tuple[str, ...] = ()
    values_from: dict[str, str] = field(default_factory=dict)  # parameter → the property whose values it takes
    needs: tuple[str, ...] = ()  # "inferences": the answer comes from the reasoner's inferred triples
    page_by: str | None = None  # a variable that numbers the rows 1, 2, … in order: a page is a look-up of its numbers


def read_query(path: Path) -> StoredQuery:
    """Parse a .rq file and its '#+' header lines (summary, tags, param, may-be-empty)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MscevError(f"{path}: cannot read ({error.strerror})") from None
    except UnicodeDecodeError:
        raise MscevError(f"{path}: not UTF-8 text") from None
    summary, tags, parameters, may_be_empty, values_from, needs, page_by = "", (), [], (), {}, (), None
    for line_no, line in enumerate(text.splitlines(), start=1):
        match = HEADER.match(line.strip())
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if key == "summary":
            summary = value
        elif key == "tags":
            tags = tuple(t.strip() for t in value.split(",") if t.strip())
        elif key == "page-by":
            page_by = value.split()[0].lstrip("?$") if value.split() else ""
            if not re.fullmatch(r"\w+", page_by):
                raise MscevError(f"{path}:{line_no}: a page-by line reads '#+ page-by: VARIABLE' (the variable that "
                                 "numbers the rows 1, 2, … in their order)")
        elif key == "needs":
            needs = tuple(v.strip() for v in value.split(",") if v.strip())
        elif key == "values-from":
            name, _, prop = value.partition(" ")
            if not expand(prop.strip()):
                raise MscevError(f"{path}:{line_no}: a values-from line reads '#+ values-from: PARAMETER CURIE' "
                                 "(the property whose values the parameter takes)")
            values_from[name.strip()] = expand(prop.strip())
        elif key == "may-be-empty":
            may_be_empty = tuple(v.strip().lstrip("?") for v in value.split("—")[0].split(",") if v.strip())
        elif key == "param":
            param = PARAM.match(value)
            if not param or param["type"] not in PARAM_TYPES:
                raise MscevError(f"{path}:{line_no}: a parameter line reads '#+ param: NAME TYPE[(KIND)] [= DEFAULT] — "
                                 f"description' with TYPE one of {', '.join(PARAM_TYPES)}")
            if param["kinds"] and param["type"] != "iri":
                raise MscevError(f"{path}:{line_no}: only an iri parameter takes a kind of term, as in iri(condition)")
            default = param["quoted"] if param["quoted"] is not None else param["default"]
            kinds = tuple(param["kinds"].split("|")) if param["kinds"] else ()
            for kind in kinds:
                try:
                    read_kind(kind)
                except MscevError as error:
                    raise MscevError(f"{path}:{line_no}: {error}") from None
            parameters.append(Parameter(param["name"], param["type"], default, (param["description"] or "").strip(),
                                        kinds))
    return StoredQuery(path.stem, path, summary, tags, tuple(parameters), text, may_be_empty, values_from, needs,
                       page_by)


def stored_queries(folder: Path = QUERIES_DIR) -> dict[str, StoredQuery]:
    """Every stored query by name (the file stem)."""
    return {path.stem: read_query(path) for path in sorted(Path(folder).glob("*.rq"))}


def is_project_query(query: StoredQuery) -> bool:
    """A query of the project's own folders (queries/, the web pages' queries), trusted as code is; any other
    text (an ad-hoc .rq file, a test's) is held to the endpoint's rules before it runs."""
    folder = Path(query.path).resolve().parent
    return folder in (QUERIES_DIR.resolve(), (Path(__file__).parent / "web" / "queries").resolve())


def find_query(name_or_file: str) -> StoredQuery:
    """A stored query by name, or an ad-hoc .rq file by path."""
    path = Path(name_or_file)
    if path.suffix == ".rq":
        if not path.is_file():
            raise MscevError(f"{path}: no such query file")
        return read_query(path)
    queries = stored_queries()
    if name_or_file not in queries:
        close = [n for n in queries if name_or_file.lower() in n.lower()]
        hint = f" Did you mean: {', '.join(close)}?" if close else " `mscev query --list` shows them all."
        raise MscevError(f"no stored query named '{name_or_file}'.{hint}")
    return queries[name_or_file]


def open_store(build_dir: Path = DEFAULT_BUILD_DIR, checksums: bool = False) -> ox.Store:
    """The store written by `mscev build`, opened read-only, after checking the build against its manifest
    (mscev.manifest: sizes; with ``checksums`` also SHA-256 and the store's triple counts, for the commands that
    read the whole build).

    RocksDB checks its files when it opens them (a truncated, missing or overwritten file raises there); an
    emptied store opens fine, so one look-up checks that the asserted graph is there.
    """
    from mscev.manifest import check_build, damaged

    path = Path(build_dir) / STORE_DIR
    if not path.is_dir():
        raise MscevError(f"no built graph in {build_dir}: run `mscev build` first (it writes {path}).")
    check_build(build_dir)
    try:
        store = ox.Store.read_only(str(path))
        if not store.query("ASK { GRAPH ?g { ?s ?p ?o } }"):
            raise damaged(build_dir, f"the store in {path} holds no triples")
    except (OSError, RuntimeError) as error:  # RocksDB reports corruption as RuntimeError
        raise damaged(build_dir, f"the store in {path} cannot be read: {str(error).splitlines()[0][:300]}") from None
    if checksums:
        check_build(build_dir, store, checksums=True)
    return store


def build_summary(build_dir: Path = DEFAULT_BUILD_DIR) -> dict:
    """The build's summary.json ({} without one): counts, engine, reasoner ("not run" without inferences),
    whether the data is a synthetic corpus, and the SHA-256 of every input file."""
    try:
        return json.loads((Path(build_dir) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def stale_sources(build_dir: Path = DEFAULT_BUILD_DIR) -> list[Path]:
    """Source files whose content differs from what the build in ``build_dir`` read, and files added or removed
    since (its answers may be out of date). Only files touched after the build are hashed, so a query stays fast."""
    try:
        built_at = (Path(build_dir) / "summary.json").stat().st_mtime
        summary = build_summary(build_dir)
        recorded, data_dir = summary["sources"], Path(summary["data_dir"])
    except (OSError, KeyError, TypeError):
        return []  # no build, or one from before content hashes: nothing to compare with
    current = {str(path.resolve()): path for path in source_files(data_dir)}
    changed = [Path(name) for name in recorded if name not in current and not Path(name).is_file()]
    for name, path in current.items():
        if name not in recorded:
            changed.append(path)
        elif path.stat().st_mtime > built_at and source_digests([path])[name] != recorded[name]:
            changed.append(path)
    return changed


def bind_parameters(query: StoredQuery, values: dict[str, str], store: ox.Store) -> dict[ox.Variable, object]:
    """Turn user-supplied strings into RDF terms of each parameter's declared type."""
    declared = {p.name: p for p in query.parameters}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        known = ", ".join(declared) or "none"
        raise MscevError(f"query '{query.name}' has no parameter {', '.join(unknown)} (its parameters: {known})")
    bindings = {}
    for param in query.parameters:
        raw = values.get(param.name, param.default)
        if raw is None:
            raise MscevError(f"query '{query.name}' needs --param {param.name}=… ({param.type}: {param.description})")
        bindings[ox.Variable(param.name)] = to_term(param, raw, store)
        if param.name in query.values_from:
            check_known_value(param, bindings[ox.Variable(param.name)], query.values_from[param.name], store)
    return bindings


def check_known_value(param: Parameter, term, prop: str, store: ox.Store) -> None:
    """A value the graph has for ``prop`` (e.g. a reference number), or a refusal that says which values it has."""
    predicate = ox.NamedNode(prop)
    # a query, not quads_for_pattern: the store may be a SPARQL endpoint (mscev.remote.RemoteStore); the term is
    # written from an RDF term (N-Triples syntax), never from the user's text
    if bool(store.query(f"ASK {{ ?s {predicate} {term} }}", use_default_graph_as_union=True)):
        return
    summary = next(iter(store.query(  # prop is an IRI from a query's header, never a user's text
        f"SELECT (MIN(?v) AS ?low) (MAX(?v) AS ?high) (COUNT(DISTINCT ?v) AS ?n) WHERE {{ ?s {predicate} ?v }}",
        use_default_graph_as_union=True)))
    held = (f"its values run from {summary['low'].value} to {summary['high'].value} ({summary['n'].value} in all)"
            if summary["low"] is not None else "it has none")
    raise MscevError(f"--param {param.name}={term.value}: the graph has no {curie(prop)} {term.value}; {held}")


def to_term(param: Parameter, raw: str, store: ox.Store):
    """One parameter value as an RDF term of the parameter's type, or a clear refusal."""
    def refuse(why: str):
        raise MscevError(f"--param {param.name}={raw!r}: {why}")

    if not raw.isascii():  # bytes that are no UTF-8 reach argv as lone surrogates, which no RDF term can hold
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            refuse("not UTF-8 text")
    text = raw.strip()
    if param.type == "literal":
        return ox.Literal(raw)
    if param.type == "integer":
        if not INTEGER.fullmatch(text):
            refuse("not an integer (digits with an optional sign)")
        digits = text.lstrip("+-").lstrip("0") or "0"  # canonical form, without int(): any number of digits
        return ox.Literal(("-" if text.startswith("-") and digits != "0" else "") + digits,
                          datatype=ox.NamedNode(XSD + "integer"))
    if param.type == "decimal":
        if not DECIMAL.fullmatch(text):
            refuse("not a decimal number (such as 150 or 0.5)")
        return ox.Literal(text, datatype=ox.NamedNode(XSD + "decimal"))
    if param.type == "boolean":
        if text.lower() not in BOOLEANS:
            refuse("not a boolean (true or false)")
        return ox.Literal(BOOLEANS[text.lower()], datatype=ox.NamedNode(XSD + "boolean"))
    return resolve_iri(text, store, refuse, param.kinds)


def resolve_iri(text: str, store: ox.Store, refuse, kinds: tuple[str, ...] = ()) -> ox.NamedNode:
    """A full IRI (bare or in <>), a CURIE with a known prefix, or a label or synonym of exactly one term of
    ``kinds`` in the graph (mscev.names.resolve_name)."""
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    iri = expand(text)
    if iri is None and ("://" in text or text.startswith("urn:")):
        iri = text
    if iri is not None:
        try:
            return ox.NamedNode(iri)
        except ValueError as error:
            refuse(f"not a valid IRI ({error})")
    if CURIE_LIKE.fullmatch(text) and not NameIndex.of(store, kinds).exact(text):
        refuse(f"unknown prefix '{text.partition(':')[0]}' (the prefixes are in ontology/prefixes.json)")
    try:
        return ox.NamedNode(resolve_name(text, store, kinds))
    except MscevError as error:
        refuse(str(error))


def separate_values_not_from_body(store: ox.Store) -> None:
    """Move the asserted values with a non-body origin into NOT_FROM_BODY_GRAPH (the build does it once)."""
    store.update(SEPARATE_NOT_FROM_BODY)


def query_graphs(inferred: bool = True, body_text_only: bool = False) -> dict:
    """The store's graphs a query reads: asserted, inferred unless ``inferred=False``, and the values that are not
    from the review's body text unless ``body_text_only``."""
    if inferred and not body_text_only:
        return {"use_default_graph_as_union": True}
    graphs = [ASSERTED_GRAPH, *([INFERRED_GRAPH] if inferred else []), *([] if body_text_only else [NOT_FROM_BODY_GRAPH]),
              *(derived.graph for derived in DERIVED_GRAPHS)]
    return {"default_graph": graphs}


def run_query(query: "str | StoredQuery", params: dict[str, str] | None = None, build_dir: Path = DEFAULT_BUILD_DIR,
              store: ox.Store | None = None, inferred: bool = True, body_text_only: bool = False,
              limit: int | None = None, offset: int = 0):
    """Run a stored query (by name, as an .rq file or already read) with parameters; returns pyoxigraph results,
    which are read lazily: rows stream out as the store finds them (all at once after an ORDER BY).

    The store keeps asserted and inferred triples in named graphs; a query sees both by default, or only the
    asserted ones with ``inferred=False``. ``body_text_only=True`` leaves out the values a finding takes from
    outside the review's body text (reference titles, Table 2 rows: see ontology/README.md, "Value origins").
    The derived graphs (direct statements and summaries, mscev.derive) are seen in every case; they were derived
    from all the values. ``limit`` and ``offset`` page the rows (with_page).
    """
    if not isinstance(query, StoredQuery):
        query = find_query(query)
    if not is_project_query(query):
        from mscev.web.sparql import refusal  # the server's rules: no updates, no SERVICE (network), no deep nesting

        refused = refusal(query.text)
        if refused:
            raise MscevError(f"{query.path}: {refused[1]}")
    store = open_store(build_dir) if store is None else store  # an empty store is falsy, and still the one given
    bindings = bind_parameters(query, params or {}, store)
    graphs = query_graphs(inferred, body_text_only)
    text = with_values(query.text, list(bindings), [tuple(bindings.values())])
    try:
        if query.page_by and (limit is None or limit > PAGE_ROWS):
            return paged_rows(store, text, graphs, query.page_by, limit, offset)
        return store.query(with_page(text, limit, offset, query.page_by), prefixes=prefix_map(), **graphs)
    except SyntaxError as error:
        raise MscevError(f"{query.path}: SPARQL syntax error: {error}") from None
    except RuntimeError as error:  # e.g. a parameter that the query does not project
        raise MscevError(f"{query.path}: {error}") from None


def paged_rows(store, text: str, options: dict, page_by: str, limit: int | None, offset: int) -> ox.QuerySolutions:
    """The rows of a query numbered by ``page_by`` from ``offset`` on (``limit`` of them, or to the end), looked up
    PAGE_ROWS numbers at a time on ``store`` (the embedded store, or an endpoint: mscev.remote.RemoteStore; its
    query() takes ``options``) and read as one stream of results: the first rows come at once and memory stays
    flat, where the whole query would evaluate and hold every row before its first. The numbers run from 1 without
    gaps (rules/direct/95-finding-position.rq), so the first page without rows is past the end."""
    tsv = ox.QueryResultsFormat.TSV

    def pages() -> Iterator[bytes]:
        start, wanted = offset, limit
        while wanted is None or wanted > 0:
            size = PAGE_ROWS if wanted is None else min(PAGE_ROWS, wanted)
            page = store.query(with_page(text, size, start, page_by), prefixes=prefix_map(), **options)
            header, _, lines = page.serialize(format=tsv).partition(b"\n")
            if start == offset:
                yield header + b"\n"
            if not lines:
                return
            yield lines
            start += size
            wanted = None if wanted is None else wanted - size

    return ox.parse_query_results(io.BufferedReader(_Chunks(pages())), format=tsv)


class _Chunks(io.RawIOBase):
    """A readable stream of the byte strings an iterator gives, read only as far as the reader asks."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks, self.pending = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            self.pending = next(self.chunks, b"")
            if not self.pending:
                return 0
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size


def rows(results) -> list[dict[str, str]]:
    """SELECT results as plain dicts of variable → value string (unbound variables are left out)."""
    variables = [v.value for v in results.variables]
    return [{v: solution[v].value for v in variables if solution[v] is not None} for solution in results]


# ---------------------------------------------------------------- binding parameters in the query text

def with_values(text: str, variables: list[ox.Variable], rows: list[tuple]) -> str:
    """The query with a VALUES block of these rows first in its WHERE group (the whole group when it is a
    sub-select, which cannot be preceded by anything). No line is added, so the server's line numbers hold."""
    if not variables:
        return text
    cells = " ".join(f"({' '.join(_sparql_term(term) for term in row)})" for row in rows)
    block = f"VALUES ({' '.join(str(variable) for variable in variables)}) {{ {cells} }}"
    opened, closed, sub_select = _where_group(text)
    if sub_select:
        return f"{text[:opened]} {block} {{{text[opened:closed]}}} {text[closed:]}"
    return f"{text[:opened]} {block} {text[opened:]}"


def with_page(text: str, limit: int | None, offset: int = 0, page_by: str | None = None) -> str:
    """The query with a page of its rows: LIMIT and OFFSET appended (refused for a query that has its own), or for
    a query whose rows are numbered by the variable ``page_by`` (its '#+ page-by' line), a VALUES block of the
    page's numbers. SPARQL evaluates every row before it can skip to an offset of ordered rows; the numbers are
    looked up instead, so a page costs what its own rows cost (up to PAGE_ROWS rows: a longer page or one without
    a limit takes LIMIT/OFFSET, which gives the same rows; run_query reads those PAGE_ROWS at a time instead)."""
    if limit is None and not offset:
        return text
    if limit is not None and limit < 0 or offset < 0:
        raise MscevError("--limit and --offset take a number of rows, 0 or more")
    if page_by and limit is not None and limit <= PAGE_ROWS:
        numbers = [(ox.Literal(str(number), datatype=ox.NamedNode(XSD + "integer")),)
                   for number in range(offset + 1, offset + limit + 1)]
        return with_values(text, [ox.Variable(page_by)], numbers)
    tokens = _tokens(text)
    _where_group(text)  # the query has a WHERE group (a clear message otherwise)
    depth = 0
    for token in tokens:
        depth += {"{": 1, "}": -1}.get(token.group(), 0)
        if depth == 0 and token.lastgroup == "name" and token.group().lower() in ("limit", "offset", "values"):
            raise MscevError(f"the query has its own {token.group().upper()} after its WHERE group, so it cannot be "
                             "paged with --limit/--offset")
    return text + (f"\nLIMIT {limit}" if limit is not None else "") + (f"\nOFFSET {offset}" if offset else "")


def _sparql_term(term) -> str:
    if term is None:
        return "UNDEF"
    if isinstance(term, (ox.NamedNode, ox.Literal)):
        return str(term)  # N-Triples syntax, which SPARQL reads as the same term
    raise MscevError(f"cannot send {term!r} to an endpoint (only IRIs and literals can be bound)")


def query_form(text: str) -> str:
    """SELECT, CONSTRUCT, DESCRIBE or ASK (which decides the result format to ask for)."""
    tokens = _tokens(text)
    return tokens[_form(tokens)].group().upper()


def _tokens(text: str) -> list[re.Match]:
    return [match for match in TOKENS.finditer(text) if match.lastgroup != "comment"]


def _form(tokens: list[re.Match]) -> int:
    for i, token in enumerate(tokens):
        if token.lastgroup == "name" and token.group().lower() in ("select", "construct", "describe", "ask"):
            return i
    raise MscevError("the query has no SELECT, CONSTRUCT, DESCRIBE or ASK")


def _where_group(text: str) -> tuple[int, int, bool]:
    """Offsets just inside the braces of the query's WHERE group, and whether the group is a sub-select."""
    tokens = _tokens(text)
    start = _form(tokens) + 1
    if tokens[start - 1].group().lower() == "construct" and start < len(tokens) and tokens[start].group() == "{":
        start = _matching(tokens, start) + 1  # the template, not the WHERE group
    parens = 0
    for i in range(start, len(tokens)):
        symbol = tokens[i].group()
        parens += {"(": 1, ")": -1}.get(symbol, 0)
        if symbol == "{" and parens == 0:
            end = _matching(tokens, i)
            return tokens[i].end(), tokens[end].start(), tokens[i + 1].group().lower() == "select"
    raise MscevError("cannot bind parameters: the query has no WHERE group")


def _matching(tokens, opening: int) -> int:
    depth = 0
    for i in range(opening, len(tokens)):
        depth += {"{": 1, "}": -1}.get(tokens[i].group(), 0)
        if depth == 0:
            return i
    raise MscevError("cannot bind parameters: the query's braces do not balance")
