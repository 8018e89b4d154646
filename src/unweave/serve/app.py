"""The web application of ``unweave serve``: the page at ``/`` and the JSON API it uses.

Starlette (an ASGI toolkit) served by uvicorn. Routes::

    GET    /                              the page
    GET    /api/methods                   methods, their assumptions and options
    GET    /api/jobs                      every job
    POST   /api/jobs                      multipart: file, method, options (JSON) -> 202
    GET    /api/jobs/{id}                 status, progress, sources
    GET    /api/jobs/{id}/input           the uploaded mixture
    GET    /api/jobs/{id}/sources/{name}  one separated source (WAV)
    GET    /api/jobs/{id}/images/{name}   its spectrogram (PNG; ``mixture`` for the input)
    GET    /api/jobs/{id}/zip             every source in one zip
    DELETE /api/jobs/{id}                 the job and its files

Safety: files are served only from a job's own folder, by names the job lists (never a path
from the request); upload names go through :func:`unweave.names.safe_name`; a POST or DELETE
whose ``Origin`` is not the server's own gets 403; the upload is read as a stream and refused
with 413 as soon as it passes the size limit.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from unweave.atomic import atomic_path
from unweave.errors import UnweaveError
from unweave.methods import get_method
from unweave.names import safe_name
from unweave.serve.jobs import Job, JobStore, check_options, method_catalogue

JOB_ID = re.compile(r"^[0-9a-f]{16}$")


class TooLarge(Exception):
    pass


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _job_json(job: Job) -> dict:
    base = f"/api/jobs/{job.id}"
    sources = {name: f"{base}/sources/{name}" for name in job.state.get("sources", [])}
    images = {name: f"{base}/images/{name}" for name in ["mixture", *sources]
              if (job.folder / "img" / f"{safe_name(name)}.png").is_file()}
    return {"id": job.id, "status": job.status, "progress": job.progress(),
            "method": job.state["method"], "options": job.state["options"],
            "file": job.state["input"], "input": f"{base}/input", "sources": sources,
            "images": images, "zip": f"{base}/zip" if sources else None,
            "error": job.state.get("error")}


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # not a browser page (a script): nothing to forge
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def _probe_channels(path: Path) -> int:
    """The upload's channel count (reading it as ``unweave separate`` would)."""
    from unweave.audio import read_audio
    from unweave.blocks import open_blocks

    blocks = open_blocks(path)
    if blocks is not None:
        with blocks:
            return blocks.channels
    return read_audio(path)[0].shape[0]


def create_app(data: Path, jobs: int = 1, max_upload_mb: float = 500.0) -> Starlette:
    """The application, with its jobs in ``data`` (``jobs`` run at a time)."""
    store = JobStore(Path(data), jobs)
    limit = int(max_upload_mb * 1024 * 1024)
    page = resources.files("unweave.serve").joinpath("page.html").read_text(encoding="utf-8")

    def job_of(request: Request) -> Job | None:
        job_id = request.path_params["job_id"]
        job = store.jobs.get(job_id) if JOB_ID.match(job_id) else None
        return store.refresh(job) if job is not None else None

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def methods(request: Request) -> Response:
        return JSONResponse(method_catalogue())

    async def list_jobs(request: Request) -> Response:
        return JSONResponse([_job_json(store.refresh(j)) for j in list(store.jobs.values())])

    async def create_job(request: Request) -> Response:
        if not _same_origin(request):
            return _error("cross-origin request refused", 403)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
            return _error(f"upload larger than {max_upload_mb:g} MB", 413)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return _error("send multipart/form-data with 'file' and 'method'")

        async def limited():
            seen = 0
            async for chunk in request.stream():
                seen += len(chunk)
                if seen > limit + 64 * 1024:  # (the form's own fields are small)
                    raise TooLarge
                yield chunk

        job_id, folder = store.new_folder()
        try:
            try:
                form = await MultiPartParser(request.headers, limited(), max_files=1,
                                             max_fields=8, max_part_size=1 << 20).parse()
            except TooLarge:
                return _error(f"upload larger than {max_upload_mb:g} MB", 413)
            except MultiPartException as exc:
                return _error(f"bad form: {exc.message}")
            upload = form.get("file")
            method = form.get("method")
            if upload is None or isinstance(upload, str) or not method:
                return _error("send a 'file' and a 'method'")
            name = safe_name(Path(upload.filename or "upload").name, "upload")
            target = folder / "input" / name
            with atomic_path(target) as tmp, open(tmp, "wb") as out:
                size = 0
                while block := await upload.read(1 << 20):
                    size += len(block)
                    if size > limit:
                        raise TooLarge
                    out.write(block)
            await form.close()
            try:
                raw = json.loads(form.get("options") or "{}")
            except ValueError:
                return _error("options must be a JSON object")
            try:
                cls = get_method(str(method))
                options = check_options(cls.name, raw)
                a = cls.assumptions
                if a.needs_references or a.needs_score:
                    raise UnweaveError(f"method '{cls.name}' needs "
                                       f"{'references' if a.needs_references else 'a score'}, "
                                       "which the page cannot send: use the command line")
                channels = _probe_channels(target)
                if channels < a.min_channels or (a.max_channels is not None
                                                 and channels > a.max_channels):
                    raise UnweaveError(f"method '{cls.name}' takes {a.channels_text()} "
                                       f"channels; {name} has {channels}")
            except UnweaveError as exc:
                return _error(str(exc).replace(str(target), name))
            job = store.add(job_id, folder, name, cls.name, options, channels)
            folder = None  # kept
            store.start_queued()
            return JSONResponse({"id": job.id, "status": job.status}, status_code=202)
        except TooLarge:
            return _error(f"upload larger than {max_upload_mb:g} MB", 413)
        finally:
            if folder is not None:  # refused: nothing of the upload stays
                shutil.rmtree(folder, ignore_errors=True)

    async def get_job(request: Request) -> Response:
        job = job_of(request)
        return JSONResponse(_job_json(job)) if job else _error("no such job", 404)

    async def delete_job(request: Request) -> Response:
        if not _same_origin(request):
            return _error("cross-origin request refused", 403)
        job = job_of(request)
        if job is None:
            return _error("no such job", 404)
        store.delete(job)
        return Response(status_code=204)

    async def get_input(request: Request) -> Response:
        job = job_of(request)
        if job is None:
            return _error("no such job", 404)
        return FileResponse(job.input_file(), filename=job.state["input"])

    async def get_source(request: Request) -> Response:
        job = job_of(request)
        if job is None:
            return _error("no such job", 404)
        path = job.sources().get(request.path_params["name"])
        if path is None or not path.is_file():
            return _error("no such source", 404)
        return FileResponse(path, media_type="audio/wav", filename=path.name)

    async def get_image(request: Request) -> Response:
        job = job_of(request)
        name = request.path_params["name"]
        if job is None or (name != "mixture" and name not in job.state.get("sources", [])):
            return _error("no such image", 404)
        path = job.folder / "img" / f"{safe_name(name)}.png"
        return FileResponse(path, media_type="image/png") if path.is_file() else \
            _error("no such image", 404)

    async def get_zip(request: Request) -> Response:
        job = job_of(request)
        if job is None or job.status != "done":
            return _error("no such job, or not done", 404)
        path = job.folder / "sources.zip"
        if not path.is_file():
            with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
                for name, source in job.sources().items():
                    archive.write(source, f"{name}.wav")
        stem = safe_name(Path(job.state["input"]).stem, "sources")
        return FileResponse(path, media_type="application/zip", filename=f"{stem}.zip")

    routes = [
        Route("/", index),
        Route("/api/methods", methods),
        Route("/api/jobs", list_jobs, methods=["GET"]),
        Route("/api/jobs", create_job, methods=["POST"]),
        Route("/api/jobs/{job_id}", get_job, methods=["GET"]),
        Route("/api/jobs/{job_id}", delete_job, methods=["DELETE"]),
        Route("/api/jobs/{job_id}/input", get_input),
        Route("/api/jobs/{job_id}/sources/{name}", get_source),
        Route("/api/jobs/{job_id}/images/{name}", get_image),
        Route("/api/jobs/{job_id}/zip", get_zip),
    ]
    @asynccontextmanager
    async def lifespan(app):
        store.start_queued()  # jobs left queued by a stopped server
        yield
        store.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.store = store
    return app


def default_data_folder() -> Path:
    """``$XDG_CACHE_HOME/unweave/serve`` (``~/.cache/unweave/serve``)."""
    import os

    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "unweave" / "serve"
