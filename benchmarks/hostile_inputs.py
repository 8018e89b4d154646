"""The hostile-input matrix of docs/reliability.md: every case of tests/hostile.py through the
real command line (`unweave separate FILE -m METHOD`), each in its own process with a time
limit, recording the exit status, the first error line, the wall time and the peak memory.

.venv/bin/python benchmarks/hostile_inputs.py [--grid] [--large] [--timeout S]

A case passes when it does what the table says (works: exit 0; error: exit 2 with one
`unweave: error:` line) with no traceback, within the time limit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hostile import Case, broken_cases, channel_grid, noise, unusual_cases  # noqa: E402

# The command line in a fresh process that reports its own peak memory when it ends.
UNWEAVE = [sys.executable, "-c",
           "import resource, sys; from unweave.cli import main; code = main(sys.argv[1:]); "
           "print(f'peak_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', "
           "file=sys.stderr); sys.exit(code)"]


def run_case(case: Case, folder: Path, timeout: float) -> dict:
    path = case.make(folder)
    out = folder / "out"
    argv = [*UNWEAVE, "separate", str(path), "-m", case.method, "-o", str(out), "-q",
            "--force", *case.options]
    env = {k: v for k, v in os.environ.items() if k != "UNWEAVE_DEBUG"}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        _, err = proc.communicate(timeout=timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        status = "timeout"
    seconds = time.perf_counter() - start
    text = err.decode(errors="replace")
    peaks = [line for line in text.splitlines() if line.startswith("peak_kib=")]
    peak_mib = int(peaks[-1].split("=")[1]) / 1024 if peaks else float("nan")
    lines = [line for line in text.splitlines() if line.startswith("unweave: error:")]
    got = {0: "works", 2: "error"}.get(status, f"exit {status}")
    ok = (got == case.expect and "Traceback" not in text
          and (got == "works" or len(lines) >= 1))
    message = lines[0].removeprefix("unweave: error: ").replace(str(folder) + "/", "") \
        if lines else ""
    path.unlink(missing_ok=True)
    return {"case": case.name, "method": case.method, "expect": case.expect, "got": got,
            "ok": ok, "message": message, "seconds": seconds, "peak_mib": peak_mib,
            "traceback": "Traceback" in text}


def large_case(folder: Path) -> Case:
    """16 channels x 96 kHz x 70 s of 16-bit PCM (215 MB): memory must stay bounded."""
    def make(folder: Path) -> Path:
        path = folder / "large_16ch_96k.wav"
        with sf.SoundFile(path, "w", 96000, 16, "PCM_16") as f:
            for i in range(70):
                f.write(noise(16, 96000, seed=i).T)
        return path
    return Case("16 ch x 96 kHz x 70 s (215 MB)", make, "works")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="also every method x channels")
    parser.add_argument("--only-grid", action="store_true", help="only every method x channels")
    parser.add_argument("--large", action="store_true", help="also a 215 MB 16-channel file")
    parser.add_argument("--only-large", action="store_true", help="only the 215 MB file")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    cases = [] if args.only_grid or args.only_large else broken_cases() + unusual_cases()
    if args.grid or args.only_grid:
        cases += channel_grid()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.large or args.only_large:
            cases.append(large_case(folder))
        for case in cases:
            row = run_case(case, folder, args.timeout)
            rows.append(row)
            print(f"{'ok  ' if row['ok'] else 'FAIL'} {row['case']:<40} {row['method']:<7} "
                  f"{row['got']:<7} {row['seconds']:6.2f} s {row['peak_mib']:5.0f} MiB  "
                  f"{row['message'][:80]}",
                  file=sys.stderr, flush=True)
    print("\n| input | method | expected | got | s | MiB | message |")
    print("|---|---|---|---|---:|---:|---|")
    for r in rows:
        mark = "" if r["ok"] else " **(wrong)**"
        print(f"| {r['case']} | {r['method']} | {r['expect']} | {r['got']}{mark} | "
              f"{r['seconds']:.2f} | {r['peak_mib']:.0f} | {r['message'].replace('|', '/')} |")
    failures = sum(not r["ok"] for r in rows)
    tracebacks = sum(r["traceback"] for r in rows)
    print(f"\n{len(rows)} cases: {len(rows) - failures} as expected, {failures} not; "
          f"{tracebacks} tracebacks; slowest {max(r['seconds'] for r in rows):.1f} s; "
          f"largest peak RSS of any case {max(r['peak_mib'] for r in rows):.0f} MiB")
    return 1 if failures else 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
