"""`unweave serve` at the HTTP level (Starlette's test client): every endpoint, every error
code, the safety rules, and a restart that redoes unfinished jobs and keeps finished ones."""

import io
import json
import time
import zipfile

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

from unweave.serve.app import create_app  # noqa: E402


def wav_bytes(channels=2, seconds=1.0, rate=16000, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    sf.write(buf, 0.1 * rng.standard_normal((int(seconds * rate), channels)), rate,
             format="WAV")
    return buf.getvalue()


def post(client, data=None, method="hpss", options=None, name="song.wav", headers=None):
    files = {"file": (name, data if data is not None else wav_bytes(), "audio/wav")}
    form = {"method": method}
    if options is not None:
        form["options"] = json.dumps(options)
    return client.post("/api/jobs", files=files, data=form, headers=headers or {})


def wait_done(client, job_id, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError("job did not finish")


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(tmp_path / "data", jobs=1, max_upload_mb=1.0)) as c:
        yield c


def test_page_and_methods(client):
    page = client.get("/")
    assert page.status_code == 200 and "<input id=\"files\"" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    methods = {m["name"]: m for m in client.get("/api/methods").json()}
    assert {"hpss", "center", "unet", "irm"} <= set(methods)
    assert methods["center"]["min_channels"] == 2 and "references" in methods["irm"]["needs"]
    assert any(o["name"] == "kernel_harmonic" or o["name"] for o in methods["hpss"]["options"])


def test_a_job_from_upload_to_zip_and_delete(client):
    r = post(client, name="../../evil name.wav")
    assert r.status_code == 202 and r.json()["status"] == "queued"
    job = wait_done(client, r.json()["id"])
    assert job["status"] == "done" and job["progress"] == 1.0, job["error"]
    assert job["file"] == "evil name.wav"  # made safe: one name, no path
    assert set(job["sources"]) == {"harmonic", "percussive"}
    audio = client.get(job["sources"]["harmonic"])
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert client.get(job["input"]).status_code == 200
    assert client.get(job["images"]["mixture"]).headers["content-type"] == "image/png"
    archive = zipfile.ZipFile(io.BytesIO(client.get(job["zip"]).content))
    assert sorted(archive.namelist()) == ["harmonic.wav", "percussive.wav"]
    assert [j["id"] for j in client.get("/api/jobs").json()] == [job["id"]]
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 204
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404
    assert client.get(job["sources"]["harmonic"]).status_code == 404


@pytest.mark.parametrize("kwargs, needle", [
    ({"data": b"not audio at all" * 10}, "not"),
    ({"method": "no-such-method"}, "no-such-method"),
    ({"options": {"no_such_option": 1}}, "no option"),
    ({"options": {"margin": "loud"}}, "number"),
    ({"options": {"margin": -5.0}}, ""),
    ({"method": "center", "data": wav_bytes(channels=1)}, "channels"),
    ({"method": "irm"}, "references"),
])
def test_what_the_command_line_refuses_is_a_400(client, kwargs, needle):
    r = post(client, **kwargs)
    assert r.status_code == 400, r.text
    assert needle in r.json()["error"]
    assert "Traceback" not in r.text and "/data/jobs/" not in r.json()["error"]


def test_options_are_checked_and_applied(client):
    from unweave.methods import get_method

    names = [f.name for f in get_method("hpss").options()]
    assert "margin" in names  # the option the refusals above use
    r = post(client, options={"margin": 2.0})
    assert r.status_code == 202
    assert wait_done(client, r.json()["id"])["options"] == {"margin": 2.0}


def test_size_limit_origin_and_ids(client):
    big = wav_bytes(channels=2, seconds=40)  # 2.5 MB > 1 MB
    assert post(client, data=big).status_code == 413
    r = post(client, headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    assert client.delete("/api/jobs/0123456789abcdef",
                         headers={"origin": "http://evil.example"}).status_code == 403
    for bad in ("../../etc", "0123456789abcdef", "x" * 16):
        assert client.get(f"/api/jobs/{bad}").status_code == 404
    assert client.get("/api/jobs/0123456789abcdef/sources/..%2f..%2fjob.json").status_code == 404
    r = post(client, headers={"origin": "http://testserver"})  # the page's own origin
    assert r.status_code == 202
    wait_done(client, r.json()["id"])


def test_a_failed_job_is_its_own_and_the_server_goes_on(client, tmp_path):
    # A file that probes fine but fails in the worker: truncated after the header.
    data = wav_bytes()
    r = post(client, data=data)
    good = r.json()["id"]
    job_dir = tmp_path / "data" / "jobs"
    bad = post(client, data=data).json()["id"]
    (job_dir / bad / "input" / "song.wav").write_bytes(b"RIFF")  # spoiled before it runs
    states = {wait_done(client, good)["status"], wait_done(client, bad)["status"]}
    assert states == {"done", "failed"}
    assert "song.wav" in client.get(f"/api/jobs/{bad}").json()["error"]


def test_restart_redoes_unfinished_jobs_and_keeps_finished_ones(tmp_path):
    data = tmp_path / "data"
    with TestClient(create_app(data)) as c:
        done_id = wait_done(c, post(c).json()["id"])["id"]
        pending = post(c).json()["id"]
        wait_done(c, pending)
    # As if the server had been stopped while the second job ran.
    state_file = data / "jobs" / pending / "job.json"
    state = json.loads(state_file.read_text())
    state.update(status="running", sources=[])
    state_file.write_text(json.dumps(state))
    with TestClient(create_app(data)) as c:
        assert c.get(f"/api/jobs/{done_id}").json()["status"] == "done"
        job = wait_done(c, pending)
        assert job["status"] == "done" and set(job["sources"]) == {"harmonic", "percussive"}
