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
    assert message.startswith(f"{bad}:4:10:"), message  # "ex:d" has no object: the "." stands where it should be
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


STRICT_CASES = {
    "iri-with-space": ('@prefix ex: <http://example.org/> .\nex:a ex:b <https://example.org/a b> .\n',
                       ":2:11:", "Invalid IRI code point ' '"),
    "lone-surrogate-escape": ('@prefix ex: <http://example.org/> .\nex:a ex:b "x\\uD800y" .\n',
                              ":2:13:", "not a valid unicode character"),
}


@pytest.mark.parametrize("case", STRICT_CASES)
def test_validate_and_both_build_engines_give_the_same_syntax_error(tmp_path, capsys, case):
    """One strict parse for every command: what the store cannot hold is a syntax error with file:line:column."""
    from mscev.cli import main

    text, position, why = STRICT_CASES[case]
    data = tmp_path / "data"
    data.mkdir()
    draft = data / "draft.ttl"
    draft.write_text(text, encoding="utf-8")
    expected = f"{draft}{position} Turtle syntax error: "
    for argv in (["validate", str(draft)], ["build", "--no-reason", "--engine", "reference", "--data", str(data)],
                 ["build", "--no-reason", "--engine", "fast", "--data", str(data)]):
        if argv[0] == "build":
            argv += ["--out", str(tmp_path / "build")]
        assert main(argv) == 2, argv
        error = capsys.readouterr().err
        assert expected in error and why in error and "Traceback" not in error, (argv, error)
    assert not (tmp_path / "build").exists()


def test_a_literal_over_16_mib_is_refused_with_a_clear_message(tmp_path, capsys):
    from mscev.cli import main

    data = tmp_path / "data"
    data.mkdir()
    draft = data / "big.ttl"
    draft.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b "' + "x" * (17 << 20) + '" .\n', encoding="utf-8")
    for argv in (["validate", str(draft)], ["build", "--no-reason", "--engine", "fast", "--data", str(data),
                                            "--out", str(tmp_path / "build")]):
        assert main(argv) == 2, argv
        error = capsys.readouterr().err
        assert f"{draft}:2:" in error and "longer than 16 MiB" in error and "Traceback" not in error, (argv, error)
