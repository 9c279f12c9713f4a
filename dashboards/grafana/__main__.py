"""``python -m dashboards.grafana [--check] [--out DIR]``: regenerate (or check) the provisioning files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboards.grafana.provisioning import DEFAULT_ROOT, StaleProvisioning, check, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.grafana", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT, help="the provisioning folder to write")
    parser.add_argument("--check", action="store_true", help="only check that the files are up to date")
    args = parser.parse_args(argv)
    if args.check:
        try:
            check(args.out)
        except StaleProvisioning as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"provisioning files under {args.out} are up to date")
        return 0
    paths = write(args.out)
    print(f"wrote {len(paths)} provisioning files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
