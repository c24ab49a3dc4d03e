"""The SPARQL page's editor: YASGUI (vendored in static/vendor/yasgui, started by static/editor.js) over this
server's endpoint. The page hands it, as JSON, what it cannot know by itself: the project's prefixes (completed
in PREFIX lines and declared as soon as a query uses one, instead of fifty lines pasted above every query), the
stored queries as examples (their parameters bound to their defaults, as /queries/NAME runs them), and the
classes and properties of the graph, whose names it completes. Without JavaScript the page is a plain form."""

from __future__ import annotations

import weakref
from pathlib import Path

from mscev.errors import MscevError
from mscev.namespaces import prefix_map
from mscev.query import StoredQuery, bind_parameters, read_query, with_values

WEB_QUERIES = Path(__file__).parent / "queries"
EXAMPLE = WEB_QUERIES / "example.rq"
VOCABULARY = WEB_QUERIES / "editor-vocabulary.rq"
_configs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # site → (build, stored queries, configuration)


def editor_context(site, text: str | None = None) -> dict:
    """The SPARQL page's template context: the form's text (``text``, or the example query) and the editor's
    configuration."""
    return {"text": example_text() if text is None else text, "editor": editor_config(site)}


def example_text() -> str:
    """The page's first query: the example's text without its '#+' header, with the prefixes it declares."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.startswith("#+")).strip() + "\n"


def editor_config(site) -> dict:
    """The editor's configuration for the build ``site`` serves, made once per build and set of stored queries."""
    queries = site.queries()
    kept = _configs.get(site)
    if kept and kept[0] == site.current.build and kept[1] is queries:
        return kept[2]
    vocabulary = {"class": [], "property": []}
    for row in site.store.query(read_query(VOCABULARY).text, use_default_graph_as_union=True):
        vocabulary[row["kind"].value].append(row["term"].value)
    config = {"endpoint": "/sparql", "prefixes": prefix_map(),
              "examples": [{"name": "example", "title": read_query(EXAMPLE).summary, "text": example_text()},
                           *({"name": name, "title": stored.summary, "text": bound_text(stored, site.store)}
                             for name, stored in queries.items())],
              "classes": vocabulary["class"], "properties": vocabulary["property"]}
    _configs[site] = (site.current.build, queries, config)
    return config


def bound_text(stored: StoredQuery, store) -> str:
    """A stored query's text with its parameters bound to their defaults (a VALUES block, as `mscev query` binds
    them); as written if a parameter has no default or its default names no term of this build."""
    try:
        bindings = bind_parameters(stored, {}, store)
    except MscevError:
        return stored.text
    return with_values(stored.text, list(bindings), [tuple(bindings.values())])
