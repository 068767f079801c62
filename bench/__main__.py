"""`python -m bench` (what `make bench` runs): the streaming-engine benchmark.

The workload defaults to the issue's full size; BENCH_EVENTS / BENCH_USERS (or the
flags) scale it down for a quick run.
"""

from __future__ import annotations

import argparse
import os
import sys

from bench.engine import ORDER, BenchError, run
from bench.workload import Workload


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise SystemExit(f"{name}={raw!r}: expected a positive integer") from None
    if value <= 0:
        raise SystemExit(f"{name}={raw!r}: expected a positive integer")
    return value


def main(argv: list[str] | None = None) -> int:
    full = Workload()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=_env_int("BENCH_EVENTS", full.events), help="events (env BENCH_EVENTS)")
    parser.add_argument("--users", type=int, default=_env_int("BENCH_USERS", full.users), help="users (env BENCH_USERS)")
    parser.add_argument("--days", type=int, default=full.days)
    parser.add_argument("--parallelism", type=int, default=_env_int("BENCH_PARALLELISM", 1), help="env BENCH_PARALLELISM")
    parser.add_argument("--variants", nargs="+", choices=ORDER, default=list(ORDER))
    args = parser.parse_args(argv)
    if min(args.events, args.users, args.days, args.parallelism) <= 0:
        parser.error("--events, --users, --days and --parallelism must be positive")
    try:
        run(Workload(events=args.events, users=args.users, days=args.days), args.parallelism, tuple(args.variants))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
