"""`unweave serve` in a real browser (headless Chromium, driven by Playwright): upload by the
file input, start a job, wait for it, play a source, download the zip; random bytes show the
error on the page; no console error; no request leaves 127.0.0.1."""

import shutil
import socket
import threading
import time

import numpy as np
import pytest
import soundfile as sf

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    uvicorn = pytest.importorskip("uvicorn")
    from unweave.serve.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(tmp_path / "data"), host="127.0.0.1", port=port,
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.time() + 30
    while not srv.started and time.time() < end:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=30)


def test_the_page_separates_plays_and_downloads(server, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    song = tmp_path / "song.wav"
    rng = np.random.default_rng(0)
    sf.write(song, 0.1 * rng.standard_normal((16000 * 2, 2)), 16000)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(rng.bytes(5000))
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(accept_downloads=True, viewport={"width": 390,
                                                                     "height": 844})
            problems, requests = [], []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(server + "/")
            page.wait_for_function("document.querySelectorAll('#methods option').length > 5")
            # A mono-only method is greyed out for this stereo file once it is chosen.
            page.set_input_files("#files", str(song))
            page.wait_for_function("document.getElementById('chosen').textContent"
                                   ".includes('2 channels')")
            assert page.eval_on_selector("#methods option[value=irm]", "o => o.disabled")
            page.select_option("#methods", "hpss")
            page.keyboard.press("Tab")  # the form works from the keyboard
            page.focus("#go")
            page.keyboard.press("Enter")
            page.wait_for_selector(".job[data-status=done]", timeout=120_000)
            ready = page.evaluate("""async () => {
              const players = [...document.querySelectorAll('.job audio')];
              await Promise.all(players.map(p => new Promise(done => {
                if (p.readyState >= 1) return done();
                p.addEventListener('loadedmetadata', done, {once: true});
                p.addEventListener('error', done, {once: true});
                p.load();
              })));
              return players.map(p => [p.getAttribute('src'), p.readyState,
                                       p.error && p.error.code]);
            }""")
            assert len(ready) == 3 and all(r[1] >= 1 and r[2] is None for r in ready), ready
            widths = page.eval_on_selector_all(".job img", "imgs => imgs.map(i => i.naturalWidth)")
            assert len(widths) == 3 and all(w > 0 for w in widths)
            with page.expect_download() as download:
                page.click("text=Download all (zip)")
            saved = tmp_path / "all.zip"
            download.value.save_as(saved)
            import zipfile

            assert sorted(zipfile.ZipFile(saved).namelist()) == ["harmonic.wav",
                                                                  "percussive.wav"]
            # Random bytes: the refusal is shown on the page.
            page.set_input_files("#files", str(junk))
            page.select_option("#methods", "hpss")
            page.click("#go")
            page.wait_for_function("document.getElementById('message').textContent.length > 0")
            assert "junk.wav" in page.text_content("#message")
            assert not [p for p in problems if "400" not in p], problems
            assert all(u.startswith(server) for u in requests), requests
        finally:
            browser.close()
