"""The findings table of a term page (Monarch's association table): the findings about the term or a class below
it, as the first page of the shared findings table (mscev.web.findings), whose page, sort and filter links open
/findings?about=IRI for the rest.

The rows come from the table's answer for all findings (one query per build, kept in the site's answer cache),
kept by mscev.web.terms.TermPages.findings_about, so a term page costs pattern lookups, not a query of its own."""

from __future__ import annotations

import pyoxigraph as ox

from mscev.web import findings
from mscev.web.findings import FindingsTable, Filters

EMBEDDED_ROWS = 25
# pages of these types are statements themselves (a finding, a claim, cargo evidence) or parts of one
NO_TABLE_TYPES = {"https://w3id.org/mscev/" + name for name in ("Statement", "Finding", "Effect", "ValueOrigin")}


async def findings_table(site, entity) -> FindingsTable | None:
    """The first page of the findings about ``entity`` (a pages.Entity), or None when it has none."""
    if entity.quotes or any(t.iri in NO_TABLE_TYPES for t in entity.types):
        return None
    about = site.pages.terms.findings_about(ox.NamedNode(entity.subject.iri))
    if not about:
        return None
    rows, truncated = await findings.all_rows(site, Filters())
    kept = findings.sorted_rows([row for row in rows if row.finding.iri in about], "reference", False)
    if not kept:
        return None
    return FindingsTable(Filters(about=entity.subject.iri), kept[:EMBEDDED_ROWS], len(kept), 0, EMBEDDED_ROWS,
                         "reference", False, "/findings", truncated)
