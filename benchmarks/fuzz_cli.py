"""Fuzz the command line: `unweave separate` (and `evaluate`, `report`) on random files (valid
audio of random shape, rate and format; corrupted headers; random bytes; missing files;
folders) with random methods (some misspelled) and random option values (negative, zero,
huge, NaN, text). Every case runs in this process under a time limit.

A crash is an exception that escapes the CLI, an exit status other than 0 or 2 (1 means an
unexpected error), a traceback, more than one error line for one input, a temporary file left
behind, or a file written outside the case's folder. Run:

.venv/bin/python benchmarks/fuzz_cli.py [cases] [seed] [--limit S]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf

from unweave.cli import main as cli_main
from unweave.methods import available_methods

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from hostile import noise, wav_header  # noqa: E402

SUMMARY = re.compile(r"^\d+ separated, \d+ skipped")  # a batch's last line
SLOW = {"score", "drnn"}  # need files this fuzzer does not make (score) or are slow (drnn)
VALUES = ["0", "1", "2", "-1", "3", "0.5", "-0.5", "1e9", "1e-9", "nan", "inf", "-inf", "abc",
          "", "17", "4096", "100000"]
FORMATS = [("WAV", "PCM_16", ".wav"), ("WAV", "FLOAT", ".wav"), ("WAV", "PCM_U8", ".wav"),
           ("FLAC", "PCM_24", ".flac"), ("OGG", "VORBIS", ".ogg"), ("AIFF", "PCM_16", ".aiff")]


class CaseTimeout(BaseException):
    """Raised by the alarm: a case ran past its limit (a BaseException, so it is not caught
    and reported as an error by the CLI)."""


def _alarm(signum, frame):
    raise CaseTimeout


def make_input(rng: np.random.Generator, folder: Path) -> tuple[str, str]:
    """A random input: (path, kind)."""
    kind = rng.choice(["audio", "audio", "audio", "corrupt", "bytes", "missing", "folder",
                       "silent", "short"])
    if kind in ("audio", "silent", "short"):
        container, subtype, suffix = FORMATS[int(rng.integers(len(FORMATS)))]
        channels = int(rng.choice([1, 2, 2, 2, 3, 4, 8]))
        rate = int(rng.choice([8000, 16000, 22050, 44100, 48000]))
        frames = int(rng.integers(1, 200)) if kind == "short" else \
            int(rng.integers(rate // 4, rate * 2))
        audio = np.zeros((channels, frames), np.float32) if kind == "silent" else \
            noise(channels, frames, seed=int(rng.integers(1 << 30)))
        path = folder / f"in{suffix}"
        sf.write(path, audio.T, rate, subtype=subtype, format=container)
    elif kind == "corrupt":
        data = (noise(2, 8000) * 32767).astype("<i2").T.tobytes()
        raw = bytearray(wav_header(2, 16000, 16, len(data)) + data)
        for _ in range(int(rng.integers(1, 6))):
            raw[int(rng.integers(0, 44))] = int(rng.integers(0, 256))
        path = folder / "in.wav"
        path.write_bytes(bytes(raw[: int(rng.integers(1, len(raw) + 1))]))
    elif kind == "bytes":
        path = folder / f"in{rng.choice(['.wav', '.flac', '.m4a', '.mp3'])}"
        path.write_bytes(rng.bytes(int(rng.integers(0, 3000))))
    elif kind == "folder":
        path = folder / "album"
        path.mkdir()
        sf.write(path / "a.wav", noise(2, 8000).T, 16000)
        (path / "b.wav").write_bytes(rng.bytes(100))
    else:
        path = folder / "missing.wav"
    return str(path), str(kind)


def make_pair(rng: np.random.Generator, folder: Path) -> tuple[str, str]:
    """A reference track folder (two sources) and an estimate folder, sometimes damaged:
    a source missing, a file of random bytes, another length, rate or channel count."""
    rate, frames = 8000, int(rng.integers(2000, 16000))
    reference, estimate = folder / "ref", folder / "est"
    reference.mkdir()
    estimate.mkdir()
    for i, name in enumerate(("voice", "music")):
        truth = noise(2, frames, seed=i)
        sf.write(reference / f"{name}.wav", truth.T, rate)
        damage = rng.choice(["none", "none", "missing", "bytes", "length", "rate", "mono"])
        guess = truth + noise(2, frames, seed=10 + i, level=0.3)
        if damage == "missing":
            continue
        if damage == "bytes":
            (estimate / f"{name}.wav").write_bytes(rng.bytes(200))
            continue
        if damage == "length":
            guess = guess[:, : frames // 2]
        if damage == "mono":
            guess = guess[:1]
        sf.write(estimate / f"{name}.wav", guess.T, rate * (2 if damage == "rate" else 1))
    return str(reference), str(estimate)


def method_argv(rng: np.random.Generator, methods: dict) -> list[str]:
    names = [n for n in methods if n not in SLOW]
    name = str(rng.choice(names))
    if rng.random() < 0.05:  # misspelled
        name = name[:-1] + "x"
    argv = ["-m", name]
    cls = methods.get(name)
    if cls is not None:
        fields = {f.name: f.default for f in cls.options()}
        count = min(len(fields), int(rng.choice([0, 0, 0, 1, 2])))
        for field in rng.choice(list(fields), size=count, replace=False) if fields else []:
            argv += [f"--{field.replace('_', '-')}", option_value(rng, fields[field])]
    return argv


def option_value(rng: np.random.Generator, default) -> str:
    """Half the time a value near the option's default, else anything from VALUES."""
    if rng.random() < 0.5 and isinstance(default, int | float) and not isinstance(default, bool):
        value = default * rng.choice([0.5, 1, 2]) if default else rng.choice([0, 1, 2])
        return str(type(default)(value))
    return str(rng.choice(VALUES))


def global_argv(rng: np.random.Generator) -> list[str]:
    argv = []
    if rng.random() < 0.2:
        argv += ["--chunk-seconds", str(rng.choice(["0.5", "1", "0", "-1", "nan", "60"]))]
    if rng.random() < 0.2:
        argv += ["--overlap-seconds", str(rng.choice(["0", "0.1", "5", "-1", "nan"]))]
    if rng.random() < 0.2:
        argv += ["--format", str(rng.choice(["wav", "flac", "mp3"]))]
    if rng.random() < 0.2:
        argv += ["--bits", str(rng.choice(["16", "24", "32", "8"]))]
    if rng.random() < 0.1:
        argv += ["--force"]
    return argv


def error_kind(line: str) -> str:
    """An error line without its file names and numbers, to count errors by kind."""
    text = re.sub(r"/tmp/\S+?: ", "", line.removeprefix("unweave: error: "))
    text = re.sub(r"\(.*", "", re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "N", text))
    return text.strip()[:70]


def run_case(i: int, rng: np.random.Generator, methods: dict, limit: float) -> tuple[str, str]:
    """One case in a fresh folder: (outcome, detail)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, kind = make_input(rng, folder)
        out = folder / "out"
        command = rng.choice(["separate"] * 8 + ["evaluate", "report"])
        if command == "separate":
            argv = ["separate", path, "-o", str(out), "-q", *method_argv(rng, methods),
                    *global_argv(rng)]
        elif command == "evaluate":
            reference, estimate = make_pair(rng, folder)
            argv = ["evaluate", "--reference", reference, "--estimate", estimate, "--metric",
                    str(rng.choice(["v4", "v3", "sisdr", "v5"])), "-q"]
            if rng.random() < 0.3:
                argv += ["--window", str(rng.choice(["1", "0.5", "0", "-1", "nan", "1e9"]))]
            if rng.random() < 0.3:
                argv += ["--hop", str(rng.choice(["1", "0.25", "0", "1e-9", "-1", "1e9"]))]
            if rng.random() < 0.3:
                argv += ["--baselines", str(rng.choice(["mixture,irm", "mixture", "x", ""]))]
        else:
            argv = ["report", str(folder if rng.random() < 0.5 else path)]
        before = {p for p in folder.rglob("*") if p.is_file()}
        stderr = io.StringIO()
        cwd = os.getcwd()
        os.chdir(folder)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                code = cli_main(argv)
        except CaseTimeout:
            return "timeout", " ".join(argv[3:]) + f" [{kind}]"
        except SystemExit as exc:  # --help
            code = exc.code
        except BaseException as exc:  # noqa: BLE001 - what escapes the CLI is what we count
            return "crash", f"{type(exc).__name__}: {exc} :: {argv} [{kind}]"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            os.chdir(cwd)
        text = stderr.getvalue()
        errors = [l for l in text.splitlines() if l.startswith("unweave: error:")]
        parts = [p for p in folder.rglob("*") if p.name.endswith(".part")]
        outputs = (out, folder / "report")  # separate's -o, and report's own folder
        outside = [p for p in folder.rglob("*") if p.is_file() and p not in before
                   and not any(p.is_relative_to(o) for o in outputs)]
        if code not in (0, 2) or "Traceback" in text or parts or outside:
            return "crash", f"exit {code}: {text.strip()[:300]} :: {argv} [{kind}] {parts} " \
                f"{outside}"
        inputs = 2 if kind == "folder" or command == "evaluate" else 1
        if len(errors) > (inputs + 1 if inputs > 1 else 1):  # a line per input + a summary
            return "crash", f"{len(errors)} error lines :: {argv}: {errors}"
        if text.strip() and not all(l.startswith(("unweave: error:", "unweave: warning:"))
                                    or SUMMARY.match(l) for l in text.strip().splitlines()):
            return "crash", f"stray output on stderr: {text.strip()[:300]} :: {argv}"
        return ("ok", "") if code == 0 else ("error", error_kind(errors[-1] if errors else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", type=int, default=3000)
    parser.add_argument("seed", nargs="?", type=int, default=0)
    parser.add_argument("--limit", type=float, default=30.0, help="seconds per case")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    rng = np.random.default_rng(args.seed)
    methods = available_methods()
    outcomes: Counter = Counter()
    details: list[str] = []
    kinds: Counter = Counter()
    start = time.perf_counter()
    for i in range(args.cases):
        outcome, detail = run_case(i, rng, methods, args.limit)
        outcomes[outcome] += 1
        if outcome == "error":
            kinds[detail] += 1
        if outcome in ("crash", "timeout"):
            details.append(f"case {i} {outcome}: {detail}")
            print(details[-1], file=sys.stderr, flush=True)
        if (i + 1) % 250 == 0:
            print(f"{i + 1} cases, {time.perf_counter() - start:.0f} s: {dict(outcomes)}",
                  file=sys.stderr, flush=True)
    seconds = time.perf_counter() - start
    print(f"{args.cases} CLI cases (seed {args.seed}) in {seconds:.0f} s: "
          f"{outcomes['ok']} separated or evaluated, {outcomes['error']} one-line errors, "
          f"{outcomes['timeout']} over {args.limit:g} s, {outcomes['crash']} crashes")
    print("most frequent one-line errors:")
    for kind, count in kinds.most_common(15):
        print(f"  {count:5d}  {kind}")
    return 1 if outcomes["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
