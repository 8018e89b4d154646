"""The command line: results, and every bad-input case (one line, exit status 2, nothing lost)."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import data_path
from hostile import write_aac

from unweave.cli import main


def _wav(path, audio, rate=16000, subtype="PCM_16"):
    sf.write(path, np.asarray(audio, np.float32).T, rate, subtype=subtype)
    return path


@pytest.fixture
def stereo(tmp_path):
    rng = np.random.default_rng(0)
    return _wav(tmp_path / "song.wav", 0.1 * rng.standard_normal((2, 16000)))


@pytest.fixture
def mono(tmp_path):
    rng = np.random.default_rng(1)
    return _wav(tmp_path / "speech.wav", 0.1 * rng.standard_normal((1, 16000)))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def tracks_in(folder) -> list[str]:
    """Track folders written (the hidden .unweave manifest folder left out)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def error_line(err: str) -> str:
    lines = [l for l in err.splitlines() if l.startswith("unweave: error:")]
    assert lines, err
    assert "Traceback" not in err
    return lines[0]


def test_separate_writes_one_file_per_source_with_the_input_format(capsys, tmp_path, stereo):
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", stereo, "-m", "hpss", "-o", out, "--kernel", 17,
                       "--margin", 2)
    assert code == 0, err
    files = sorted(p.name for p in (out / "song").iterdir())
    assert files == ["harmonic.wav", "percussive.wav", "residual.wav"]
    audio, rate = sf.read(out / "song" / "harmonic.wav", always_2d=True)
    assert rate == 16000 and audio.shape == (16000, 2)
    code, _, err = run(capsys, "separate", stereo, "-m", "center", "-o", out, "--format",
                       "flac", "--force")
    assert code == 0, err
    assert sf.info(out / "song" / "center.flac").subtype == "PCM_24"


def test_folder_and_glob_inputs(capsys, tmp_path, stereo, mono):
    out = tmp_path / "out"
    assert run(capsys, "separate", tmp_path, "-m", "hpss", "-o", out, "-q")[0] == 0
    assert tracks_in(out) == ["song", "speech"]
    code, _, _ = run(capsys, "separate", str(tmp_path / "s*.wav"), "-m", "hpss", "-o",
                     tmp_path / "out2", "-q")
    assert code == 0 and len(tracks_in(tmp_path / "out2")) == 2


def test_oracle_reads_references(capsys, tmp_path):
    rng = np.random.default_rng(2)
    refs = tmp_path / "refs"
    refs.mkdir()
    a, b = 0.1 * rng.standard_normal((2, 1, 8000))
    _wav(refs / "a.wav", a, subtype="FLOAT")
    _wav(refs / "b.wav", b, subtype="FLOAT")
    mix = _wav(tmp_path / "mix.wav", a + b, subtype="FLOAT")
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", mix, "-m", "irm", "-o", out, "--reference", refs)
    assert code == 0, err
    assert sorted(p.name for p in (out / "mix").iterdir()) == ["a.wav", "b.wav"]
    code, _, err = run(capsys, "separate", mix, "-m", "irm", "-o", tmp_path / "o2")
    assert code == 2 and "--reference" in error_line(err)


def _bad_inputs(tmp_path):
    """name -> (path, expected words in the error)."""
    rng = np.random.default_rng(3)
    full = _wav(tmp_path / "full.wav", 0.1 * rng.standard_normal((2, 8000)))
    data = full.read_bytes()
    (tmp_path / "truncated.wav").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.wav").write_text("this is not audio")
    (tmp_path / "zero_bytes.wav").write_bytes(b"")
    _wav(tmp_path / "no_samples.wav", np.zeros((1, 0)))
    _wav(tmp_path / "silent.wav", np.zeros((2, 8000)))
    return {
        "missing": (tmp_path / "missing.wav", "no such file"),
        "not audio": (tmp_path / "text.wav", "not a readable audio file"),
        "truncated": (tmp_path / "truncated.wav", "truncated"),
        "zero bytes": (tmp_path / "zero_bytes.wav", "empty"),
        "no samples": (tmp_path / "no_samples.wav", "no audio samples"),
        "silent": (tmp_path / "silent.wav", "silent"),
    }


@pytest.mark.parametrize("case", ["missing", "not audio", "truncated", "zero bytes",
                                  "no samples", "silent"])
def test_bad_audio_gets_one_line_and_status_2(capsys, tmp_path, case):
    path, words = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", path, "-m", "hpss", "-o", out)
    assert code == 2
    assert words in error_line(err)
    assert not out.exists() or not any(out.iterdir())


def test_mono_file_for_center_is_refused(capsys, tmp_path, mono):
    code, _, err = run(capsys, "separate", mono, "-m", "center", "-o", tmp_path / "out")
    assert code == 2 and "needs 2 channels" in error_line(err)


def test_unknown_method_suggests_the_closest(capsys, tmp_path, stereo):
    code, _, err = run(capsys, "separate", stereo, "-m", "hpps", "-o", tmp_path / "out")
    assert code == 2 and "did you mean 'hpss'" in error_line(err)
    code, _, err = run(capsys, "separate", stereo, "-m", "hpss", "-o", tmp_path / "out",
                       "--kernal", 3)
    assert code == 2 and "did you mean --kernel" in error_line(err)


@pytest.mark.parametrize("option", [["--kernel", "0"], ["--margin", "0.5"], ["--hop", "0"],
                                    ["--kernel", "abc"], ["--chunk-seconds", "-1"]])
def test_out_of_range_options(capsys, tmp_path, stereo, option):
    code, _, err = run(capsys, "separate", stereo, "-m", "hpss", "-o", tmp_path / "out", *option)
    assert code == 2
    error_line(err)


@pytest.mark.parametrize("method, option, expected", [
    ("ica", ["--algorithm", "parallel"],
     "algorithm must be one of symmetric, deflation (got 'parallel')"),
    ("ica", ["--sources", "17"], "need 0 <= n_sources <= 16 (0: as many as channels)"),
    ("auxiva", ["--sources", "99"], "need 0 <= n_sources <= 16 (0: as many as channels)"),
    ("duet", ["--sources", "17"], "need 1 <= n_sources <= 16 and 5 <= bins <= 1000")])
def test_options_are_checked_before_any_work(capsys, tmp_path, stereo, method, option,
                                             expected):
    """Checked when the method is made (before any file is read), with their own message."""
    code, _, err = run(capsys, "separate", stereo, "-m", method, "-o", tmp_path / "out",
                       *option)
    line = error_line(err)
    assert code == 2 and line == f"unweave: error: {expected}", line
    assert not (tmp_path / "out").exists()


def test_existing_output_is_kept_without_force(capsys, tmp_path, stereo):
    out = tmp_path / "out"
    assert run(capsys, "separate", stereo, "-m", "hpss", "-o", out, "-q")[0] == 0
    target = out / "song" / "harmonic.wav"
    before = target.read_bytes()
    code, _, err = run(capsys, "separate", stereo, "-m", "hpss", "-o", out, "--kernel", 5)
    assert code == 2 and "--force" in error_line(err)
    assert target.read_bytes() == before
    assert run(capsys, "separate", stereo, "-m", "hpss", "-o", out, "--kernel", 5,
               "--force")[0] == 0
    assert target.read_bytes() != before


def test_unwritable_outdir(capsys, tmp_path, stereo):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, _, err = run(capsys, "separate", stereo, "-m", "hpss", "-o", blocker / "out")
    assert code == 2 and "output folder" in error_line(err)


def test_one_bad_file_does_not_stop_the_batch(capsys, tmp_path, stereo, mono):
    bad = tmp_path / "bad.wav"
    bad.write_text("garbage")
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", stereo, bad, mono, "-m", "hpss", "-o", out)
    assert code == 2
    assert "bad.wav" in error_line(err) and "1 of 3 inputs failed" in err
    assert tracks_in(out) == ["song", "speech"]


def test_same_track_names_do_not_overwrite_each_other(capsys, tmp_path, stereo):
    other = tmp_path / "sub"
    other.mkdir()
    twin = _wav(other / "song.wav", 0.1 * np.random.default_rng(9).standard_normal((2, 4000)))
    out = tmp_path / "out"
    assert run(capsys, "separate", stereo, twin, "-m", "hpss", "-o", out, "-q")[0] == 0
    assert tracks_in(out) == ["song", "song-2"]


def test_long_input_is_processed_in_chunks(capsys, tmp_path):
    t = np.arange(16000 * 5) / 16000
    path = _wav(tmp_path / "long.wav", 0.3 * np.sin(2 * np.pi * 440 * t)[None])
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", path, "-m", "hpss", "-o", out, "--chunk-seconds", 1,
                       "--overlap-seconds", 0.25)
    assert code == 0, err
    harmonic, _ = sf.read(out / "long" / "harmonic.wav")
    assert harmonic.shape == (16000 * 5,)
    assert np.abs(harmonic[2000:-2000] - 0.3 * np.sin(2 * np.pi * 440 * t)[2000:-2000]).max() < 0.02


def test_stem_mp4_input(capsys, tmp_path):
    song = next(data_path("musdb18_7s_80s_rock_museval", "original").glob("*.stem.mp4"))
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", song, "-m", "hpss", "-o", out, "-q")
    assert code == 0, err
    assert (out / "Music Delta - 80s Rock" / "percussive.wav").exists()


def test_methods_lists_the_ladder(capsys):
    code, out, _ = run(capsys, "methods")
    assert code == 0 and "hpss" in out and "center" in out and "references" in out
    code, out, _ = run(capsys, "methods", "center")
    assert code == 0 and "--sharpness" in out


def test_real_process_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "unweave", "separate", str(tmp_path / "x.wav"),
                           "-m", "hpss", "-o", str(tmp_path / "o")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    expected = f"unweave: error: {tmp_path / 'x.wav'}: no such file"
    assert proc.stderr.strip().splitlines() == [expected]


def test_demo_writes_a_page(capsys, tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        code, out, err = run(capsys, "demo", "--out", tmp_path / "demo", "-q")
    finally:
        os.umask(old)
    assert code == 0, err
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "demo").rglob("*")
             if p.is_file()}
    assert modes == {0o644}  # readable by others, as open() under the umask
    page = (tmp_path / "demo" / "index.html").read_text()
    assert page.count("<audio") >= 20 and "http" not in page
    assert "four talkers: DUET" in page and "cocktail party" in page
    code, _, err = run(capsys, "demo", "--out", tmp_path / "demo", "-q")
    assert code == 2 and "--force" in error_line(err)


def test_every_method_gets_its_own_flags():
    """Method options never clash with the command's own flags."""
    from unweave.cli import build_parser
    from unweave.methods import available_methods

    for name, cls in available_methods().items():
        parser = build_parser(name)
        separate = next(a for a in parser._subparsers._group_actions[0].choices.values()
                        if a.prog.endswith("separate"))
        dests = {a.dest: a for a in separate._actions}
        for f in cls.options():
            action = dests.get(f"opt_{f.name}")
            assert action is not None, f"{name}: no flag for option {f.name}"
            assert "--" + f.name.replace("_", "-") in action.option_strings
        # The method's flags and the command's own are all distinct.
        flags = [s for a in separate._actions for s in a.option_strings]
        assert len(flags) == len(set(flags)), name


def test_long_files_stream_block_by_block_and_match_in_memory(capsys, tmp_path):
    """A file longer than --chunk-seconds is read and written in blocks; the result equals the
    in-memory chunking engine's, including silent stretches at the start."""
    from unweave.methods import get_method
    from unweave.methods.chunking import separate_in_chunks

    rng = np.random.default_rng(7)
    audio = (0.1 * rng.standard_normal((2, 8000 * 9))).astype(np.float32)
    audio[:, : 8000 * 3] = 0  # silent first chunks
    path = _wav(tmp_path / "long.wav", audio, rate=8000, subtype="FLOAT")
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", path, "-m", "hpss", "--kernel", 9, "-o", out,
                       "--chunk-seconds", 2, "--overlap-seconds", 0.5, "-q")
    assert code == 0, err
    streamed, rate = sf.read(out / "long" / "percussive.wav", always_2d=True)
    assert rate == 8000 and streamed.shape == (8000 * 9, 2)
    expected = separate_in_chunks(get_method("hpss")(kernel=9), audio, 8000, 2.0, 0.5)
    np.testing.assert_allclose(streamed.T, expected["percussive"], atol=1e-5)
    assert not [p for p in (out / "long").iterdir() if p.name.startswith(".")]


def test_rerun_skips_finished_tracks_and_redoes_changed_ones(capsys, tmp_path, stereo, mono):
    out = tmp_path / "out"
    assert run(capsys, "separate", stereo, mono, "-m", "hpss", "-o", out, "-q")[0] == 0
    before = (out / "song" / "harmonic.wav").stat().st_mtime_ns
    code, _, err = run(capsys, "separate", stereo, mono, "-m", "hpss", "-o", out, "-q")
    assert code == 0 and "0 separated, 2 skipped" in err
    assert (out / "song" / "harmonic.wav").stat().st_mtime_ns == before
    # Other options: not the same work, so not skipped (and not overwritten without --force).
    code, _, err = run(capsys, "separate", stereo, "-m", "hpss", "--kernel", 5, "-o", out)
    assert code == 2 and "--force" in err
    # A half-finished track (a stem lost, no manifest change) is redone with --force only.
    (out / "speech" / "percussive.wav").unlink()
    code, _, err = run(capsys, "separate", stereo, mono, "-m", "hpss", "-o", out, "-q")
    assert code == 2 and "1 skipped" in err and "speech" in err


def test_process_pool_gives_the_same_files(capsys, tmp_path, stereo, mono):
    one, two = tmp_path / "one", tmp_path / "two"
    assert run(capsys, "separate", stereo, mono, "-m", "hpss", "-o", one, "-q")[0] == 0
    assert run(capsys, "separate", stereo, mono, "-m", "hpss", "-o", two, "-q", "--jobs",
               2)[0] == 0
    for track in ("song", "speech"):
        for stem in ("harmonic", "percussive"):
            a, _ = sf.read(one / track / f"{stem}.wav")
            b, _ = sf.read(two / track / f"{stem}.wav")
            np.testing.assert_array_equal(a, b)


def test_killed_batch_resumes_without_losing_or_repeating_work(tmp_path):
    """Kill a batch midway (SIGKILL), rerun it: every output complete, no half-written or
    temporary file, and no track separated twice."""
    import signal
    import time

    rng = np.random.default_rng(11)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(6):
        _wav(inputs / f"t{i}.wav", 0.1 * rng.standard_normal((2, 16000 * 4)))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "unweave", "separate", str(inputs), "-m", "repet-sim", "-o",
           str(out), "-q"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    manifests = out / ".unweave"
    deadline = time.time() + 120
    while time.time() < deadline:
        done = [p for p in manifests.glob("*.json")] if manifests.exists() else []
        if sum('"done"' in p.read_text() for p in done) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = sum('"done"' in p.read_text() for p in manifests.glob("*.json"))
    assert 2 <= finished < 6
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{6 - finished} separated, {finished} skipped" in rerun.stderr
    for i in range(6):
        files = sorted(p.name for p in (out / f"t{i}").iterdir())
        assert files == ["accompaniment.wav", "vocals.wav"]
        assert sf.info(out / f"t{i}" / "vocals.wav").frames == 16000 * 4


def test_report_pages_with_players_spectrograms_scores_and_escaped_names(capsys, tmp_path):
    rng = np.random.default_rng(12)
    inputs = tmp_path / "in"
    inputs.mkdir()
    refs = tmp_path / "refs"
    hostile = "<img src=x onerror=alert(1)>"  # '/' cannot be in a file name
    for name in ("calm", hostile):
        a, b = 0.1 * rng.standard_normal((2, 2, 16000 * 3))
        _wav(inputs / f"{name}.wav", a + b)
        (refs / name).mkdir(parents=True)
        _wav(refs / name / "harmonic.wav", a, subtype="FLOAT")
        _wav(refs / name / "percussive.wav", b, subtype="FLOAT")
    out = tmp_path / "out"
    assert run(capsys, "separate", inputs, "-m", "hpss", "-o", out, "-q")[0] == 0
    code, text, err = run(capsys, "report", out, "--reference", refs)
    assert code == 0, err
    index = (out / "report" / "index.html").read_text()
    assert "calm" in index and "&lt;img src=x" in index and "<img src=x" not in index
    assert "http" not in index.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<svg" in index and index.count("<circle") >= 3 + 2 * 2 * 3  # legend + dots
    pages = [p for p in (out / "report").glob("*.html") if p.name != "index.html"]
    assert len(pages) == 2
    for page in pages:
        html_text = page.read_text()
        assert html_text.count("<audio") == 5  # the mixture, two estimates, their true sources
        assert html_text.count("(true source)") == 2
        assert "<img src=x" not in html_text and "SDR" in html_text
    # Per track: the mixture's spectrogram, and each estimate's spectrogram and mask.
    assert len(list((out / "report" / "img").rglob("*.png"))) == 2 * (1 + 2 * 2)
    assert run(capsys, "report", out)[0] == 2  # exists: --force needed


def test_ray_backend_gives_the_same_outputs_as_the_process_pool(capsys, tmp_path, stereo, mono):
    pytest.importorskip("ray")
    pool, on_ray = tmp_path / "pool", tmp_path / "ray"
    assert run(capsys, "separate", stereo, mono, "-m", "hpss", "-o", pool, "-q", "--jobs",
               2)[0] == 0
    code, _, err = run(capsys, "separate", stereo, mono, "-m", "hpss", "-o", on_ray, "-q",
                       "--backend", "ray")
    assert code == 0, err
    assert "2 separated, 0 skipped" in err
    for track in ("song", "speech"):
        for stem in ("harmonic", "percussive"):
            a, _ = sf.read(pool / track / f"{stem}.wav")
            b, _ = sf.read(on_ray / track / f"{stem}.wav")
            np.testing.assert_array_equal(a, b)


def test_one_long_file_shows_a_progress_bar_over_its_chunks(capsys, tmp_path):
    _wav(tmp_path / "long.wav", 0.1 * np.random.default_rng(3).standard_normal((2, 16000 * 8)))
    code, _, err = run(capsys, "separate", tmp_path / "long.wav", "-m", "hpss", "-o",
                       tmp_path / "out", "--chunk-seconds", 2, "--overlap-seconds", 0.5)
    assert code == 0, err
    assert "5/5" in err and "chunk/s" in err.replace("s/chunk", "chunk/s")
    code, _, err = run(capsys, "separate", tmp_path / "long.wav", "-m", "hpss", "-o",
                       tmp_path / "out2", "--chunk-seconds", 2, "-q")
    assert code == 0 and "chunk" not in err


def test_an_output_folder_inside_the_input_folder_is_not_read_as_input(capsys, tmp_path, stereo):
    out = tmp_path / "out"  # beside song.wav, inside the input folder
    assert run(capsys, "separate", tmp_path, "-m", "hpss", "-o", out, "-q")[0] == 0
    code, _, err = run(capsys, "separate", tmp_path, "-m", "hpss", "-o", out)
    assert code == 0 and "0 separated, 1 skipped" in err, err
    assert tracks_in(out) == ["song"]
    code, _, err = run(capsys, "separate", str(tmp_path / "**" / "*.wav"), "-m", "hpss", "-o",
                       out)
    assert code == 0 and "0 separated, 1 skipped" in err, err


def test_long_aac_streams_by_decoding_in_order_and_matches_in_memory(capsys, tmp_path,
                                                                    monkeypatch):
    """An MP4/AAC file is decoded front to back in blocks (no whole read): the result equals
    the in-memory engine's on the same decoded samples."""
    from unweave.audio import read_audio
    from unweave.methods import get_method
    from unweave.methods.chunking import separate_in_chunks

    rate = 16000
    audio = (0.1 * np.random.default_rng(8).standard_normal((2, rate * 9))).astype(np.float32)
    path = write_aac(tmp_path / "long.m4a", audio, rate)
    out = tmp_path / "out"

    def whole_read(path):
        raise AssertionError("the file was read whole")

    with monkeypatch.context() as patch:
        patch.setattr("unweave.batch.read_audio", whole_read)
        code, _, err = run(capsys, "separate", path, "-m", "hpss", "--kernel", 9, "-o", out,
                           "--chunk-seconds", 2, "--overlap-seconds", 0.5)
    assert code == 0, err
    assert "chunk" in err  # the progress bar over the chunks
    decoded, _ = read_audio(path)
    streamed, got_rate = sf.read(out / "long" / "percussive.wav", always_2d=True)
    assert got_rate == rate and streamed.shape == decoded.T.shape
    expected = separate_in_chunks(get_method("hpss")(kernel=9), decoded, rate, 2.0, 0.5)
    np.testing.assert_allclose(streamed.T, expected["percussive"], atol=1e-5)
