"""Names of terms: one resolver from what a person types to the term it names, used by `mscev query --param`,
the web forms (through the same parameter binding) and the search box of `mscev serve`.

A term is named by its rdfs:label and its synonyms (oboInOwl:hasExactSynonym, generated from
ontology/imports/synonyms.tsv). Names are compared in a folded form that ignores case, spaces, dashes and other
punctuation, and the spelling of Greek letters ("TNF-α", "TNF-alpha" and "tnf alpha" are one name).

A parameter may declare the kind of term it expects (``#+ param: condition iri(condition) = …``); a kind is a
SPARQL SELECT of ?term kept as a file in queries/kinds/. Only terms of that kind are matched, and when nothing
matches, the closest terms of that kind are suggested (terms, never findings unless findings are the kind).

Like mscev.query, this module is on the path of `mscev query`: it imports neither rdflib nor curies.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mscev.errors import MscevError
from mscev.namespaces import curie, prefix_map
from mscev.paths import QUERIES_DIR

KINDS_DIR = QUERIES_DIR / "kinds"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
EXACT_SYNONYM = "http://www.geneontology.org/formats/oboInOwl#hasExactSynonym"
GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
         "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "ο": "omicron",
         "π": "pi", "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi", "χ": "chi",
         "ψ": "psi", "ω": "omega"}
NOT_LETTERS = re.compile(r"[\W_]+")
PLURAL_MIN = 3  # a final 's' is dropped from longer folded names only: "ROS" stays, "MSCs" is "MSC"
PREFIX_LINE = re.compile(r"^\s*PREFIX\s+[\w.-]*:\s*<[^>]*>\s*$", re.I | re.M)
SUGGESTIONS = 5
CLOSE_ENOUGH = 0.6  # difflib ratio of folded names below which a term is not suggested
NAMES_QUERY = """SELECT ?term ?name ?label WHERE {{
  {kind}
  {{ ?term <{label}> ?name }} UNION {{ ?term <{synonym}> ?name }}
  OPTIONAL {{ ?term <{label}> ?label }}
  FILTER(isIRI(?term))
}}"""


def fold(name: str) -> str:
    """The form in which names are compared: case, punctuation, spaces, Greek spelling and a plural 's' ignored.

    >>> fold("TNF-α") == fold("TNF-alpha") == fold("tnf alpha")
    True
    >>> fold("Wharton’s Jelly MSCs") == fold("Whartons jelly MSC")
    True
    """
    folded = unicodedata.normalize("NFKC", name).casefold()
    folded = NOT_LETTERS.sub("", "".join(GREEK.get(character, character) for character in folded))
    return folded[:-1] if len(folded) > PLURAL_MIN and folded.endswith("s") else folded


@dataclass(frozen=True)
class Kind:
    """A kind of term a parameter expects (queries/kinds/NAME.rq): its name and the SELECT that lists them."""

    name: str
    select: str

    @property
    def words(self) -> str:
        return self.name.replace("-", " ")


@cache
def read_kind(name: str, folder: Path = KINDS_DIR) -> Kind:
    path = Path(folder) / f"{name}.rq"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in Path(folder).glob("*.rq"))) or "none"
        raise MscevError(f"no kind of term named '{name}' (a file {path}); the kinds: {known}")
    text = PREFIX_LINE.sub("", path.read_text(encoding="utf-8"))
    return Kind(name, "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")).strip())


@dataclass(frozen=True)
class Named:
    """One term with every name it has (its labels first) in a set of terms."""

    iri: str
    label: str
    names: tuple[str, ...]

    def describe(self) -> str:
        """'label (CURIE)', with the other names when there are any: for messages and suggestions."""
        others = [n for n in self.names if fold(n) != fold(self.label)]
        also = f"; also {', '.join(repr(n) for n in others[:3])}" if others else ""
        return f"{self.label} ({curie(self.iri)}{also})"


class NameIndex:
    """The names of a set of terms (all labelled terms, or those of some kinds), by folded name."""

    def __init__(self, rows):
        names: dict[str, list[str]] = {}
        labels: dict[str, str] = {}
        for term, name, label in rows:
            names.setdefault(term, [])
            if name not in names[term]:
                names[term].append(name)
            if label and (term not in labels or label < labels[term]):
                labels[term] = label
        self.terms = {iri: Named(iri, labels.get(iri, curie(iri)),
                                 tuple(sorted(found, key=lambda n: (n != labels.get(iri), n.casefold()))))
                      for iri, found in names.items()}
        self.by_name: dict[str, set[str]] = {}
        for named in self.terms.values():
            for name in named.names:
                self.by_name.setdefault(fold(name), set()).add(named.iri)

    @classmethod
    def of(cls, store, kinds: tuple[str, ...] = ()) -> NameIndex:
        """Every named term of ``store`` (a pyoxigraph Store or mscev.remote.RemoteStore) of one of ``kinds``."""
        selects = [f"{{ {read_kind(kind).select} }}" for kind in kinds]
        kind = " UNION ".join(selects)
        text = NAMES_QUERY.format(kind=kind, label=RDFS_LABEL, synonym=EXACT_SYNONYM)
        try:
            results = store.query(text, prefixes=prefix_map(), use_default_graph_as_union=True)
        except SyntaxError as error:
            raise MscevError(f"a kind file in {KINDS_DIR} is not a valid SELECT of ?term: {error}") from None
        return cls((row["term"].value, row["name"].value, row["label"].value if row["label"] else None)
                   for row in results)

    def exact(self, text: str) -> list[Named]:
        """The terms one of whose names folds to the same as ``text``."""
        return sorted((self.terms[iri] for iri in self.by_name.get(fold(text), ())), key=lambda t: t.iri)

    def named(self, text: str) -> list[Named]:
        """The terms ``text`` names: when several names fold alike, a label written as ``text`` (ignoring case) wins,
        then a label over a synonym ("insulin secreting cell" is one cell type's label, another's synonym)."""
        found = self.exact(text)
        for preferred in (lambda t: t.label.casefold() == text.strip().casefold(),
                          lambda t: fold(t.label) == fold(text)):
            if len(found) > 1 and sum(map(preferred, found)) == 1:
                return [t for t in found if preferred(t)]
        return found

    def closest(self, text: str, limit: int = SUGGESTIONS) -> list[Named]:
        """The terms whose names come closest to ``text`` (containing it, or alike by difflib's ratio)."""
        wanted = fold(text)
        if not wanted:
            return []
        scores: dict[str, float] = {}
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(wanted)
        for folded, iris in self.by_name.items():
            matcher.set_seq1(folded)
            score = matcher.ratio()
            if len(wanted) >= 3 and (wanted in folded or (len(folded) >= 3 and folded in wanted)):
                score = max(score, CLOSE_ENOUGH + 0.3 * min(len(wanted), len(folded)) / max(len(wanted), len(folded)))
            for iri in iris:
                scores[iri] = max(score, scores.get(iri, 0.0))
        ranked = sorted((iri for iri, score in scores.items() if score >= CLOSE_ENOUGH),
                        key=lambda iri: (-scores[iri], self.terms[iri].label.casefold()))
        return [self.terms[iri] for iri in ranked[:limit]]


def kinds_phrase(kinds: tuple[str, ...], plural: bool = False) -> str:
    """'condition', 'source or condition'; with ``plural``, 'conditions'."""
    words = [read_kind(kind).words for kind in kinds] or ["term"]
    return " or ".join(word + "s" if plural else word for word in words)


def resolve_name(text: str, store, kinds: tuple[str, ...] = ()) -> str:
    """The IRI of the one term of ``kinds`` (any term when empty) that ``text`` names, by label or synonym;
    otherwise MscevError saying why, with the closest terms of those kinds."""
    index = NameIndex.of(store, kinds)
    found = index.named(text)
    if len(found) == 1:
        return found[0].iri
    what = kinds_phrase(kinds)
    article = "an" if what[0] in "aeiou" else "a"
    if found:
        raise MscevError(f"'{text}' is ambiguous: it names several {kinds_phrase(kinds, plural=True)}: "
                         f"{'; '.join(t.describe() for t in found)}. Give the CURIE of the one you mean.")
    elsewhere = NameIndex.of(store).exact(text) if kinds else []
    if elsewhere:
        why = f"'{text}' names {'; '.join(t.describe() for t in elsewhere)}, which is not {article} {what}."
    else:
        why = (f"no {what} in the graph is named '{text}' (labels and synonyms are compared ignoring case, spaces, "
               "dashes and the spelling of Greek letters).")
    close = index.closest(text)
    hint = (f" Closest {kinds_phrase(kinds, plural=True)}: {'; '.join(t.describe() for t in close)}." if close
            else " Give a CURIE, or look for a word with `mscev query search --param text=WORD`.")
    raise MscevError(why + hint)
