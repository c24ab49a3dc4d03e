"""Coverage: which of the review's citations the graph covers, section by section.

The review text is split at the section headings recorded in triples/review.ttl (their labels are the
headings as printed); in each section, every bracketed citation ("[26]", "[28, 29]", "[104,105,106]",
"[110]-[112]" style ranges) is collected and compared with the reference numbers that statements in the
graph cite. Citations that need no statement are listed, with reasons, in the "Coverage exclusions" table
of triples/README.md.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDF, RDFS, Graph

from mscev.errors import MscevError
from mscev.namespaces import MSCEV, curie
from mscev.paths import TRIPLES_DIR

EXCLUSIONS_FILE = TRIPLES_DIR / "README.md"
EXCLUSIONS_HEADING = "## Coverage exclusions"
CITATION = re.compile(r"\[(\d+(?:\s*[-–,]\s*\d+)*)\]")
REFERENCES_HEADING = "References"


@dataclass(frozen=True)
class SectionCoverage:
    heading: str
    cited: tuple[int, ...]
    covered: tuple[int, ...]
    excluded: tuple[int, ...]

    @property
    def missing(self) -> tuple[int, ...]:
        return tuple(n for n in self.cited if n not in self.covered and n not in self.excluded)


def citation_numbers(text: str) -> list[int]:
    """Every reference number cited in ``text``, expanding ranges such as [104-106]."""
    numbers: list[int] = []
    for group in CITATION.findall(text):
        for part in group.split(","):
            bounds = [int(b) for b in re.split(r"\s*[-–]\s*", part.strip())]
            numbers.extend(range(bounds[0], bounds[-1] + 1))
    # "[110]-[112]" is written as two bracketed numbers joined by a dash
    for start, end in re.findall(r"\[(\d+)\]\s*[-–]\s*\[(\d+)\]", text):
        numbers.extend(range(int(start), int(end) + 1))
    return numbers


def split_sections(text: str, headings: list[str]) -> dict[str, str]:
    """The body text under each heading (up to the next heading), stopping at the reference list."""
    lines = text.splitlines()
    starts = [(i, line.strip()) for i, line in enumerate(lines) if line.strip() in headings]
    end_of_body = next((i for i, line in enumerate(lines) if line.strip() == REFERENCES_HEADING), len(lines))
    sections: dict[str, str] = {}
    for index, (line_no, heading) in enumerate(starts):
        stop = starts[index + 1][0] if index + 1 < len(starts) else end_of_body
        sections[heading] = "\n".join(lines[line_no + 1 : min(stop, end_of_body)])
    missing = [h for h in headings if h not in sections]
    if missing:
        raise MscevError(f"these section headings of triples/review.ttl are not in the source text: {', '.join(missing)}")
    return sections


def read_exclusions(path: Path = EXCLUSIONS_FILE) -> dict[int, str]:
    """Reference number → why it needs no statement, from the '| reference | reason |' table in the README."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    _, found, after = text.partition(EXCLUSIONS_HEADING)
    exclusions: dict[int, str] = {}
    for line in after.split("\n## ", 1)[0].splitlines() if found else ():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].isdigit():
            exclusions[int(cells[0])] = cells[1]
    return exclusions


def covered_references(graph: Graph) -> set[int]:
    """Reference numbers cited by at least one statement of the graph."""
    numbers = set()
    for ref in set(graph.objects(None, MSCEV.citedStudy)):
        number = graph.value(ref, MSCEV.referenceNumber)
        if number is not None:
            numbers.add(int(number))
    return numbers


def coverage(graph: Graph, source_text: str) -> list[SectionCoverage]:
    """Per section of the review: cited, covered and excluded reference numbers."""
    headings = {str(graph.value(s, RDFS.label)): s for s in graph.subjects(RDF.type, MSCEV.ReviewSection)}
    sections = split_sections(source_text, list(headings))
    covered = covered_references(graph)
    excluded = read_exclusions()
    report = []
    for heading, body in sections.items():
        cited = tuple(sorted(set(citation_numbers(body))))
        report.append(SectionCoverage(
            heading,
            cited,
            tuple(n for n in cited if n in covered),
            tuple(n for n in cited if n in excluded and n not in covered),
        ))
    return report


def findings_per_source(graph: Graph) -> dict[str, int]:
    """How many findings are about vesicles from each MSC source class."""
    counts: dict[str, int] = {}
    findings = set(graph.subjects(RDF.type, MSCEV.Finding)) | set(graph.subjects(RDF.type, MSCEV.Comparison))
    for finding in findings:
        prep = graph.value(finding, MSCEV.vesicle)
        cells = graph.value(prep, MSCEV.producedBy) if prep is not None else None
        for cls in graph.objects(cells, RDF.type) if cells is not None else ():
            if cls != MSCEV.CellPopulation and not str(cls).endswith("NamedIndividual"):
                label = graph.value(cls, RDFS.label)
                key = str(label) if label else curie(str(cls))
                counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
