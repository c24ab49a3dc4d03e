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


# ---------------------------------------------------------------------------------------------------- issue 14: one strict parse


BOM_TURTLE = "\ufeff@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\n"


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_a_turtle_file_starting_with_a_byte_order_mark_is_accepted(tmp_path, engine, capsys):
    from mscev.cli import main

    data = tmp_path / "data"
    data.mkdir()
    draft = data / "bom.ttl"
    draft.write_text(BOM_TURTLE, encoding="utf-8")
    assert draft.read_bytes().startswith(b"\xef\xbb\xbf")
    assert main(["validate", str(draft)]) == 0, capsys.readouterr().err
    argv = ["build", "--no-reason", "--engine", engine, "--data", str(data), "--out", str(tmp_path / "build")]
    assert main(argv) == 0, capsys.readouterr().err
    assert "<http://example.org/a> <http://example.org/b> <http://example.org/c> ." in \
        (tmp_path / "build" / "graph.nt").read_text(encoding="utf-8")
