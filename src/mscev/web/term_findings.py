"""The findings table of a term page (Monarch's association table): the findings about the term or a class below
it, as the first page of the shared findings table (mscev.web.findings), whose page, sort and filter links open
/findings?about=IRI for the rest.

The rows are the findings table's own for the filter about=IRI (mscev.web.findings), so a term page and
/findings?about=IRI always list the same findings."""

from __future__ import annotations

from mscev.web import findings
from mscev.web.findings import Filters, FindingsTable

EMBEDDED_ROWS = 25
# pages of these types are statements themselves (a finding, a claim, cargo evidence) or parts of one
NO_TABLE_TYPES = {"https://w3id.org/mscev/" + name for name in ("Statement", "Finding", "Effect", "ValueOrigin")}


async def findings_table(site, entity) -> FindingsTable | None:
    """The first page of the findings about ``entity`` (a pages.Entity), or None when it has none."""
    if entity.quotes or any(t.iri in NO_TABLE_TYPES for t in entity.types):
        return None
    table = await findings.findings_table(site, Filters(about=entity.subject.iri), limit=EMBEDDED_ROWS)
    return table if table.total else None
