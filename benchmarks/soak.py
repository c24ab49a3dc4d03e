"""Soak test of `mscev serve`: several concurrent clients for minutes, on the stored queries and entity pages.

The load of benchmarks/load_serve.py, run for a fixed time (--duration, 180 s by default) over every stored
query and the pages of findings, preparations and references (HTML and Turtle): throughput, p50/p99 latency,
failed requests, and the memory of the server's process tree at the start and the end (its growth). It starts
its own server on a free loopback port. Exit code 1 when any request failed.

    .venv/bin/mscev build --out /tmp/soak-build
    .venv/bin/python benchmarks/soak.py --build /tmp/soak-build [--duration 180] [--clients 8] [--workers 2]
"""

import sys

from load_serve import arguments, run

if __name__ == "__main__":
    sys.exit(run(arguments(__doc__, duration=180.0, pages=True).parse_args()))
