"""Run every benchmark and print the markdown tables that docs/benchmarks.md records.

Run: .venv/bin/python benchmarks/run_all.py   (or `make bench`)
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

BENCHMARKS = ["bench_hpss", "bench_metrics", "bench_model_methods", "bench_bss",
              "bench_neural", "bench_training", "bench_batch"]


def main() -> None:
    for name in BENCHMARKS:
        print(f"## {name}\n")
        print("\n".join(importlib.import_module(name).main()))
        print()


if __name__ == "__main__":
    main()
