"""Query stage: the stored SPARQL queries of queries/ run on the embedded pyoxigraph store.

Each stored query declares its parameters in its header (``#+ param: NAME TYPE [= DEFAULT] — description``).
Values are turned into RDF terms and bound through pyoxigraph's substitutions, never spliced into the text.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox

from mscev.errors import MscevError
from mscev.namespaces import converter, prefix_map
from mscev.paths import DEFAULT_BUILD_DIR, QUERIES_DIR

PARAM_TYPES = ("iri", "literal", "integer", "decimal", "boolean")
XSD = "http://www.w3.org/2001/XMLSchema#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
HEADER = re.compile(r"^#\+\s*(\w+)\s*:\s*(.*)$")
PARAM = re.compile(r"^(\w+)\s+(\w+)(?:\s*=\s*(\S+))?\s*(?:[—-]+\s*(.*))?$")
STORE_DIR = "store"
ASSERTED_GRAPH = ox.NamedNode("https://w3id.org/mscev/data/graph/asserted")
INFERRED_GRAPH = ox.NamedNode("https://w3id.org/mscev/data/graph/inferred")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: str | None
    description: str


@dataclass(frozen=True)
class StoredQuery:
    name: str
    path: Path
    summary: str
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    text: str


def read_query(path: Path) -> StoredQuery:
    """Parse a .rq file and its '#+' header lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MscevError(f"{path}: cannot read ({error.strerror})") from None
    summary, tags, parameters = "", (), []
    for line_no, line in enumerate(text.splitlines(), start=1):
        match = HEADER.match(line.strip())
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if key == "summary":
            summary = value
        elif key == "tags":
            tags = tuple(t.strip() for t in value.split(",") if t.strip())
        elif key == "param":
            param = PARAM.match(value)
            if not param or param.group(2) not in PARAM_TYPES:
                raise MscevError(f"{path}:{line_no}: a parameter line reads '#+ param: NAME TYPE [= DEFAULT] — "
                                 f"description' with TYPE one of {', '.join(PARAM_TYPES)}")
            parameters.append(Parameter(param.group(1), param.group(2), param.group(3), param.group(4) or ""))
    return StoredQuery(path.stem, path, summary, tags, tuple(parameters), text)


def stored_queries(folder: Path = QUERIES_DIR) -> dict[str, StoredQuery]:
    """Every stored query by name (the file stem)."""
    return {path.stem: read_query(path) for path in sorted(folder.glob("*.rq"))}


def find_query(name_or_file: str) -> StoredQuery:
    """A stored query by name, or an ad-hoc .rq file by path."""
    path = Path(name_or_file)
    if path.suffix == ".rq" and path.is_file():
        return read_query(path)
    queries = stored_queries()
    if name_or_file not in queries:
        close = [n for n in queries if name_or_file.lower() in n.lower()]
        hint = f" Did you mean: {', '.join(close)}?" if close else " `mscev query --list` shows them all."
        raise MscevError(f"no stored query named '{name_or_file}'.{hint}")
    return queries[name_or_file]


def open_store(build_dir: Path = DEFAULT_BUILD_DIR) -> ox.Store:
    """The store written by `mscev build`, opened read-only."""
    path = Path(build_dir) / STORE_DIR
    if not path.is_dir():
        raise MscevError(f"no built store in {build_dir}: run `mscev build` first.")
    try:
        return ox.Store.read_only(str(path))
    except OSError as error:
        raise MscevError(f"the store in {path} cannot be opened ({error}); run `mscev build` again.") from None


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
    return bindings


def to_term(param: Parameter, raw: str, store: ox.Store):
    """One parameter value as an RDF term, or a clear refusal."""
    def refuse(why: str):
        raise MscevError(f"--param {param.name}={raw!r}: {why}")

    if param.type == "literal":
        return ox.Literal(raw)
    if param.type == "integer":
        if not re.fullmatch(r"[+-]?\d+", raw):
            refuse("not an integer")
        return ox.Literal(str(int(raw)), datatype=ox.NamedNode(XSD + "integer"))
    if param.type == "decimal":
        try:
            Decimal(raw)
        except InvalidOperation:
            refuse("not a decimal number")
        return ox.Literal(raw, datatype=ox.NamedNode(XSD + "decimal"))
    if param.type == "boolean":
        if raw.lower() not in ("true", "false"):
            refuse("not a boolean (true or false)")
        return ox.Literal(raw.lower(), datatype=ox.NamedNode(XSD + "boolean"))
    return ox.NamedNode(resolve_iri(raw, store, refuse))


def resolve_iri(raw: str, store: ox.Store, refuse) -> str:
    """A full IRI, a CURIE with a known prefix, or an exact (case-insensitive) label in the graph."""
    text = raw.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if re.match(r"^https?://\S+$", text):
        return text
    prefix, sep, _local = text.partition(":")
    if sep and prefix in prefix_map():
        return converter().expand_strict(text)
    matches = sorted({
        solution["s"].value
        for solution in store.query(
            "SELECT ?s WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l "
            "FILTER(LCASE(STR(?l)) = LCASE(?wanted)) }",
            substitutions={ox.Variable("wanted"): ox.Literal(text)},
        )
        if isinstance(solution["s"], ox.NamedNode)
    })
    if not matches:
        refuse("not an IRI, a CURIE with a known prefix, or a label in the graph")
    if len(matches) > 1:
        refuse("the label is ambiguous: " + ", ".join(converter().compress(m) or m for m in matches))
    return matches[0]


def run_query(name_or_file: str, params: dict[str, str] | None = None, build_dir: Path = DEFAULT_BUILD_DIR,
              store: ox.Store | None = None, inferred: bool = True):
    """Run a stored query (or an .rq file) with parameters; returns pyoxigraph results.

    The store keeps asserted and inferred triples in two named graphs; a query sees both by default,
    or only the asserted ones with ``inferred=False``.
    """
    query = find_query(name_or_file)
    store = store or open_store(build_dir)
    bindings = bind_parameters(query, params or {}, store)
    graphs = {"use_default_graph_as_union": True} if inferred else {"default_graph": ASSERTED_GRAPH}
    try:
        return store.query(query.text, substitutions=bindings, prefixes=prefix_map(), **graphs)
    except SyntaxError as error:
        raise MscevError(f"{query.path}: SPARQL syntax error: {error}") from None


def rows(results) -> list[dict[str, str]]:
    """SELECT results as plain dicts of variable → value string (unbound variables are left out)."""
    variables = [v.value for v in results.variables]
    return [{v: solution[v].value for v in variables if solution[v] is not None} for solution in results]
