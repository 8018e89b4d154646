"""The report in a real browser (headless Chromium, driven by Playwright): every audio element
loads its file, every image renders, and the pages log no console error and fetch nothing
from the network."""

import shutil

import numpy as np
import pytest
import soundfile as sf

from unweave.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

CHECK = """async () => {
  const audios = [...document.querySelectorAll('audio')];
  await Promise.all(audios.map(a => new Promise(done => {
    if (a.readyState >= 1) return done();
    a.addEventListener('loadedmetadata', done, {once: true});
    a.addEventListener('error', done, {once: true});
    a.preload = 'metadata'; a.load();
  })));
  const imgs = [...document.querySelectorAll('img')];
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(done => {
    i.addEventListener('load', done, {once: true});
    i.addEventListener('error', done, {once: true});
  })));
  return {audio: audios.map(a => [a.getAttribute('src'), a.readyState, a.error && a.error.code]),
          images: imgs.map(i => [i.getAttribute('src'), i.naturalWidth])};
}"""


def test_report_pages_load_in_headless_chromium(tmp_path, capsys):
    playwright = pytest.importorskip("playwright.sync_api")
    rng = np.random.default_rng(0)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("first", "second track"):
        sf.write(inputs / f"{name}.wav", 0.1 * rng.standard_normal((16000 * 2, 2)), 16000)
    out = tmp_path / "out"
    assert main(["separate", str(inputs), "-m", "hpss", "-o", str(out), "-q"]) == 0
    assert main(["report", str(out)]) == 0
    pages = sorted((out / "report").glob("*.html"))
    assert len(pages) == 3
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            for page_file in pages:
                page = browser.new_page()
                problems, requests = [], []
                page.on("console", lambda m, out=problems: out.append(m.text)
                        if m.type == "error" else None)
                page.on("pageerror", lambda e, out=problems: out.append(str(e)))
                page.on("request", lambda r, out=requests: out.append(r.url))
                page.goto(page_file.as_uri())
                result = page.evaluate(CHECK)
                assert not problems, (page_file.name, problems)
                assert all(u.startswith("file://") for u in requests), requests
                for src, ready, error in result["audio"]:
                    assert error is None and ready >= 1, (page_file.name, src, ready, error)
                for src, width in result["images"]:
                    assert width > 0, (page_file.name, src)
                if page_file.name != "index.html":
                    assert len(result["audio"]) == 3 and len(result["images"]) == 5
                page.close()
        finally:
            browser.close()


def test_demo_page_loads_in_headless_chromium(tmp_path, capsys):
    """The demo (real excerpts when the shared data is here): every player and picture loads,
    no console error, no network."""
    playwright = pytest.importorskip("playwright.sync_api")
    from conftest import DATA

    argv = ["demo", "--out", str(tmp_path / "demo"), "-q"]
    if DATA.is_dir():
        argv += ["--data", str(DATA)]
    assert main(argv) == 0
    page_file = tmp_path / "demo" / "index.html"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page()
            problems, requests = [], []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            result = page.evaluate(CHECK)
            assert not problems, problems
            assert all(u.startswith("file://") for u in requests), requests
            assert all(error is None and ready >= 1 for _, ready, error in result["audio"])
            assert result["images"] and all(width > 0 for _, width in result["images"])
            if DATA.is_dir():
                assert len(result["images"]) >= 5  # spectrograms and masks of the real song
        finally:
            browser.close()
