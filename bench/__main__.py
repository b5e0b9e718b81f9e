"""`make bench`: run every benchmark module in bench/ that has an async main()."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

SKIP = {"__init__", "__main__", "common"}


def main() -> None:
    wanted = set(sys.argv[1:])
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.stem in SKIP or (wanted and path.stem not in wanted):
            continue
        module = importlib.import_module(f"bench.{path.stem}")
        if hasattr(module, "main"):
            print(f"== bench {path.stem}", flush=True)
            asyncio.run(module.main())


if __name__ == "__main__":
    main()
