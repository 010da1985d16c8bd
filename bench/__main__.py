"""One command for the benchmarks: ``python -m bench [--quick] [--suite driver] [--out DIR]``.

Starts its own throw-away PostgreSQL cluster (nothing to set up), runs each chosen suite, and writes
``results.json`` (machine-readable: date, machine, versions, every sample), ``results.md`` (tables)
and PNG plots into ``--out`` (``bench/results`` by default, ``bench/results/quick`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import results, suites

HERE = Path(__file__).resolve().parent


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run: few, small samples")
    parser.add_argument(
        "--suite",
        action="append",
        choices=sorted(suites.SUITES),
        help="run only this suite (repeatable; default: all)",
    )
    parser.add_argument("--out", type=Path, help="results directory (default bench/results[/quick])")
    for name in suites.SUITES:
        group = parser.add_argument_group(f"{name} suite")
        suites.load(name).add_arguments(group)  # type: ignore[arg-type]
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out: Path = args.out or (HERE / "results" / ("quick" if args.quick else ""))
    data = results.load(out)
    for name in args.suite or list(suites.SUITES):
        print(f"== {name} suite", file=sys.stderr, flush=True)
        data["suites"][name] = suites.load(name).run(args)
    for path in results.save(out, data):
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
