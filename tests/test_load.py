"""The load stage: bad input gives a message naming the file, line and column, never a traceback."""

import pytest

from mscev.errors import MscevError
from mscev.load import load_graph, parse_turtle
from mscev.paths import source_files


def test_project_sources_load(loaded_graph):
    assert len(loaded_graph.graph) > 1000
    assert {p.name for p in loaded_graph.files} >= {"mscev.ttl", "external.ttl", "review.ttl", "sources.ttl"}


def test_syntax_error_names_file_line_and_column(tmp_path):
    bad = tmp_path / "draft.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\n\nex:a ex:b ex:c ;\n    ex:d .\n", encoding="utf-8")
    with pytest.raises(MscevError) as caught:
        parse_turtle(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}:4:9:"), message  # "ex:d" has no object
    assert "Turtle syntax error" in message


def test_unknown_prefix_is_named(tmp_path):
    bad = tmp_path / "prefix.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\nex:a nope:b ex:c .\n", encoding="utf-8")
    with pytest.raises(MscevError) as caught:
        parse_turtle(bad)
    assert f"{bad}:2:" in str(caught.value)
    assert "nope" in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(MscevError, match="no such file"):
        load_graph(extra=[tmp_path / "absent.ttl"])


def test_origins_name_the_file(loaded_graph):
    from rdflib import URIRef

    assert loaded_graph.origin_of(URIRef("https://w3id.org/mscev/data/cell/human-bm-msc")) == "triples/sources.ttl" \
        or loaded_graph.origin_of(URIRef("https://w3id.org/mscev/data/cell/human-bm-msc")).endswith("sources.ttl")


def test_source_files_cover_triples_folder():
    names = [p.name for p in source_files()]
    assert names[:2] == ["mscev.ttl", "external.ttl"]
    assert "review.ttl" in names
