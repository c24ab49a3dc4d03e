"""The fast build's on-disk store loader (mscev.build._DiskStoreLoader): the asserted graph from the input files,
then every N-Triples file handed to it, each into its graph; a failure is a message, never a traceback."""

import importlib

import pyoxigraph as ox
import pytest

from mscev.errors import MscevError
from mscev.query import ASSERTED_GRAPH

build_module = importlib.import_module("mscev.build")  # mscev.build is also the name of the build() function

EXAMPLE = "https://example.org/"
INFERRED = ox.NamedNode(EXAMPLE + "graph/inferred")
DIRECT = ox.NamedNode(EXAMPLE + "graph/direct")


def count(store: ox.Store, graph: ox.NamedNode) -> int:
    return len(list(store.quads_for_pattern(None, None, None, graph)))


def test_the_loader_adds_each_handed_file_to_its_graph_after_the_input_files(tmp_path):
    data = tmp_path / "data.ttl"
    data.write_text(f"<{EXAMPLE}a> <{EXAMPLE}p> <{EXAMPLE}b> , <{EXAMPLE}c> .\n", encoding="utf-8")
    inferred, direct = tmp_path / ".inferred.nt", tmp_path / ".direct.nt"
    inferred.write_text(f"<{EXAMPLE}a> <{EXAMPLE}q> <{EXAMPLE}b> .\n", encoding="utf-8")
    direct.write_text("".join(f"<{EXAMPLE}a> <{EXAMPLE}r> \"{n}\" .\n" for n in range(3)), encoding="utf-8")
    loader = build_module._DiskStoreLoader(tmp_path / "store", [data])
    try:
        loader.add(inferred, INFERRED)
        loader.add(direct, DIRECT)
        loader.wait()
    finally:
        loader.stop()
    store = ox.Store.read_only(str(tmp_path / "store"))
    assert (count(store, ASSERTED_GRAPH), count(store, INFERRED), count(store, DIRECT)) == (2, 1, 3)
    assert not (tmp_path / ".store-loader.log").exists()


def test_a_handed_file_the_loader_cannot_read_is_reported_as_a_build_error(tmp_path):
    data = tmp_path / "data.ttl"
    data.write_text(f"<{EXAMPLE}a> <{EXAMPLE}p> <{EXAMPLE}b> .\n", encoding="utf-8")
    broken = tmp_path / ".direct.nt"
    broken.write_text(f"<{EXAMPLE}a> <{EXAMPLE}r> .\n", encoding="utf-8")  # no object: not N-Triples
    loader = build_module._DiskStoreLoader(tmp_path / "store", [data])
    try:
        loader.add(broken, DIRECT)
        loader.add(tmp_path / "after-the-failure.nt", DIRECT)  # the loader may be gone by now: no error here
        with pytest.raises(MscevError, match="loading the on-disk store failed: "):
            loader.wait()
    finally:
        loader.stop()


def test_the_input_files_load_at_a_lower_priority_and_the_handed_files_at_the_builds(tmp_path, monkeypatch):
    """The loader ran wholly at nice +10 (os.nice in its process), so at the write stage, when the build waits for
    the inferred and derived graphs, it was the last to get a core: at a million findings the write stage took
    558 s of wall for 338 s of CPU. Now only the input files are loaded at +10 (a thread of their own: lowering a
    nice value back needs privileges), the handed files at the priority the loader was started with."""
    import io
    import os

    data = tmp_path / "data.ttl"
    data.write_text(f"<{EXAMPLE}a> <{EXAMPLE}p> <{EXAMPLE}b> .\n", encoding="utf-8")
    direct = tmp_path / ".direct.nt"
    direct.write_text(f"<{EXAMPLE}a> <{EXAMPLE}r> <{EXAMPLE}c> .\n", encoding="utf-8")
    priority = {}
    turtle_source = build_module.turtle_source

    def reading_input_file(path):
        priority["input files"] = os.getpriority(os.PRIO_PROCESS, 0)  # Linux: this thread's nice value
        return turtle_source(path)

    class HandedFiles(io.StringIO):
        def __iter__(self):
            priority["handed files"] = os.getpriority(os.PRIO_PROCESS, 0)
            return super().__iter__()

    monkeypatch.setattr(build_module, "die_with", lambda parent: None)  # run in this process, not as a child
    monkeypatch.setattr(build_module, "turtle_source", reading_input_file)
    monkeypatch.setattr("sys.stdin", HandedFiles(f"{DIRECT.value}\t{direct}\n"))
    started_at = os.getpriority(os.PRIO_PROCESS, 0)
    build_module.load_disk_store(str(tmp_path / "store"), [str(data)], parent=os.getppid())
    assert priority == {"input files": min(started_at + 10, 19), "handed files": started_at}
    assert os.getpriority(os.PRIO_PROCESS, 0) == started_at
    store = ox.Store.read_only(str(tmp_path / "store"))
    assert (count(store, ASSERTED_GRAPH), count(store, DIRECT)) == (1, 1)


def test_an_action_at_lower_priority_raises_its_error_in_the_caller():
    from mscev.processes import at_lower_priority

    def failing():
        raise MscevError("the action failed")

    with pytest.raises(MscevError, match="the action failed"):
        at_lower_priority(failing)
