"""Layouts for the two pictures, drawn as SVG by templates/matrix.svg and templates/network.svg.

The heat map lays out the rows of the stored query source-condition-matrix; the network lays out the edges of
web/queries/neighbourhood.rq in five columns (sources → vesicles → cargo → targets → conditions), ordered
by the barycentre of each node's neighbours so that edges cross less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import urlencode

from mscev.namespaces import curie
from mscev.web.pages import Term, humanize

# Heat map geometry (px)
LABEL_WIDTH, CELL_WIDTH, CELL_HEIGHT, HEADER_HEIGHT, LEGEND_HEIGHT = 330, 92, 22, 70, 46
EMPTY_COLOUR, LOW_COLOUR, HIGH_COLOUR = (243, 244, 246), (222, 235, 247), (8, 69, 148)
# Network geometry (px)
COLUMN_WIDTH, ROW_HEIGHT, NETWORK_MARGIN, MAX_PER_COLUMN, LABEL_CHARS, LAST_LABEL_WIDTH = 225, 19, 28, 60, 31, 190
CHARACTER_WIDTH = 6.4  # mean width of a 12 px system-ui character
LAYERS = ("MSC source", "vesicle preparation", "cargo", "target", "condition")
EDGE_LAYERS = {"source-vesicle": (0, 1), "vesicle-cargo": (1, 2), "cargo-target": (2, 3), "vesicle-condition": (1, 4)}


def _colour(fraction: float) -> str:
    if fraction <= 0:
        return "rgb({},{},{})".format(*EMPTY_COLOUR)
    mixed = (round(low + (high - low) * fraction) for low, high in zip(LOW_COLOUR, HIGH_COLOUR))
    return "rgb({},{},{})".format(*mixed)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


@dataclass
class Cell:
    x: int
    count: int
    fill: str
    dark: bool
    title: str
    href: str


@dataclass
class MatrixRow:
    y: int
    condition: Term
    label: str
    cells: list[Cell]
    total: int


@dataclass
class Heatmap:
    width: int
    height: int
    columns: list[tuple[int, str]]
    rows: list[MatrixRow]
    maximum: int
    legend_y: int
    total_x: int
    legend: list[tuple[int, str]] = field(default_factory=list)
    label_width: int = LABEL_WIDTH
    row_heading: str = "condition"
    cell_width: int = CELL_WIDTH
    cell_height: int = CELL_HEIGHT
    header_height: int = HEADER_HEIGHT


def heatmap(variables: list[str], rows: list[list[Term]], cell_href, row_heading: str = "condition") -> Heatmap:
    """Rows of (condition or area, count per source …, total) as a heat map; colour grows with the square root.

    ``cell_href(condition_term, column_name)`` gives the link of a cell; ``row_heading`` names the rows.
    """
    sources = variables[1:-1]
    counts = [[int(term.text or 0) for term in row[1:]] for row in rows]
    maximum = max((n for row in counts for n in row[:-1]), default=0) or 1
    total_x = LABEL_WIDTH + CELL_WIDTH * len(sources) + 12
    layout = []
    for index, (row, numbers) in enumerate(zip(rows, counts)):
        y = HEADER_HEIGHT + index * CELL_HEIGHT
        condition = row[0]
        cells = []
        for column, (name, count) in enumerate(zip(sources, numbers)):
            fraction = math.sqrt(count / maximum)
            cells.append(Cell(LABEL_WIDTH + column * CELL_WIDTH, count, _colour(fraction), fraction > 0.55,
                              f"{condition.text} × {humanize(name)}: {count} finding{'' if count == 1 else 's'}",
                              cell_href(condition, name)))
        layout.append(MatrixRow(y, condition, _shorten(condition.text, 48), cells, numbers[-1]))
    legend_y = HEADER_HEIGHT + len(rows) * CELL_HEIGHT + 20
    legend = [(LABEL_WIDTH + step * 24, _colour(math.sqrt(step / 8))) for step in range(9)]
    return Heatmap(total_x + 70, legend_y + LEGEND_HEIGHT,
                   [(LABEL_WIDTH + i * CELL_WIDTH + CELL_WIDTH // 2, humanize(name)) for i, name in enumerate(sources)],
                   layout, maximum, legend_y, total_x, legend, row_heading=row_heading)


@dataclass
class Node:
    term: Term
    layer: int
    x: int = 0
    y: int = 0
    label: str = ""
    focus: bool = False

    @property
    def right(self) -> int:
        """Where edges leave the node: after its label (estimated width), so they do not cross it."""
        return self.x + min(COLUMN_WIDTH - 16, 12 + round(CHARACTER_WIDTH * len(self.label)))


@dataclass
class Edge:
    kind: str
    source: Node
    target: Node


@dataclass
class Network:
    width: int
    height: int
    nodes: list[Node]
    edges: list[Edge]
    headings: list[tuple[int, str, int]]  # x, heading, number of nodes not shown


def network(rows: list[list[Term]], focus_iri: str) -> Network:
    """Lay out (focus, edge kind, from, to) rows in the five columns of LAYERS."""
    nodes: dict[tuple[int, str], Node] = {}
    links: list[tuple[str, Node, Node]] = []
    for _, kind, start, end in rows:
        if kind.text not in EDGE_LAYERS or not start.iri or not end.iri:
            continue
        first, second = EDGE_LAYERS[kind.text]
        a = nodes.setdefault((first, start.iri), Node(start, first))
        b = nodes.setdefault((second, end.iri), Node(end, second))
        links.append((kind.text, a, b))
    degree: dict[int, int] = {}
    for _, a, b in links:
        degree[id(a)] = degree.get(id(a), 0) + 1
        degree[id(b)] = degree.get(id(b), 0) + 1
    columns: list[list[Node]] = [[] for _ in LAYERS]
    for node in nodes.values():
        node.focus = node.term.iri == focus_iri
        columns[node.layer].append(node)
    hidden = []
    for index, column in enumerate(columns):
        column.sort(key=lambda n: (not n.focus, -degree.get(id(n), 0), n.term.text.casefold()))
        hidden.append(max(0, len(column) - MAX_PER_COLUMN))
        columns[index] = sorted(column[:MAX_PER_COLUMN], key=lambda n: n.term.text.casefold())
    shown = {id(n) for column in columns for n in column}
    edges = [Edge(kind, a, b) for kind, a, b in links if id(a) in shown and id(b) in shown]
    _order_by_barycentre(columns, edges)
    tallest = max((len(column) for column in columns), default=0)
    for index, column in enumerate(columns):
        top = NETWORK_MARGIN + 30 + (tallest - len(column)) * ROW_HEIGHT / 2
        for row, node in enumerate(column):
            node.x, node.y = NETWORK_MARGIN + index * COLUMN_WIDTH, round(top + row * ROW_HEIGHT)
            node.label = _shorten(node.term.text or curie(node.term.iri), LABEL_CHARS)
    headings = [(NETWORK_MARGIN + i * COLUMN_WIDTH, heading, hidden[i]) for i, heading in enumerate(LAYERS)]
    return Network(NETWORK_MARGIN * 2 + (len(LAYERS) - 1) * COLUMN_WIDTH + LAST_LABEL_WIDTH,
                   NETWORK_MARGIN * 2 + 40 + tallest * ROW_HEIGHT,
                   [n for column in columns for n in column], edges, headings)


def _order_by_barycentre(columns: list[list[Node]], edges: list[Edge], sweeps: int = 4) -> None:
    """Reorder each column by the mean position of each node's neighbours (down, then up, a few times)."""
    neighbours: dict[int, list[Node]] = {}
    for edge in edges:
        neighbours.setdefault(id(edge.source), []).append(edge.target)
        neighbours.setdefault(id(edge.target), []).append(edge.source)

    def position(node: Node) -> float:
        return columns[node.layer].index(node) / max(1, len(columns[node.layer]) - 1)

    for sweep in range(sweeps):
        order = range(1, len(columns)) if sweep % 2 == 0 else range(len(columns) - 2, -1, -1)
        for index in order:
            current = {id(n): i / max(1, len(columns[index]) - 1) for i, n in enumerate(columns[index])}

            def barycentre(node: Node) -> float:
                others = [position(m) for m in neighbours.get(id(node), []) if m.layer != node.layer]
                return sum(others) / len(others) if others else current[id(node)]

            columns[index].sort(key=barycentre)


def matrix_cell_href(condition: Term, _column: str) -> str:
    """A heat-map cell opens the stored question 'which sources, for this condition (or area)?'."""
    return "/queries/sources-by-condition?" + urlencode({"condition": condition.curie or condition.iri or ""})
