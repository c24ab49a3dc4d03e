"""Synthetic corpus: Turtle shaped like the curated findings, at any size, for benchmarks and engine tests.

`mscev synth --findings N --seed S --out DIR` writes a data folder that replaces triples/ in a build
(`mscev build --data DIR`): reused terms (a five-level hierarchy of 2,000 conditions, cargo microRNAs and
proteins with their targets and pathways, cell types), the review and its sections, MSC populations (some
described only by the tissue they derive from, for the reasoner to classify), and then, study by study, the
cited study, its vesicle preparations (and, for a few studies, a preparation of the cells themselves), findings
with effects (some of them comparisons, a few cell-level), cargo evidence,
table rows, clinical trials, background facts and review claims, in files of about 50,000 findings.

The same seed and size give byte-identical files. With ``broken`` > 0 that fraction of the findings break
one rule each; `broken.tsv` lists what validation must report for them (focus, constraint, path), and
nothing else in the corpus breaks a shape. Synthetic external terms use identifiers from 9,000,000 up (real
ones are lower) and say "synthetic" in their labels.
"""

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from mscev.atomic import replacing_folder, swap_in
from mscev.errors import MscevError
from mscev.namespaces import prefix_map

FINDINGS_PER_FILE = 50_000
CONDITION_LEVELS = (1, 8, 40, 240, 1711)  # a five-level hierarchy of 2,000 conditions
PATHWAYS, MICRORNAS, PROTEINS, CELL_TYPES, SECTIONS = 100, 300, 200, 50, 16
EV_SUBTYPES = (("GO:1903561", "EVs", 10, 1000), ("GO:0070062", "exosomes", 50, 200),
               ("GO:1990742", "microvesicles", 210, 1000), ("mscev:SmallExtracellularVesicle", "sEVs", 30, 200))
SOURCES = ("BoneMarrowMSC", "UmbilicalCordMSC", "WhartonsJellyMSC", "UmbilicalCordBloodMSC", "AdiposeMSC",
           "EmbryonicStemCellDerivedMSC", "DentalPulpMSC", "ChorionMSC", "MenstrualBloodMSC", "FetalMSC")
SOURCE_TISSUES = (("UBERON:0002371", "bone marrow"), ("UBERON:0003422", "Wharton's jelly"),
                  ("UBERON:0001013", "adipose tissue"), ("UBERON:0012168", "umbilical cord blood"))
TAXA = (("NCBITaxon:9606", "human"), ("NCBITaxon:10090", "mouse"), ("NCBITaxon:10116", "rat"))
MODELS = ("mscev:InVitro", "mscev:AnimalModel", "mscev:HumanStudy")
OUTCOMES = ("mscev:Beneficial",) * 8 + ("mscev:Harmful", "mscev:NoEffect", "mscev:NotApplicable")
DIRECTIONS = ("mscev:Increases", "mscev:Decreases", "mscev:NoChange", "mscev:Modulates")
RESULTS = ("mscev:Superior", "mscev:Inferior", "mscev:Similar", "mscev:Different", "mscev:Opposite")
LEVELS = ("mscev:Present", "mscev:Enriched", "mscev:Low", "mscev:Overexpressed", "mscev:Loaded")
PRECONDITIONING = ("mscev:HypoxicCulture", "mscev:LPSPriming", "mscev:CytokinePriming", "mscev:GeneOverexpression")
ROUTES = ("NCIT:C38276", "NCIT:C38216", "NCIT:C38284", "NCIT:C38304")
WORDS = ("vesicles", "exosomes", "from", "the", "treated", "model", "reduced", "increased", "injury", "repair",
         "inflammation", "apoptosis", "proliferation", "cells", "mice", "rats", "significantly", "promoted",
         "inhibited", "expression", "of", "and", "in", "with", "after", "damage", "function", "recovery",
         "pathway", "signalling", "through", "targeting", "fibrosis", "tissue", "markers", "levels", "were",
         "by", "migration", "angiogenesis", "regeneration", "macrophages", "polarization", "oxidative", "stress")
# What each kind of deliberate break makes validation report on the finding: (constraint, path) pairs.
BREAKS = {
    "no-cited-study": [("sh:MinCountConstraintComponent", "mscev:citedStudy")],
    "two-outcomes": [("sh:MaxCountConstraintComponent", "mscev:outcome")],
    "condition-not-disease": [("sh:OrConstraintComponent", "mscev:condition")],
    "route-literal": [("sh:NodeKindConstraintComponent", "mscev:route"), ("sh:PatternConstraintComponent", "mscev:route")],
    "bad-study-model": [("sh:InConstraintComponent", "mscev:studyModel")],
    "vesicle-not-preparation": [("sh:ClassConstraintComponent", "mscev:vesicle")],
    "short-quote": [("sh:MinLengthConstraintComponent", "mscev:evidenceQuote")],
    "quote-with-language": [("sh:DatatypeConstraintComponent", "mscev:evidenceQuote"),
                            ("mscev:PlainTextConstraint", "mscev:evidenceQuote")],
    "not-stated-in-review": [("sh:HasValueConstraintComponent", "mscev:statedIn")],
    "no-effect": [("sh:MinCountConstraintComponent", "mscev:hasEffect")],
    "section-not-section": [("sh:ClassConstraintComponent", "mscev:reviewSection")],
    "no-condition": [("sh:OrConstraintComponent", "-")],
    "bad-comparator": [("sh:OrConstraintComponent", "mscev:comparator")],
    "no-subject": [("sh:XoneConstraintComponent", "-")],
}
ONLY_FINDINGS, ONLY_COMPARISONS = {"no-condition"}, {"bad-comparator"}


@dataclass
class SynthResult:
    out: Path
    files: list[Path]
    counts: dict[str, int]
    broken: list[tuple[str, str, str]] = field(default_factory=list)


def synthesize(findings: int, out: Path, seed: int = 0, broken: float = 0.0) -> SynthResult:
    """Write a synthetic corpus of ``findings`` findings into ``out`` (replaced atomically)."""
    if findings < 1 or findings > 9_999_999:
        raise MscevError(f"--findings {findings}: choose between 1 and 9,999,999")
    if not 0 <= broken <= 1:
        raise MscevError(f"--broken {broken}: a fraction between 0 and 1 (0.01 breaks one finding in a hundred)")
    out = Path(out)
    with replacing_folder(out, "the corpus", ["synth.json"]) as staging:
        try:
            writer = _Corpus(findings, seed, broken)
            names = writer.write(staging)
            (staging / "synth.json").write_text(json.dumps(
                {"findings": findings, "seed": seed, "broken": broken, "counts": writer.counts, "files": names},
                indent=2) + "\n", encoding="utf-8")
            swap_in(staging, out)
        except OSError as error:
            raise MscevError(f"{out}: cannot write the corpus ({error.strerror or error})") from None
    return SynthResult(out, [out / name for name in names], writer.counts, writer.expected)


def read_broken(folder: Path) -> set[tuple[str, str, str]]:
    """The (focus, constraint, path) results that validation must report for a corpus's broken findings."""
    lines = (Path(folder) / "broken.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {tuple(line.split("\t")) for line in lines if line}


class _Corpus:
    """Generates the corpus study by study; ``self.rng`` decides the shape, ``self.breaker`` the breaks.

    Breaks draw from their own random stream, so a corpus with breaks differs from the one without only in
    its broken findings.
    """

    def __init__(self, findings: int, seed: int, broken: float):
        self.total = findings
        self.rng = random.Random(seed)
        self.breaker = random.Random(f"{seed}-broken")
        self.origins = random.Random(f"{seed}-origins")  # its own stream: corpora without origins stay as they were
        self.to_break = set(self.breaker.sample(range(findings), round(findings * broken)))
        self.expected: list[tuple[str, str, str]] = []
        self.counts: dict[str, int] = {}
        self.conditions = self._condition_ids()
        self.leaves = self.conditions[-CONDITION_LEVELS[-1]:]
        self.pathways = [f"GO:{9_100_000 + i}" for i in range(PATHWAYS)]
        self.micrornas = [f"mirbase.mature:MIMAT{9_000_000 + i}" for i in range(MICRORNAS)]
        self.proteins = [f"HGNC:{900_000 + i}" for i in range(PROTEINS)]
        self.cell_types = [f"CL:{9_000_000 + i}" for i in range(CELL_TYPES)]
        self.sections = [f"section:synth-{i:02d}" for i in range(SECTIONS)]
        self.populations: list[str] = []
        self.formulations = [f"formulation:synth-{i}" for i in range(5)]

    def count(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    # --- files ---------------------------------------------------------------------------------------------

    def write(self, folder: Path) -> list[str]:
        names = ["terms.ttl", "review.ttl", "sources.ttl"]
        self._write(folder / "terms.ttl", self._terms())
        self._write(folder / "review.ttl", self._review())
        self._write(folder / "sources.ttl", self._sources())
        done, chunk = 0, 0
        while done < self.total:
            chunk += 1
            name = f"statements-{chunk:03d}.ttl"
            blocks: list[str] = []
            limit = min(self.total, done + FINDINGS_PER_FILE)
            while done < limit:
                size = min(limit - done, self.rng.randint(1, 23))
                blocks.append(self._study(done, size))
                done += size
            self._write(folder / name, blocks)
            names.append(name)
        rows = sorted(self.expected)
        (folder / "broken.tsv").write_text("focus\tconstraint\tpath\n" + "".join("\t".join(r) + "\n" for r in rows),
                                           encoding="utf-8")
        return names

    @staticmethod
    def _write(path: Path, blocks: list[str]) -> None:
        header = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in prefix_map().items())
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(header)
            for block in blocks:
                handle.write("\n")
                handle.write(block)

    # --- shared terms --------------------------------------------------------------------------------------

    def _condition_ids(self) -> list[str]:
        return [f"MONDO:{9_000_000 + i}" for i in range(sum(CONDITION_LEVELS))]

    def _terms(self) -> list[str]:
        rng, blocks = self.rng, []
        start = 0
        for depth, size in enumerate(CONDITION_LEVELS):
            parents = self.conditions[start - CONDITION_LEVELS[depth - 1]:start] if depth else []
            for i in range(size):
                term = self.conditions[start + i]
                parent = f" ;\n    rdfs:subClassOf {parents[i * len(parents) // size]}" if parents else ""
                blocks.append(f'{term} a owl:Class ;\n    rdfs:label "synthetic condition {depth}.{i}"{parent} .\n')
            start += size
        self.count("conditions", len(self.conditions))
        for i, term in enumerate(self.pathways):
            blocks.append(f'{term} a owl:Class , mscev:Pathway ;\n    rdfs:label "synthetic pathway {i}" .\n')
        for i, term in enumerate(self.proteins):
            pathways = " , ".join(sorted(set(rng.sample(self.pathways, rng.randint(1, 2)))))
            blocks.append(f'{term} a owl:NamedIndividual , mscev:GeneProduct ;\n    rdfs:label "SYN{i}" ;\n'
                          f"    mscev:actsInPathway {pathways} .\n")
        for i, term in enumerate(self.micrornas):
            targets = " , ".join(sorted(set(rng.sample(self.proteins, rng.randint(1, 3)))))
            blocks.append(f'{term} a owl:NamedIndividual , mscev:MicroRNA ;\n    rdfs:label "syn-miR-{i}" ;\n'
                          f"    mscev:targets {targets} .\n")
        for i, term in enumerate(self.cell_types):
            blocks.append(f'{term} a owl:Class ;\n    rdfs:label "synthetic cell type {i}" .\n')
        self.count("cargo molecules", len(self.micrornas) + len(self.proteins))
        self.count("pathways", len(self.pathways))
        return blocks

    def _review(self) -> list[str]:
        blocks = ['mscev-data:review a mscev:SyntheticReview , owl:NamedIndividual ;\n'
                  '    rdfs:label "A synthetic review of MSC-derived vesicles" ;\n    mscev:year 2020 .\n']
        for i, section in enumerate(self.sections):
            blocks.append(f'{section} a mscev:ReviewSection ;\n    rdfs:label "Synthetic section {i}" .\n')
        for i, term in enumerate(self.formulations):
            blocks.append(f'{term} a mscev:Formulation ;\n    rdfs:label "synthetic hydrogel {i}" ;\n'
                          f'    skos:definition "A synthetic hydrogel formulation, number {i}." .\n')
        return blocks

    def _sources(self) -> list[str]:
        rng, blocks = self.rng, []
        for source in SOURCES:
            for taxon, species in TAXA:
                cell = f"cell:synth-{species}-{source}"
                self.populations.append(cell)
                blocks.append(f"{cell} a mscev:CellPopulation , mscev:{source} , owl:NamedIndividual ;\n"
                              f'    rdfs:label "{species} {source} (synthetic)" ;\n    mscev:inTaxon {taxon} ;\n'
                              f'    mscev:nameInStudy "{species[0]}{source}" .\n')
        for i, (tissue, name) in enumerate(SOURCE_TISSUES):
            # described only by the tissue it derives from: the reasoner classifies it under its source
            cell, part = f"cell:synth-tissue-{i}", f"cell:synth-tissue-{i}-sample"
            self.populations.append(cell)
            blocks.append(f"{cell} a mscev:CellPopulation , obo:CL_0000134 , owl:NamedIndividual ;\n"
                          f'    rdfs:label "MSCs from {name} (synthetic, source by tissue)" ;\n'
                          f"    obo:RO_0001000 {part} .\n{part} a {tissue} , owl:NamedIndividual .\n")
        rng.shuffle(self.populations)
        self.count("cell populations", len(self.populations))
        return blocks

    # --- statements ----------------------------------------------------------------------------------------

    def _quote(self, words: int) -> str:
        text = " ".join(self.rng.choices(WORDS, k=words))
        return text[0].upper() + text[1:] + "."

    def _study(self, first: int, size: int) -> str:
        """One cited study: its reference, preparations and ``size`` findings with their evidence."""
        rng = self.rng
        number = self.counts.get("cited studies", 0) + 1
        self.count("cited studies")
        ref = f"ref:synth-{number}"
        section = rng.choice(self.sections)
        parts = [f'{ref} a mscev:CitedStudy , owl:NamedIndividual ;\n    rdfs:label "Synthetic et al. {number}" ;\n'
                 f"    mscev:referenceNumber {number} ;\n"
                 f'    dcterms:bibliographicCitation "Synthetic A, et al. Study {number}. J Synth. {2000 + number % 24}." ;\n'
                 f'    dcterms:title "{self._quote(8)}" ;\n    mscev:year {2000 + number % 24} ;\n'
                 f"    dcterms:isReferencedBy mscev-data:review .\n"]
        preps = [self._preparation(parts, number, k) for k in range(1 if rng.random() < 0.7 else 2)]
        cells = self._cell_preparation(parts, number) if rng.random() < 0.05 else None
        conditions = [self._condition() for _ in range(rng.randint(1, 3))]
        ids = [f"finding:synth-{first + i + 1:07d}" for i in range(size)]
        for i, finding in enumerate(ids):
            parts.append(self._finding(first + i, finding, ref, section, preps, rng.choice(conditions), cells))
        if rng.random() < 0.3:
            self._cargo_evidence(parts, number, ref, section, preps[0], ids[0])
        if rng.random() < 0.1:
            self._table_row(parts, number, ref, preps[0], ids[0], conditions[0])
        if rng.random() < 0.01:
            self._trial(parts, number, ref, preps[0], conditions[0])
        if rng.random() < 0.03:
            self._fact_or_claim(parts, number, ref, section)
        return "\n".join(parts)

    def _condition(self) -> str:
        """Mostly leaves, a few broader terms; a skew so that some conditions have many findings."""
        rng = self.rng
        if rng.random() < 0.1:
            return rng.choice(self.conditions[1:-CONDITION_LEVELS[-1]])
        return self.leaves[int(len(self.leaves) * rng.random() ** 2)]

    def _preparation(self, parts: list[str], number: int, k: int) -> str:
        rng = self.rng
        prep = f"prep:synth-{number}-{k}"
        subtype, name, low, high = rng.choice(EV_SUBTYPES)
        lines = [f"{prep} a mscev:VesiclePreparation , {subtype} ;", f'    rdfs:label "synthetic {name} {number}-{k}" ;',
                 f"    mscev:producedBy {rng.choice(self.populations)} ;", f'    mscev:nameInStudy "{name}"']
        if rng.random() < 0.5:
            cargo = sorted(set(rng.sample(self.micrornas + self.proteins, rng.randint(1, 3))))
            lines[-1] += " ;"
            lines.append(f"    mscev:carries {' , '.join(cargo)}")
        if rng.random() < 0.1:
            lines[-1] += " ;"
            lines.append(f"    mscev:preconditioning {rng.choice(PRECONDITIONING)} ;\n"
                         f"    mscev:engineeredWith {rng.choice(self.micrornas)}")
        if rng.random() < 0.03:
            lines[-1] += " ;"
            lines.append(f"    mscev:formulation {rng.choice(self.formulations)}")
        if rng.random() < 0.1:
            smallest = rng.randint(low, (low + high) // 2)
            lines[-1] += " ;"
            lines.append(f"    mscev:minDiameterNm {smallest}.0 ;\n    mscev:maxDiameterNm {rng.randint(smallest, high)}.0")
        parts.append("\n".join(lines) + " .\n")
        self.count("vesicle preparations")
        return prep

    def _cell_preparation(self, parts: list[str], number: int) -> str:
        """The cells themselves as a study used them (transplanted or engineered), for cell-level findings."""
        rng = self.rng
        cells = f"cellprep:synth-{number}"
        lines = [f"{cells} a mscev:CellPreparation ;", f'    rdfs:label "synthetic cells {number}" ;',
                 f"    mscev:cellsFrom {rng.choice(self.populations)} ;", '    mscev:nameInStudy "MSCs"']
        if rng.random() < 0.5:
            lines[-1] += " ;"
            lines.append(f"    mscev:preconditioning {rng.choice(PRECONDITIONING)} ;\n"
                         f"    mscev:engineeredWith {rng.choice(self.micrornas)}")
        parts.append("\n".join(lines) + " .\n")
        self.count("cell preparations")
        return cells

    def _finding(self, index: int, finding: str, ref: str, section: str, preps: list[str], condition: str,
                 cells: str | None = None) -> str:
        rng = self.rng
        comparison = len(preps) > 1 and rng.random() < 0.25
        kind = None
        if index in self.to_break:
            kinds = [k for k in BREAKS if k not in (ONLY_FINDINGS if comparison else ONLY_COMPARISONS)]
            # comparisons are few: break half of the broken ones in their own way, so every kind occurs
            kind = "bad-comparator" if comparison and self.breaker.random() < 0.5 else self.breaker.choice(kinds)
            self.expected += [(finding, constraint, path) for constraint, path in BREAKS[kind]]
        model = rng.choice(MODELS)
        quote = self._quote(rng.randint(14, 30))
        effects = [f"effect:synth-{index + 1:07d}-{k + 1}" for k in range(1 if rng.random() < 0.9 else 2)]
        route = rng.choice(ROUTES) if rng.random() < 0.2 else None
        outcomes = [rng.choice(OUTCOMES)]
        vesicle = self.breaker.choice(self.populations) if kind == "vesicle-not-preparation" else preps[0]
        cell_level = cells is not None and kind != "vesicle-not-preparation" and rng.random() < 0.5
        subject = "" if kind == "no-subject" else (f"    mscev:cellSubject {cells} ;" if cell_level
                                                     else f"    mscev:vesicle {vesicle} ;")
        lines = [f"{finding} a {'mscev:Comparison' if comparison else 'mscev:Finding'} ;",
                 f'    rdfs:label "synthetic finding {index + 1}" ;', *([subject] if subject else [])]
        if kind == "condition-not-disease":
            condition = self.breaker.choice(self.pathways)
        if kind != "no-condition":
            lines.append(f"    mscev:condition {condition} ;")
        lines.append(f"    mscev:studyModel {'mscev:Beneficial' if kind == 'bad-study-model' else model} ;")
        origin = None
        if model == "mscev:AnimalModel" and rng.random() < 0.5:
            organism = rng.choice(TAXA[1:])[0]
            lines.append(f"    mscev:modelOrganism {organism} ;")
            if kind is None and self.origins.random() < 0.2:  # the species from the study's title, as for ref 31
                origin = self._value_origin(finding, ref, organism)
                lines.append(f"    mscev:valueOrigin {origin.split(' ', 1)[0]} ;")
        if kind == "route-literal":
            route = '"intravenous"'
        if route:
            lines.append(f"    mscev:route {route} ;")
        if kind != "no-effect":
            lines.append(f"    mscev:hasEffect {' , '.join(effects)} ;")
        if kind == "two-outcomes":
            outcomes.append("mscev:Beneficial" if outcomes[0] == "mscev:Harmful" else "mscev:Harmful")
        lines.append(f"    mscev:outcome {' , '.join(outcomes)} ;")
        if comparison:
            comparator = ref if kind == "bad-comparator" else preps[1]
            lines.append(f"    mscev:comparator {comparator} ;\n    mscev:comparisonResult {rng.choice(RESULTS)} ;")
        if kind != "no-cited-study":
            lines.append(f"    mscev:citedStudy {ref} ;")
        lines.append(f"    mscev:statedIn {ref if kind == 'not-stated-in-review' else 'mscev-data:review'} ;")
        lines.append(f"    mscev:reviewSection {preps[0] if kind == 'section-not-section' else section} ;")
        if kind == "short-quote":
            quote = "Cited in passing."
        language = "@en" if kind == "quote-with-language" else ""
        lines.append(f'    mscev:evidenceQuote "{quote}"{language} .\n')
        if kind != "no-effect":
            for effect in effects:
                lines.append(self._effect(effect))
        if origin:
            lines.append(origin)
        self.count("comparisons" if comparison else "findings (not comparisons)")
        self.count("cell-level findings", 1 if cell_level and kind != "no-subject" else 0)
        self.count("effects", 0 if kind == "no-effect" else len(effects))
        return "\n".join(lines)

    def _value_origin(self, finding: str, ref: str, organism: str) -> str:
        """A model organism taken from the cited study's title (its reference-list entry names it 'Study N')."""
        self.count("value origins")
        number = ref.rsplit("-", 1)[1]
        return (f"origin:{finding.split(':', 1)[1]}-model-organism a mscev:ValueOrigin ;\n"
                f'    rdfs:label "model organism of {finding}: from the title of study {number}" ;\n'
                f"    mscev:originProperty mscev:modelOrganism ;\n    mscev:originValue {organism} ;\n"
                f"    mscev:originSource mscev:ReferenceListEntry ;\n    mscev:citedStudy {ref} ;\n"
                f'    mscev:evidenceQuote "Study {number}" .\n')

    def _effect(self, effect: str) -> str:
        rng = self.rng
        target = rng.choice(self.pathways) if rng.random() < 0.6 else rng.choice(self.proteins)
        lines = [f"{effect} a mscev:Effect ;", f"    mscev:direction {rng.choice(DIRECTIONS)} ;",
                 f"    mscev:affects {target}"]
        if rng.random() < 0.2:
            lines[-1] += " ;"
            lines.append(f"    mscev:inCellType {rng.choice(self.cell_types)}")
        if rng.random() < 0.1:
            lines[-1] += " ;"
            lines.append(f"    mscev:viaPathway {rng.choice(self.pathways)}")
        return "\n".join(lines) + " .\n"

    def _provenance(self, ref: str | None, section: str, label: str) -> str:
        cited = f"    mscev:citedStudy {ref} ;\n" if ref else ""
        return (f'    rdfs:label "{label}" ;\n{cited}    mscev:statedIn mscev-data:review ;\n'
                f'    mscev:reviewSection {section} ;\n    mscev:evidenceQuote "{self._quote(self.rng.randint(14, 30))}" .\n')

    def _cargo_evidence(self, parts, number, ref, section, prep, finding) -> None:
        rng = self.rng
        cargo = rng.choice(self.micrornas)
        parts.append(f"cargoev:synth-{number} a mscev:CargoEvidence ;\n    mscev:vesicle {prep} ;\n"
                     f"    mscev:cargo {cargo} ;\n    mscev:cargoLevel {rng.choice(LEVELS)} ;\n"
                     f"    mscev:supportsFinding {finding} ;\n"
                     + self._provenance(ref, section, f"synthetic cargo evidence {number}"))
        parts.append(f"{prep} mscev:carries {cargo} .\n")
        self.count("cargo evidence")

    def _table_row(self, parts, number, ref, prep, finding, condition) -> None:
        parts.append(f"table:synth-{number} a mscev:TableStatement ;\n"
                     f'    mscev:tableLocation "Table 2, row {number}" ;\n    mscev:vesicle {prep} ;\n'
                     f"    mscev:condition {condition} ;\n    mscev:supportsFinding {finding} ;\n"
                     + self._provenance(ref, "section:synth-00", f"synthetic table row {number}"))
        self.count("table statements")

    def _trial(self, parts, number, ref, prep, condition) -> None:
        parts.append(f"trial:synth-{number} a mscev:ClinicalTrial ;\n    mscev:vesicle {prep} ;\n"
                     f'    mscev:condition {condition} ;\n    mscev:trialId "NCT{90_000_000 + number:08d}" ;\n'
                     f'    mscev:trialStatusAsStated "recruiting" ;\n'
                     + self._provenance(ref, "section:synth-01", f"synthetic clinical trial {number}"))
        self.count("clinical trials")

    def _fact_or_claim(self, parts, number, ref, section) -> None:
        if self.rng.random() < 0.5:
            parts.append(f"fact:synth-{number} a mscev:BackgroundFact ;\n    mscev:about {self.rng.choice(self.pathways)} ;\n"
                         + self._provenance(ref, section, f"synthetic background fact {number}"))
            self.count("background facts")
        else:
            parts.append(f"claim:synth-{number} a mscev:ReviewClaim ;\n"
                         + self._provenance(None, section, f"synthetic review claim {number}"))
            self.count("review claims")
