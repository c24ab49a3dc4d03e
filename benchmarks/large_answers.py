"""Large-answer benchmark of `mscev serve` (issue 14, defect 5): the server's memory and the time to the first
byte while clients fetch answers of hundreds of megabytes.

Starts its own server on a free loopback port with room for such answers (`--max-answer`, `--worker-memory`,
`--timeout`; change them after --), then --clients clients at once POST the same query of about 100 KB: every
row of a 10 000-row result carries one string of --row-kib KiB (900 MB in all by default), in --format. Each
client reads the answer in 1 MiB pieces and throws them away. It prints, per client, the time to the first byte
and to the last one and the bytes received; then the server process's (the main process's) resident memory
before and its peak (VmHWM) after, the peak of the whole server (main process, fork server and workers,
sampled every 50 ms), and the load average at the start and the end. Traffic goes to 127.0.0.1 only.

    flock /work/wt/bench.lock nice .venv/bin/python benchmarks/large_answers.py [--clients 2] [--row-kib 90] \
        [--format tsv] [--build build] [-- SERVE OPTIONS]

A benchmark: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).parent))
from load_serve import rss_mib, running_server  # noqa: E402

from mscev.paths import DEFAULT_BUILD_DIR  # noqa: E402

ROWS = 10_000  # the default row cap of `mscev serve`
SERVE_OPTIONS = ("--max-answer", "2048", "--worker-memory", "6144", "--timeout", "300")


def large_query(row_kib: int) -> str:
    """About ``row_kib`` KiB of query text that makes every one of ROWS rows carry that many KiB."""
    return f'SELECT ?o ?big WHERE {{ ?s ?p ?o }} LIMIT {ROWS} VALUES ?big {{ "{"x" * (row_kib * 1024)}" }}'


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def fetch(base: str, query: str, fmt: str, began: float, result: dict) -> None:
    """POST the query and read the answer in 1 MiB pieces, noting when its first and last bytes came."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=600)
    try:
        connection.request("POST", f"/sparql?format={fmt}", body=urlencode({"query": query}),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        result["status"] = response.status
        received = 0
        while True:
            piece = response.read1(1 << 20)
            if not piece:
                break
            if not received:
                result["first"] = time.perf_counter() - began
            received += len(piece)
        result["last"] = time.perf_counter() - began
        result["bytes"] = received
    except (OSError, http.client.HTTPException) as error:
        result["error"] = f"{type(error).__name__}: {error}"
        result["last"] = time.perf_counter() - began
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--row-kib", type=int, default=90, help="KiB in each of the 10 000 rows (default 90)")
    parser.add_argument("--format", default="tsv", help="json, xml, csv or tsv (default tsv)")
    parser.add_argument("--build", type=Path, default=DEFAULT_BUILD_DIR)
    parser.add_argument("serve_options", nargs="*", help="after --: options of mscev serve")
    arguments = parser.parse_args()
    query = large_query(arguments.row_kib)
    options = arguments.serve_options or list(SERVE_OPTIONS)
    print(f"query {len(query):,} bytes; {arguments.clients} clients; answers of about "
          f"{ROWS * arguments.row_kib / 1024:,.0f} MiB in {arguments.format}; serve {' '.join(options)}")
    with running_server(arguments.build, *options) as (server, base):
        time.sleep(1)
        resting = status_kib(server.pid, "VmRSS") / 1024
        print(f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        results = [{} for _ in range(arguments.clients)]
        began = time.perf_counter()
        clients = [threading.Thread(target=fetch, args=(base, query, arguments.format, began, result))
                   for result in results]
        for client in clients:
            client.start()
        tree_peak = 0.0
        while any(client.is_alive() for client in clients):
            tree_peak = max(tree_peak, rss_mib(server.pid))
            time.sleep(0.05)
        main_peak = status_kib(server.pid, "VmHWM") / 1024
        print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for number, result in enumerate(results, 1):
        first = f"{result['first']:.2f} s" if "first" in result else "-"
        print(f"client {number}: status {result.get('status', '-')}, first byte {first}, last byte "
              f"{result.get('last', 0):.2f} s, {result.get('bytes', 0) / 2**20:,.0f} MiB"
              + (f", {result['error']}" if "error" in result else ""))
    print(f"server main process: {resting:,.0f} MiB resident before, peak {main_peak:,.0f} MiB (VmHWM)")
    print(f"whole server (main, fork server, workers): peak {tree_peak:,.0f} MiB (sampled every 50 ms)")


if __name__ == "__main__":
    main()
