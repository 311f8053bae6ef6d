"""The region test (tests/cluster/test_region.py) at the issue's size: 200 clients in 100 chats.

    .venv/bin/python bench/region_bench.py            # 100 chats
    .venv/bin/python bench/region_bench.py --chats 150

The same test as in CI, with ``TELECONSULT_TEST_REGION_CHATS``; it prints the summary line
(clients, messages, live deliveries, reconnects, resyncs, e-mails, files, seconds of
traffic). Needs what the test needs: PostgreSQL, haproxy, redis-server, openssl.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=100)
    args = parser.parse_args()
    env = {**os.environ, "TELECONSULT_TEST_REGION": "1", "TELECONSULT_TEST_REGION_CHATS": str(args.chats), "TELECONSULT_TEST_POSTGRES": "1",
           "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/cluster/test_region.py"]
    sys.exit(subprocess.call(command, cwd=ROOT, env=env))


if __name__ == "__main__":
    main()
