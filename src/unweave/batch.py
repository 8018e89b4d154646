"""Many files: one task per input, run in this process or on a local process pool, resumable.

A finished track gets a manifest, ``OUTDIR/.unweave/<track>.json``: the input's SHA-256, the
method and its options and the files written (the track's own folder holds only its stems).
A rerun skips tracks whose manifest matches and whose files are all there, so an interrupted
batch loses no finished work and does no track twice; every file is written atomically, so
nothing half-written is left behind. A failing track is reported with its error and the others
go on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from unweave.atomic import write_text
from unweave.audio import read_audio, read_sources, resample, write_audio
from unweave.blocks import open_blocks
from unweave.blockwise import separate_blockwise
from unweave.chunks import chunk_seconds_for
from unweave.errors import UnweaveError, debugging, describe
from unweave.methods import get_method
from unweave.methods.base import Separator
from unweave.methods.chunking import separate_in_chunks
from unweave.names import file_names

MANIFESTS = ".unweave"


@dataclass(frozen=True)
class Settings:
    """How outputs are written (the command's options that are not the method's)."""

    out: str
    force: bool = False
    format: str = "wav"
    bits: int = 32
    reference: str | None = None
    chunk_seconds: float = 60.0
    overlap_seconds: float = 2.0


@dataclass(frozen=True)
class Task:
    path: str
    track: str
    method: str
    options: dict
    settings: Settings


@dataclass
class Outcome:
    task: Task
    status: str  # "done", "skipped" or "failed"
    message: str = ""
    files: list[str] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fingerprint(task: Task, sha: str) -> dict:
    s = task.settings
    return {"input_sha256": sha, "method": task.method, "options": task.options,
            "format": s.format, "bits": s.bits, "reference": s.reference,
            "chunk_seconds": s.chunk_seconds, "overlap_seconds": s.overlap_seconds}


def manifest_path(out: str | Path, track: str) -> Path:
    return Path(out) / MANIFESTS / f"{track}.json"


def _read_manifest(manifest_file: Path) -> dict:
    try:
        return json.loads(manifest_file.read_text())
    except (OSError, ValueError):
        return {}


def _is_done(manifest: dict, out_dir: Path, fingerprint: dict) -> bool:
    return (manifest.get("status") == "done" and manifest.get("fingerprint") == fingerprint
            and all((out_dir / f).is_file() for f in manifest.get("files", [])))


def run_task(task: Task, on_chunk: Callable[[int, int], None] | None = None) -> Outcome:
    """Separate one input (skipping it when a matching manifest says it is done).
    ``on_chunk(done, total)`` follows a long file's chunks."""
    path = Path(task.path)
    out_dir = Path(task.settings.out) / task.track
    manifest = manifest_path(task.settings.out, task.track)
    try:
        sha = file_sha256(path) if path.is_file() else ""
        fingerprint = _fingerprint(task, sha)
        previous = _read_manifest(manifest)
        if sha and not task.settings.force and _is_done(previous, out_dir, fingerprint):
            return Outcome(task, "skipped", f"{path}: already separated")
        interrupted = (previous.get("status") == "running"
                       and previous.get("fingerprint") == fingerprint)
        if out_dir.exists() and any(out_dir.iterdir()):
            if not (task.settings.force or interrupted):
                raise UnweaveError(f"{out_dir}: output exists (use --force to overwrite)")
            if interrupted:  # the same work died half-way: its files are ours to replace
                for stale in out_dir.iterdir():
                    if stale.is_file():
                        stale.unlink()
        separator = get_method(task.method)(**task.options)
        manifest.parent.mkdir(exist_ok=True)
        write_text(manifest, json.dumps({"status": "running", "fingerprint": fingerprint,
                                         "input": str(path)}, indent=1))
        written = separate_file(path, task.track, separator, task.settings, on_chunk)
        write_text(manifest, json.dumps(
            {"status": "done", "fingerprint": fingerprint, "input": str(path),
             "files": [p.name for p in written]}, indent=1))
        return Outcome(task, "done", f"{path} -> {out_dir}/", [str(p) for p in written])
    except Exception as exc:  # noqa: BLE001 - one failed track must not stop the batch
        if debugging():
            raise
        # A failure (not a kill) leaves no trace of the attempt: nothing to resume.
        try:
            if _read_manifest(manifest).get("status") == "running":
                manifest.unlink(missing_ok=True)
                if manifest.parent.exists() and not any(manifest.parent.iterdir()):
                    manifest.parent.rmdir()
        except OSError:
            pass
        return Outcome(task, "failed", describe(exc, path))


def run_tasks(tasks: list[Task], jobs: int = 1, quiet: bool = False, backend: str = "local",
              address: str | None = None) -> list[Outcome]:
    """Run every task: in this process, on a local process pool (``jobs`` > 1), or as one Ray
    task per track (``backend="ray"``; ``address`` of a running cluster, else a local
    instance bound to the loopback interface). A progress bar with ETA."""
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), unit="file", disable=quiet or len(tasks) < 2,
               file=sys.stderr, dynamic_ncols=True)
    outcomes: list[Outcome | None] = [None] * len(tasks)

    def note(i: int, outcome: Outcome):
        outcomes[i] = outcome
        if outcome.status == "done" and not quiet:
            bar.write(outcome.message, file=sys.stderr)
        bar.update(1)

    if backend == "ray":
        _run_on_ray(tasks, address, note)
    elif jobs == 1 or len(tasks) == 1:
        for i, task in enumerate(tasks):
            bar.set_description(task.track[:30])
            # One file: its chunks get the bar (a long file is most of the work).
            with ChunkProgress(task.track, enabled=not quiet and len(tasks) == 1) as progress:
                note(i, run_task(task, progress.update))
    else:
        import multiprocessing

        # "spawn": workers start clean (no threads or torch state inherited from this process).
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                                   mp_context=multiprocessing.get_context("spawn"))
        try:
            futures = {pool.submit(_run_in_worker, t): i for i, t in enumerate(tasks)}
            for future in as_completed(futures):
                note(futures[future], future.result())
        except BaseException:  # Ctrl-C: start nothing new (the running tracks stop on their own)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
    bar.close()
    return outcomes


#: Ray's switch for "no multi-machine cluster" (made for laptops): servers on loopback only.
RAY_NO_CLUSTER_VARIABLE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def connect_ray(address: str | None) -> bool:
    """Join the Ray cluster at ``address``, or start a private local instance bound to the
    loopback interface (no dashboard; Ray's token authentication as Ray sets it). Returns
    whether this call started the connection (and so must shut it down).

    Nothing of the tasks' environment is logged: workers' output is not forwarded, and Ray's
    own warnings (not errors) are kept off the terminal."""
    if not address:
        # Ray resolves 127.0.0.1 to the machine's address and binds its servers there (or to
        # every interface); in "no cluster" mode it keeps every server on the loopback
        # interface. Ray reads this variable at import, and its children inherit it.
        os.environ[RAY_NO_CLUSTER_VARIABLE] = "0"
    try:
        import ray
        from ray._private import ray_constants
    except ImportError:
        raise UnweaveError("--backend ray needs the 'ray' package (pip install "
                           "'unweave[cluster]')") from None
    if ray.is_initialized():
        return False
    logging.getLogger("ray").setLevel(logging.ERROR)
    try:
        if address:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        else:  # a private local instance, reachable from this machine only
            ray_constants.ENABLE_RAY_CLUSTER = False  # when ray was imported before
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UnweaveError(f"cannot start or reach Ray ({str(exc).splitlines()[0]})") from None
    return True


class ChunkProgress:
    """A progress bar with ETA over one file's chunks, shown once there are two or more."""

    def __init__(self, label: str, enabled: bool = True):
        self.label, self.enabled, self._bar = label[:30], enabled, None

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total < 2:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="chunk", desc=self.label, file=sys.stderr,
                             dynamic_ncols=True, leave=False)
        self._bar.total = total  # decoded formats only estimate it until the last chunk
        self._bar.update(done - self._bar.n)

    def __enter__(self) -> ChunkProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()


# In a pool worker: whether Ctrl-C has reached it, and whether it is separating a track now.
_interrupted = False
_busy = False


def _worker_sigint(signum, frame) -> None:
    """Ctrl-C in a pool worker: stop the track under way (its temporary files are removed on
    the way out); while idle, only remember it (an exception there would kill the worker, and
    the pool would kill its siblings, perhaps before they have cleaned up)."""
    global _interrupted
    _interrupted = True
    if _busy:
        raise KeyboardInterrupt


def _init_worker() -> None:
    signal.signal(signal.SIGINT, _worker_sigint)


def _run_in_worker(task: Task) -> Outcome:
    """:func:`run_task` in a pool worker; after Ctrl-C, every track still queued to this
    worker returns at once, undone."""
    global _busy
    if _interrupted:
        return Outcome(task, "failed", f"{task.path}: interrupted")
    _busy = True
    try:
        return run_task(task)
    except KeyboardInterrupt:
        return Outcome(task, "failed", f"{task.path}: interrupted")
    finally:
        _busy = False


def _run_on_ray(tasks: list[Task], address: str | None, note) -> None:
    started = connect_ray(address)
    import ray

    try:
        remote = ray.remote(run_task)
        refs = {remote.remote(t): i for i, t in enumerate(tasks)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            note(refs[done[0]], ray.get(done[0]))
    finally:
        if started:
            ray.shutdown()


def _references_for(ref_root: Path | None, track: str, sample_rate: int, n_samples: int):
    if ref_root is None:
        raise UnweaveError("this method is an oracle: give the true sources with --reference DIR")
    folder = ref_root / track if (ref_root / track).is_dir() else ref_root
    sources, rate = read_sources(folder)
    out = {}
    for name, audio in sources.items():
        out[name] = resample(audio, rate, sample_rate, n_samples)
    return out


def output_names(sources: list[str]) -> list[str]:
    """File names (without extension) for a separation's sources: safe and distinct, whatever
    the names came from (MIDI track names, stem titles, user-given names)."""
    return file_names(sources, "source")


def separate_file(path: Path, track: str, separator: Separator, args: Settings,
                  on_chunk: Callable[[int, int], None] | None = None) -> list[Path]:
    """Separate one input file into ``OUTDIR/<track>/<source>.<format>``; return the files.

    On failure nothing of this track is left: no files, no empty folder."""
    out_dir = Path(args.out) / track
    created_dir = not out_dir.exists()
    try:
        return _separate_into(path, out_dir, track, separator, args, on_chunk)
    except BaseException:
        if created_dir and out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Errors of the separation of ``path`` start with its name (said once)."""
    try:
        yield
    except UnweaveError as exc:
        msg = str(exc)
        raise UnweaveError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None


def _separate_into(path: Path, out_dir: Path, track: str, separator: Separator,
                   args: Settings, on_chunk: Callable[[int, int], None] | None) -> list[Path]:
    reference = Path(args.reference) if args.reference else None
    if getattr(separator, "causal", False):
        # A causal network carries its state through the whole file, block by block: the
        # same samples as 'unweave stream', in bounded memory, with no chunk seams.
        from unweave.live import stream_file

        out_dir.mkdir(parents=True, exist_ok=True)
        sources = list(separator.sources)
        targets = {s: out_dir / f"{n}.{args.format}"
                   for s, n in zip(sources, output_names(sources))}
        with _naming(path):
            return stream_file(separator.streamer, path, targets, 1.0, args.bits, args.force)
    if not separator.assumptions.needs_references and reference is None:
        blocks = open_blocks(path)
        if blocks is not None:
            with blocks:
                chunk_seconds = chunk_seconds_for(args.chunk_seconds, blocks.sample_rate,
                                                  blocks.channels)
                if blocks.frames is None or blocks.frames > chunk_seconds * blocks.sample_rate:
                    # Long file: read, separate and write it block by block (bounded memory).
                    with _naming(path):
                        return separate_blockwise(separator, blocks, path, out_dir, args.format,
                                               args.bits, chunk_seconds, args.overlap_seconds,
                                               args.force, output_names, on_chunk)
    mixture, rate = read_audio(path)
    inputs = {}
    if separator.assumptions.needs_references or (reference is not None
                                                  and separator.name == "mixture"):
        inputs["references"] = _references_for(reference, track, rate, mixture.shape[-1])
    chunk_seconds = chunk_seconds_for(args.chunk_seconds, rate, mixture.shape[0])
    with _naming(path):
        result = separate_in_chunks(separator, mixture, rate, chunk_seconds,
                                    args.overlap_seconds, on_chunk, **inputs)
    del mixture, inputs
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, audio in zip(output_names(list(result.sources)), result.sources.values()):
            target = out_dir / f"{name}.{args.format}"
            written.append(write_audio(target, audio, rate, bits=args.bits, overwrite=args.force))
    except BaseException:
        for f in written:
            f.unlink(missing_ok=True)
        raise
    return written
