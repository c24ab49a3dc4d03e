"""Coverage: which of the review's citations and sentences the graph covers, section by section.

The review text is split at the section headings recorded in triples/review.ttl (their labels are the
headings as printed); in each section, every bracketed citation ("[26]", "[28, 29]", "[104,105,106]",
"[110]-[112]" style ranges) is collected and compared with the reference numbers that statements in the
graph cite. Citations that need no statement are listed, with reasons, in the "Coverage exclusions" table
of triples/README.md.

Each section is also split into sentences; a sentence is covered when an mscev:evidenceQuote of some
statement overlaps it. In the study sections every sentence reports a result, and must be covered, unless
the "Sentence coverage" tables of triples/README.md exclude it (or its whole section) with a reason.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDF, RDFS, Graph

from mscev.errors import MscevError
from mscev.namespaces import MSCEV, curie
from mscev.paths import TRIPLES_DIR
from mscev.quotes import fold_space

EXCLUSIONS_FILE = TRIPLES_DIR / "README.md"
EXCLUSIONS_HEADING = "## Coverage exclusions"
CITATION = re.compile(r"\[(\d+(?:\s*[-–,]\s*\d+)*)\]")
# The back matter after the last section: not part of the review's body.
BACK_MATTER_HEADINGS = ("Availability of data and materials", "References")
NON_STUDY_SECTIONS_HEADING = "### Sections that report no study results"
NON_RESULT_SENTENCES_HEADING = "### Sentences that report no result"
# Words that end with a full stop without ending the sentence ("et al. showed", "e.g. IL-6", "Fig. 1").
# Case matters: "No. 3" is an abbreviation, "NO." (nitric oxide) ends a sentence.
ABBREVIATIONS = frozenset({"al", "e.g", "E.g", "i.e", "I.e", "vs", "cf", "approx", "ca", "fig", "Fig", "Figs", "No",
                           "Nos", "Ref", "Refs"})
SENTENCE_END = re.compile(r"[.!?]\s+")
FIGURE_LABEL = re.compile(r"(?i)^(fig\.|figure)\s*\d+$")
TABLE_TITLE = re.compile(r"^Table\s+\d+\s")


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
    """The body text under each heading (up to the next heading), stopping at the back matter."""
    lines = text.splitlines()
    starts = [(i, line.strip()) for i, line in enumerate(lines) if line.strip() in headings]
    end_of_body = next((i for i, line in enumerate(lines) if line.strip() in BACK_MATTER_HEADINGS), len(lines))
    sections: dict[str, str] = {}
    for index, (line_no, heading) in enumerate(starts):
        stop = starts[index + 1][0] if index + 1 < len(starts) else end_of_body
        sections[heading] = "\n".join(lines[line_no + 1 : min(stop, end_of_body)])
    missing = [h for h in headings if h not in sections]
    if missing:
        raise MscevError(f"these section headings of triples/review.ttl are not in the source text: {', '.join(missing)}")
    return sections


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of one paragraph, white space folded.

    A sentence ends at ".", "!" or "?" followed by white space, unless the word before the stop is an
    abbreviation ("et al.", "e.g.", "vs.", "Fig."). Decimals ("2.5", "RAW264.7") and citations ("[28, 29].")
    need no care: a stop inside them is not followed by white space. A new sentence may start in lower case
    ("microRNAs and proteins ...").
    """
    text = fold_space(paragraph)
    sentences, start = [], 0
    for stop in SENTENCE_END.finditer(text):
        words = text[start : stop.start()].split()
        if words and words[-1].lstrip("([") in ABBREVIATIONS:
            continue
        sentences.append(text[start : stop.start() + 1])
        start = stop.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def body_paragraphs(section_body: str) -> list[str]:
    """The running-text paragraphs of a section: figure labels, figure captions and table titles left out."""
    paragraphs, after_figure = [], False
    for line in (line.strip() for line in section_body.splitlines()):
        if not line:
            continue
        if FIGURE_LABEL.match(line):
            after_figure = True
            continue
        if after_figure or TABLE_TITLE.match(line):
            after_figure = False  # the paragraph after a figure label is its caption
            continue
        paragraphs.append(line)
    return paragraphs


def markdown_table(text: str, heading: str) -> list[list[str]]:
    """The body rows (cells stripped) of the first table under ``heading``, up to the next heading."""
    found = re.search(rf"^{re.escape(heading)}[ \t]*$", text, re.MULTILINE)
    if not found:
        return []
    after = text[found.end():]
    rows = []
    for line in after.split("\n#", 1)[0].splitlines():
        if line.strip().startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[2:]  # after the header row and the |---| row


def read_exclusions(path: Path = EXCLUSIONS_FILE) -> dict[int, str]:
    """Reference number → why it needs no statement, from the '| reference | reason |' table in the README."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return {int(row[0]): row[1] for row in markdown_table(text, EXCLUSIONS_HEADING)
            if len(row) == 2 and row[0].isdigit()}


@dataclass(frozen=True)
class SentenceRules:
    """Which sections report no study results, and which sentences of study sections report no result."""
    path: Path  # the README the tables were read from, named in error messages
    non_study_sections: dict[str, str]  # section CURIE → reason
    non_result_sentences: dict[tuple[str, str], str]  # (section CURIE, opening words) → reason


def read_sentence_rules(path: Path = EXCLUSIONS_FILE) -> SentenceRules:
    """The two 'Sentence coverage' tables of triples/README.md; a malformed row is an error naming it."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    sections, sentences = {}, {}
    for row in markdown_table(text, NON_STUDY_SECTIONS_HEADING):
        if len(row) != 2 or not all(row):
            raise MscevError(f"{path}: '{NON_STUDY_SECTIONS_HEADING}' row {row} needs two cells: section | reason")
        sections[row[0].strip("`")] = row[1]
    for row in markdown_table(text, NON_RESULT_SENTENCES_HEADING):
        if len(row) != 3 or not all(row):
            raise MscevError(f"{path}: '{NON_RESULT_SENTENCES_HEADING}' row {row} needs three cells: "
                             "section | sentence begins | reason")
        sentences[(row[0].strip("`"), fold_space(row[1]))] = row[2]
    return SentenceRules(path, sections, sentences)


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


@dataclass(frozen=True)
class SectionSentences:
    heading: str
    section: str  # CURIE, e.g. section:bm-ev
    reports_studies: bool
    sentences: tuple[str, ...]
    covered: tuple[str, ...]
    excluded: tuple[str, ...]  # sentences of a study section that report no result (README table)

    @property
    def result_reporting(self) -> tuple[str, ...]:
        return tuple(s for s in self.sentences if s not in self.excluded) if self.reports_studies else ()

    @property
    def uncovered(self) -> tuple[str, ...]:
        """Result-reporting sentences that no statement's quote overlaps."""
        return tuple(s for s in self.result_reporting if s not in self.covered)


def quoted_spans(quotes: list[str], folded_text: str) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of every quote in ``folded_text``."""
    spans = []
    for quote in quotes:
        start = folded_text.find(quote)
        while start >= 0:
            spans.append((start, start + len(quote)))
            start = folded_text.find(quote, start + 1)
    return spans


def sentence_coverage(graph: Graph, source_text: str, rules: SentenceRules | None = None) -> list[SectionSentences]:
    """Per section: its sentences, those overlapped by a statement's evidence quote, and those excluded."""
    rules = rules if rules is not None else read_sentence_rules()
    sections = {str(graph.value(s, RDFS.label)): curie(str(s)) for s in graph.subjects(RDF.type, MSCEV.ReviewSection)}
    named = set(rules.non_study_sections) | {name for name, _ in rules.non_result_sentences}
    unknown = sorted(named - set(sections.values()))
    if unknown:
        raise MscevError(f"{rules.path}: 'Sentence coverage' names sections not in triples/review.ttl: "
                         f"{', '.join(unknown)}")
    quotes = sorted({fold_space(str(q)) for q in graph.objects(None, MSCEV.evidenceQuote)})
    unused = dict(rules.non_result_sentences)
    report = []
    for heading, body in split_sections(source_text, list(sections)).items():
        section = sections[heading]
        folded = fold_space(body)
        spans = quoted_spans(quotes, folded)
        sentences = [s for paragraph in body_paragraphs(body) for s in split_sentences(paragraph)]
        covered, excluded, cursor = [], [], 0
        for sentence in sentences:
            start = folded.index(sentence, cursor)
            cursor = end = start + len(sentence)
            if any(q_start < end and q_end > start for q_start, q_end in spans):
                covered.append(sentence)
            for (name, opening), _ in rules.non_result_sentences.items():
                if name == section and sentence.startswith(opening):
                    excluded.append(sentence)
                    unused.pop((name, opening), None)
        report.append(SectionSentences(heading, section, section not in rules.non_study_sections,
                                       tuple(sentences), tuple(covered), tuple(excluded)))
    if unused:
        stale = "; ".join(f"{name} '{opening}'" for name, opening in unused)
        raise MscevError(f"{rules.path}: '{NON_RESULT_SENTENCES_HEADING}' rows match no sentence: {stale}")
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
