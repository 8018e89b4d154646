"""Jobs of ``unweave serve``: one folder per job under the data folder, run on a process pool.

A job folder holds ``job.json`` (its state, written atomically), ``input/<safe name>`` (the
upload), ``out/result/<source>.wav`` (what ``unweave separate`` writes, through the batch
module's :func:`~unweave.batch.run_task`: manifests, atomic writes), ``img/*.png`` (the
spectrograms of ``unweave report``) and ``progress.json`` (written by the worker). States:
``queued`` -> ``running`` -> ``done`` | ``failed``. A server stopped while jobs are queued or
running marks them ``queued`` again when it restarts: they are redone.
"""

from __future__ import annotations

import json
import math
import secrets
import shutil
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from unweave.atomic import write_text
from unweave.errors import UnweaveError
from unweave.methods import available_methods, get_method
from unweave.names import safe_name

TRACK = "result"  # the one track folder of a job's output
OPTION_KINDS = {"int": int, "float": float, "str": str, "bool": bool}


def check_options(method: str, options: dict) -> dict:
    """The options of ``method`` from JSON values, checked as the command line checks its
    flags (unknown names, wrong types, and the method's own range checks): one-line errors."""
    cls = get_method(method)
    fields = {f.name: f for f in cls.options()}
    if not isinstance(options, dict):
        raise UnweaveError("options must be a JSON object")
    clean = {}
    for name, value in options.items():
        if name not in fields:
            raise UnweaveError(f"method '{method}' has no option '{name}' (it has: "
                               f"{', '.join(fields) or 'none'})")
        kind = OPTION_KINDS.get(str(fields[name].type), str)
        if kind is bool and not isinstance(value, bool):
            raise UnweaveError(f"option '{name}' takes true or false")
        if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, int | float)
                                     or (kind is int and value != int(value))):
            raise UnweaveError(f"option '{name}' takes a number ({kind.__name__})")
        if kind is float and not math.isfinite(value):
            raise UnweaveError(f"option '{name}' must be finite")
        clean[name] = kind(value)
    cls(**clean)  # the method's own checks (ranges, combinations)
    return clean


def method_catalogue() -> list[dict]:
    """The methods with what each assumes and its options, for ``GET /api/methods``."""
    out = []
    for name, cls in available_methods().items():
        a = cls.assumptions
        out.append({
            "name": name, "summary": cls.summary, "reference": cls.reference,
            "channels": a.channels_text(), "min_channels": a.min_channels,
            "max_channels": a.max_channels, "content": a.content, "mixing": a.mixing,
            "needs": [k for k, v in (("references", a.needs_references),
                                     ("training", a.needs_training),
                                     ("score", a.needs_score)) if v],
            "options": [{"name": f.name, "type": str(f.type),
                         "default": f.default if _jsonable(f.default) else None}
                        for f in cls.options()],
        })
    return out


def _jsonable(value) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


@dataclass
class Job:
    id: str
    folder: Path
    state: dict

    @property
    def status(self) -> str:
        return self.state["status"]

    def save(self) -> None:
        write_text(self.folder / "job.json", json.dumps(self.state, indent=1))

    def progress(self) -> float:
        if self.status == "done":
            return 1.0
        try:
            return float(json.loads((self.folder / "progress.json").read_text())["progress"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0

    def sources(self) -> dict[str, Path]:
        out = self.folder / "out" / TRACK
        return {name: out / f"{name}.wav" for name in self.state.get("sources", [])}

    def input_file(self) -> Path:
        return self.folder / "input" / self.state["input"]


class JobStore:
    """The jobs in ``data``, and the pool that runs them ``jobs`` at a time."""

    def __init__(self, data: Path, jobs: int = 1):
        self.root = Path(data) / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, Job] = {}
        self._pool: ProcessPoolExecutor | None = None
        self._workers = max(1, jobs)
        self._futures: dict[str, Future] = {}
        for folder in sorted(self.root.iterdir()):
            try:
                state = json.loads((folder / "job.json").read_text())
            except (OSError, ValueError):
                continue  # a half-made job (the server died while receiving it)
            job = Job(folder.name, folder, state)
            if job.status in ("queued", "running"):  # stopped mid-way: redo it
                job.state.update(status="queued", redo=True)
                job.save()
            self.jobs[job.id] = job

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            self._pool = ProcessPoolExecutor(self._workers,
                                             mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def new_folder(self) -> tuple[str, Path]:
        job_id = secrets.token_hex(8)
        folder = self.root / job_id
        (folder / "input").mkdir(parents=True)
        return job_id, folder

    def add(self, job_id: str, folder: Path, upload_name: str, method: str,
            options: dict, channels: int) -> Job:
        state = {"id": job_id, "status": "queued", "method": method, "options": options,
                 "input": (folder / "input" / upload_name).name, "channels": channels,
                 "created": time.time(), "error": None, "sources": []}
        job = Job(job_id, folder, state)
        job.save()
        self.jobs[job_id] = job
        return job

    def start_queued(self) -> None:
        """Submit every queued job not yet submitted (the pool queues beyond ``jobs``)."""
        for job in self.jobs.values():
            if job.status == "queued" and job.id not in self._futures:
                self._futures[job.id] = self.pool().submit(run_job, str(job.folder))

    def refresh(self, job: Job) -> Job:
        """Re-read a job's state (the worker writes it)."""
        try:
            job.state = json.loads((job.folder / "job.json").read_text())
        except (OSError, ValueError):
            pass
        future = self._futures.get(job.id)
        if future is not None and future.done():
            self._futures.pop(job.id)
            if future.exception() is not None and job.status != "done":  # the worker died
                job.state.update(status="failed", error=str(future.exception()).splitlines()[0]
                                 if str(future.exception()) else "the worker stopped")
                job.save()
        return job

    def delete(self, job: Job) -> None:
        future = self._futures.pop(job.id, None)
        if future is not None:
            future.cancel()
        self.jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def close(self) -> None:
        """Stop: nothing new starts; jobs under way are left ``running`` on disk and are
        redone at the next start."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def run_job(folder: str) -> str:
    """In a pool worker: separate the job's upload and draw its spectrograms."""
    from unweave.batch import Settings, Task, run_task
    from unweave.report import spectrogram_png

    folder_path = Path(folder)
    job = Job(folder_path.name, folder_path, json.loads((folder_path / "job.json")
                                                        .read_text()))
    job.state.update(status="running", error=None)
    job.save()

    def progress(done: int, total: int) -> None:
        write_text(folder_path / "progress.json",
                   json.dumps({"progress": 0.9 * done / max(total, 1)}))

    out = folder_path / "out"
    out.mkdir(exist_ok=True)
    settings = Settings(out=str(out), force=True)
    task = Task(str(job.input_file()), TRACK, job.state["method"], job.state["options"],
                settings)
    outcome = run_task(task, progress)
    if outcome.status == "failed":
        # The message names the upload as the user knows it, not the server's folders.
        message = outcome.message.replace(str(job.input_file()), job.state["input"])
        job.state.update(status="failed", error=message.replace(str(folder_path), "job"))
        job.save()
        return "failed"
    from unweave.audio import read_audio

    names = [Path(f).stem for f in outcome.files]
    (folder_path / "img").mkdir(exist_ok=True)
    try:
        mixture, rate = read_audio(job.input_file())
        spectrogram_png(mixture, rate, folder_path / "img" / "mixture.png")
        for name in names:
            audio, rate = read_audio(out / TRACK / f"{name}.wav")
            spectrogram_png(audio, rate, folder_path / "img" / f"{safe_name(name)}.png")
    except (UnweaveError, OSError):
        pass  # pictures are a bonus: the sources are there
    job.state.update(status="done", sources=names, error=None)
    job.save()
    write_text(folder_path / "progress.json", json.dumps({"progress": 1.0}))
    return "done"
