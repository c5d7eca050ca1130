"""Run the benchmarks (what `make bench` runs): `python -m bench [NAME] [options]`.

NAME: users-import, baseline, mail-throughput, drive, or all (the default). The options
below are users-import's; the others take theirs with `python -m bench.<module>`.
"""

from __future__ import annotations

import argparse
import sys

from bench import import_agents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "name",
        nargs="?",
        default="all",
        choices=["all", "users-import", "baseline", "mail-throughput", "drive"],
    )
    parser.add_argument("--count", type=int, default=70_000, help="agents to import")
    parser.add_argument(
        "--changed", type=float, default=0.01, help="fraction of agents changed on re-import"
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the directory container running afterwards"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="use the container a --keep run left, emptied"
    )
    parser.add_argument(
        "--no-sync",
        action="store_true",
        help="run slapd without fsync (directory__db_no_sync), as for a one-off initial load",
    )
    args = parser.parse_args(argv)
    status = 0
    if args.name in ("all", "baseline"):
        from bench import baseline

        status |= baseline.main()
    if args.name in ("all", "mail-throughput"):
        from bench import mail_throughput

        status |= mail_throughput.main([])
    if args.name in ("all", "drive"):
        from bench import drive

        status |= drive.main([])
    if args.name in ("all", "users-import"):
        import_agents.run(
            count=args.count,
            changed=args.changed,
            keep=args.keep,
            reuse=args.reuse,
            no_sync=args.no_sync,
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
