"""Hostile input through the command line: broken and unusual files, generated argument lists
and files (hypothesis), untrusted names, pickle payloads, and writes that fail half-way (a full
disk, a read-only folder, Ctrl-C). Each either works or ends in one line and exit status 2,
leaving no half-written output and no temporary file."""

import json
import os
import pickle
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hostile import broken_cases, channel_grid, noise, unusual_cases, wav_header
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from unweave.audio import read_audio
from unweave.cli import main
from unweave.errors import AudioReadError

CASES = broken_cases() + unusual_cases()


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's --help
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def stray_files(folder: Path) -> list[str]:
    """Temporary or partial files anywhere under ``folder``."""
    return [str(p) for p in folder.rglob("*") if p.name.endswith(".part")]


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def check_outcome(code: int, err: str, expect: str) -> None:
    assert "Traceback" not in err
    if expect == "works":
        assert code == 0, err
    else:
        lines = [l for l in err.splitlines() if l.startswith("unweave: error:")]
        assert code == 2 and len(lines) == 1, err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_file_works_or_fails_in_one_line(capsys, tmp_path, case):
    path = case.make(tmp_path)
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", path, "-m", case.method, "-o", out, "-q",
                       *case.options)
    check_outcome(code, err, case.expect)
    assert not stray_files(tmp_path)
    if case.expect == "error" and out.exists():  # nothing of the failed track is left
        assert files_under(out) == set()


GRID = [c for c in channel_grid() if not (c.method == "unet" and "64" in c.name)]


@pytest.mark.parametrize("case", GRID, ids=[c.name for c in GRID])
def test_every_method_on_any_channel_count_works_or_says_what_it_needs(capsys, tmp_path, case):
    path = case.make(tmp_path)
    quick = ("--n-iter", 5) if case.method in ("ica", "auxiva", "ilrma", "nmf") else ()
    code, _, err = run(capsys, "separate", path, "-m", case.method, "-o", tmp_path / "out",
                       "-q", *quick, *case.options)
    check_outcome(code, err, case.expect)


# --- generated cases (hypothesis) -------------------------------------------------------------

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
SUFFIXES = [".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aiff", ".stem.mp4", ".bin"]


@FAST
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES))
def test_reader_on_random_bytes(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    try:
        audio, rate = read_audio(path)
    except AudioReadError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    else:
        assert audio.ndim == 2 and audio.dtype == np.float32 and rate > 0
        assert np.isfinite(audio).all()


@FAST
@given(channels=st.integers(1, 8), frames=st.integers(0, 3000),
       rate=st.sampled_from([8000, 22050, 44100, 96000, 192000]),
       fields=st.lists(st.tuples(st.integers(0, 43), st.integers(0, 255)), max_size=6),
       cut=st.integers(0, 20000))
def test_reader_on_wav_with_lying_header(tmp_path, channels, frames, rate, fields, cut):
    """A valid WAV whose header bytes are overwritten and whose end may be cut off."""
    data = (noise(channels, frames) * 32767).astype("<i2").T.tobytes()
    raw = bytearray(wav_header(channels, rate, 16, len(data)) + data)
    for position, value in fields:
        raw[position] = value
    path = tmp_path / "lying.wav"
    path.write_bytes(bytes(raw[: max(cut, 0) or len(raw)]))
    try:
        audio, got_rate = read_audio(path)
    except AudioReadError:
        return
    assert audio.ndim == 2 and np.isfinite(audio).all() and got_rate > 0
    if not fields and (cut == 0 or cut >= len(raw)):  # untouched
        assert audio.shape == (channels, frames) and got_rate == rate


@FAST
@given(channels=st.integers(1, 12), frames=st.integers(1, 2000),
       rate=st.sampled_from([8000, 11025, 16000, 44100, 48000, 88200, 192000]),
       fmt=st.sampled_from([("WAV", "PCM_16", ".wav"), ("WAV", "PCM_24", ".wav"),
                            ("WAV", "FLOAT", ".wav"), ("WAV", "PCM_U8", ".wav"),
                            ("FLAC", "PCM_16", ".flac"), ("AIFF", "PCM_24", ".aiff"),
                            ("WAV", "DOUBLE", ".wav")]))
def test_reader_round_trips_valid_files(tmp_path, channels, frames, rate, fmt):
    container, subtype, suffix = fmt
    assume(container != "FLAC" or channels <= 8)  # FLAC's limit
    audio = np.clip(noise(channels, frames), -0.9, 0.9)
    path = tmp_path / f"valid{suffix}"
    sf.write(path, audio.T, rate, subtype=subtype, format=container)
    got, got_rate = read_audio(path)
    assert got.shape == (channels, frames) and got_rate == rate
    assert np.abs(got - audio).max() < (0.02 if subtype == "PCM_U8" else 1e-3)


TOKENS = st.sampled_from([
    "separate", "evaluate", "report", "methods", "train", "nmf", "unet", "demo", "-m", "hpss",
    "center", "ilrma", "duet", "unet", "nmf", "repet", "irm", "score", "hpps", "-o", "--force",
    "--kernel", "--margin", "--sources", "--n-iter", "--chunk-seconds", "--overlap-seconds",
    "--jobs", "--format", "--bits", "--reference", "--model", "--bases", "--score", "--names",
    "--metric", "--json", "--csv", "--baselines", "-q", "--help", "0", "-1", "1", "3", "1e9",
    "nan", "inf", "-inf", "flac", "wav", "ogg", "16", "24", "8", "v4", "v3", "sisdr", "", " ",
    "../../x", "/dev/null", "é", "\x07", "--", "-", "--kernel=-5", "--margin=nan"])
FILE_TOKENS = st.sampled_from(["GOOD", "MONO", "BAD", "MISSING", "DIR", "OUT"])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.one_of(TOKENS, FILE_TOKENS), max_size=9))
def test_cli_on_generated_argument_lists(capsys, tmp_path_factory, argv):
    """Any argument list: exit 0 or 2 (never 1, an unexpected error), no traceback, and at most
    one error line; nothing is written outside the output folder."""
    folder = tmp_path_factory.mktemp("cli")
    (folder / "dir").mkdir()
    sf.write(folder / "good.wav", noise(2, 4000).T, 8000)
    sf.write(folder / "mono.wav", noise(1, 4000).T, 8000)
    (folder / "bad.wav").write_bytes(b"RIFF\x00\x00junk")
    paths = {"GOOD": folder / "good.wav", "MONO": folder / "mono.wav",
             "BAD": folder / "bad.wav", "MISSING": folder / "missing.wav",
             "DIR": folder / "dir", "OUT": folder / "out"}
    argv = [str(paths.get(a, a)) for a in argv]
    if "demo" in argv or "train" in argv:  # long-running commands: their own tests
        return
    before = files_under(folder)
    cwd = os.getcwd()
    os.chdir(folder)  # relative outputs land here
    try:
        code, _, err = run(capsys, *argv)
    finally:
        os.chdir(cwd)
    assert code in (0, 2), (argv, err)
    assert "Traceback" not in err
    assert len([l for l in err.splitlines() if l.startswith("unweave: error:")]) <= \
        max(1, len(argv))  # a batch may report one line per failed input
    assert not stray_files(folder)
    new = files_under(folder) - before
    assert all(not n.startswith("..") for n in new)


# --- names ------------------------------------------------------------------------------------

def _midi(path: Path, names: list[str], pitches: list[int], seconds: float = 2.0) -> Path:
    import mido

    midi = mido.MidiFile(ticks_per_beat=480)
    for name, pitch in zip(names, pitches):
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=name))
        track.append(mido.Message("note_on", note=pitch, velocity=80, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0,
                                  time=int(seconds * 2 * 480)))  # 120 bpm: 2 beats a second
        midi.tracks.append(track)
    midi.save(str(path))
    return path


def _tones(rate: int, seconds: float, pitches: list[int]) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    tone = sum(0.2 * np.sin(2 * np.pi * 440 * 2 ** ((p - 69) / 12) * t) for p in pitches)
    return np.stack([tone, tone]).astype(np.float32)


def test_midi_track_names_cannot_escape_the_output_folder(capsys, tmp_path):
    hostile = ["../../escape", "/etc/passwd\x07", "<script>alert(1)</script>", ".."]
    score = _midi(tmp_path / "s.mid", hostile, [60, 64, 67, 72])
    sf.write(tmp_path / "mix.wav", _tones(16000, 2, [60, 64, 67, 72]).T, 16000)
    out = tmp_path / "deep" / "out"
    before = files_under(tmp_path)
    code, _, err = run(capsys, "separate", tmp_path / "mix.wav", "-m", "score", "--score", score,
                       "--alignment", "none", "-o", out, "-q", "--n-iter", 5)
    assert code == 0, err
    written = sorted(p.name for p in (out / "mix").iterdir())
    assert written == sorted(["_.._escape.wav", "_etc_passwd.wav",
                              "<script>alert(1)<_script>.wav", "source.wav"])
    new = files_under(tmp_path) - before
    assert all(n.startswith("deep/out/") for n in new), new
    # The report shows such names as text.
    assert run(capsys, "report", out)[0] == 0
    page = (out / "report" / "mix.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;_script&gt;" in page and "<script>alert" not in page


def test_stem_titles_are_sanitised_and_kept_apart(capsys, tmp_path):
    import av

    rate = 44100
    streams = [noise(2, rate, seed=i) for i in range(5)]
    titles = ["../../up", "/abs/path", "vocals", "vocals"]
    stem = tmp_path / "song.stem.mp4"
    with av.open(str(stem), "w", format="mp4", options={"movflags": "use_metadata_tags"}) as f:
        f.metadata["stem"] = json.dumps({"stems": [{"name": n} for n in titles]})
        outs = [f.add_stream("aac", rate=rate, layout="stereo") for _ in streams]
        for s, audio in zip(outs, streams):
            frame = av.AudioFrame.from_ndarray(audio, format="fltp", layout="stereo")
            frame.sample_rate = rate
            for packet in [*s.encode(frame), *s.encode(None)]:
                f.mux(packet)
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", stem, "-m", "irm", "--reference", stem, "-o", out,
                       "-q")
    assert code == 0, err
    assert {p.name for p in (out / "song").iterdir()} == \
        {"_abs_path.wav", "_.._up.wav", "vocals-2.wav", "vocals.wav"}
    assert files_under(tmp_path) - {"song.stem.mp4", "out/.unweave/song.json"} == \
        {f"out/song/{n}" for n in ("_abs_path.wav", "_.._up.wav", "vocals-2.wav", "vocals.wav")}


def test_unicode_and_control_character_input_names(capsys, tmp_path):
    names = ["Café – naïve 日本語", "tab\there", "new\nline", "-starts-with-dash"]
    for i, name in enumerate(names):
        sf.write(tmp_path / f"{name}.wav", noise(2, 8000, seed=i).T, 8000)
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", *[tmp_path / f"{n}.wav" for n in names], "-m", "hpss",
                       "-o", out, "-q")
    assert code == 0, err
    folders = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert folders == sorted(["Café – naïve 日本語", "tabhere", "newline", "-starts-with-dash"])


def test_two_inputs_with_one_name_and_a_name_like_the_rename(capsys, tmp_path):
    for sub in ("a", "b", "c"):
        (tmp_path / sub).mkdir()
    sf.write(tmp_path / "a" / "song.wav", noise(2, 8000, 1).T, 8000)
    sf.write(tmp_path / "b" / "song.wav", noise(2, 8000, 2).T, 8000)
    sf.write(tmp_path / "c" / "song-2.wav", noise(2, 8000, 3).T, 8000)
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", tmp_path / "a" / "song.wav", tmp_path / "b" /
                       "song.wav", tmp_path / "c" / "song-2.wav", "-m", "hpss", "-o", out, "-q")
    assert code == 0, err
    manifests = {p.stem: json.loads(p.read_text())["input"]
                 for p in (out / ".unweave").glob("*.json")}
    assert manifests == {"song": str(tmp_path / "a" / "song.wav"),
                         "song-3": str(tmp_path / "b" / "song.wav"),
                         "song-2": str(tmp_path / "c" / "song-2.wav")}


# --- model files ------------------------------------------------------------------------------

class _Payload:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("kind", ["torch zip", "raw pickle .pt", "npz object array",
                                  "raw pickle .npz"])
def test_model_files_with_a_pickle_payload_are_refused_and_nothing_runs(capsys, tmp_path, kind):
    marker = tmp_path / "pwned"
    payload = _Payload(marker)
    if kind == "torch zip":
        torch = pytest.importorskip("torch")
        evil = tmp_path / "evil.pt"
        torch.save({"model": payload}, evil)
        argv = ["-m", "unet", "--model", evil]
    elif kind == "raw pickle .pt":
        evil = tmp_path / "evil2.pt"
        evil.write_bytes(pickle.dumps(payload))
        argv = ["-m", "unet", "--model", evil]
    elif kind == "npz object array":
        evil = tmp_path / "evil.npz"
        np.savez(evil, bases=np.array([payload], dtype=object))
        argv = ["-m", "nmf", "--bases", evil]
    else:
        evil = tmp_path / "evil3.npz"
        evil.write_bytes(pickle.dumps(payload))
        argv = ["-m", "nmf", "--bases", evil]
    assert not marker.exists()
    sf.write(tmp_path / "mix.wav", noise(2, 8000).T, 16000)
    code, _, err = run(capsys, "separate", tmp_path / "mix.wav", *argv, "-o", tmp_path / "o")
    assert code == 2 and "refused" in err and "Traceback" not in err, err
    assert not marker.exists()


# --- writes that fail half-way ----------------------------------------------------------------

def _cli(*argv, preexec_fn=None, **kwargs) -> subprocess.Popen:
    """The command in a child process that hears Ctrl-C as a terminal's would: a suite run
    as a background job (``make test &``, ``nohup``) inherits SIGINT ignored, and Python then
    installs no KeyboardInterrupt handler."""
    def child():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if preexec_fn is not None:
            preexec_fn()

    return subprocess.Popen([sys.executable, "-m", "unweave", *map(str, argv)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=child, **kwargs)


def _limit_file_size():
    """In the child: files may not grow past 200 kB (as if the disk were full)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


@pytest.mark.parametrize("seconds", [3, 12], ids=["whole", "streamed"])
def test_a_write_that_cannot_finish_leaves_nothing_and_says_why(tmp_path, seconds):
    sf.write(tmp_path / "song.wav", noise(2, 16000 * seconds).T, 16000)
    out = tmp_path / "out"
    proc = _cli("separate", tmp_path / "song.wav", "-m", "hpss", "-o", out, "--chunk-seconds",
                4, "-q", preexec_fn=_limit_file_size)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert err.strip().count("\n") == 0 and "cannot write (File too large)" in err, err
    assert files_under(out) == set()  # no output, no temporary file, no manifest


def _can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and \
        subprocess.run(["mount", "--version"], capture_output=True).returncode == 0


@pytest.mark.parametrize("options", ["size=300k", "ro"], ids=["full disk", "read-only"])
def test_full_disk_and_read_only_folder(tmp_path, options):
    """On a real 300 kB file system (tmpfs), and a read-only one: needs root to mount."""
    if not _can_mount():
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        sf.write(tmp_path / "song.wav", noise(2, 16000 * 6).T, 16000)
        proc = _cli("separate", tmp_path / "song.wav", "-m", "hpss", "-o", disk / "out")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2 and "Traceback" not in err, err
        reason = "No space left on device" if options.startswith("size") else \
            "Read-only file system"
        assert reason in err and err.strip().count("\n") == 0, err
        assert files_under(disk) == set()
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_ctrl_c_mid_run_leaves_no_half_written_output(tmp_path):
    """SIGINT while a long file is being written block by block."""
    sf.write(tmp_path / "long.wav", noise(2, 16000 * 120).T, 16000)
    out = tmp_path / "out"
    proc = _cli("separate", tmp_path / "long.wav", "-m", "hpss", "-o", out, "--chunk-seconds",
                2, "--kernel", 61)
    deadline = time.time() + 120
    while not stray_files(tmp_path) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert stray_files(tmp_path), "the run ended before it began writing"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "unweave: error: interrupted"  # after the bar
    assert not stray_files(tmp_path)
    assert not (out / "long").exists()
    # The manifest says the track was left running, so a rerun redoes it.
    assert json.loads((out / ".unweave" / "long.json").read_text())["status"] == "running"


# --- Ray --------------------------------------------------------------------------------------

def _listening_sockets() -> set[tuple[str, str]]:
    """(local address in /proc's hex, port) of every listening TCP socket on this machine."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                found.add(tuple(fields[1].split(":")))
    return found


def _is_loopback(hex_address: str) -> bool:
    if len(hex_address) == 8:  # IPv4, little-endian: 127.x.x.x ends in 7F
        return hex_address.upper().endswith("7F")
    return hex_address.upper() in ("00000000000000000000000001000000",) or \
        (hex_address.upper().startswith("0000000000000000FFFF0000")
         and hex_address.upper().endswith("7F"))


def test_local_ray_listens_on_loopback_only(tmp_path):
    ray = pytest.importorskip("ray")
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux's /proc/net/tcp")
    from unweave.batch import connect_ray

    before = _listening_sockets()
    assert connect_ray(None)
    try:
        opened = _listening_sockets() - before
        assert opened, "Ray opened no listening socket?"
        assert all(_is_loopback(address) for address, _ in opened), opened
    finally:
        ray.shutdown()


def test_ray_run_logs_no_secret(tmp_path):
    pytest.importorskip("ray")
    for name in ("a", "b"):
        sf.write(tmp_path / f"{name}.wav", noise(2, 8000).T, 8000)
    secret = "sentinel-s3cr3t-value-1234"
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": secret, "UNWEAVE_TEST_TOKEN": secret}
    out = tmp_path / "out"
    proc = _cli("separate", tmp_path / "a.wav", tmp_path / "b.wav", "-m", "hpss", "-o", out,
                "--backend", "ray", env=env)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert secret not in stdout + stderr
    assert all(secret not in p.read_text(errors="replace") for p in out.rglob("*.json"))
    # Only unweave's own lines: progress, one line per track, the summary (no Ray warnings).
    lines = [l for l in stderr.replace("\r", "\n").splitlines() if l.strip()]
    assert all(" -> " in l or "separated" in l or "file/s" in l or "%|" in l for l in lines), \
        lines
    token = Path.home() / ".ray" / "auth_token"
    if token.exists():
        assert token.read_text().strip() not in stdout + stderr


def test_mp4_decoding_stops_at_its_bound(tmp_path, monkeypatch):
    """A small file that decodes to more samples than the bound (a decompression bomb) is
    refused while decoding, before memory runs out. The bound is lowered to show it."""
    import unweave.audio

    make = next(c.make for c in unusual_cases() if c.name == "AAC in MP4 (.m4a)")
    path = make(tmp_path)
    assert read_audio(path)[0].shape[0] == 2
    monkeypatch.setattr(unweave.audio, "MAX_DECODED_VALUES", 50_000)
    with pytest.raises(AudioReadError, match="convert it to WAV or FLAC"):
        read_audio(path)


def test_ctrl_c_stops_a_pool_batch_at_once_and_a_rerun_finishes_it(tmp_path):
    """Ctrl-C in a terminal reaches the whole process group: the workers drop their tracks'
    temporary files and exit, and no queued track is started."""
    inputs = []
    for name in ("a", "b", "c"):
        sf.write(tmp_path / f"{name}.wav", noise(2, 16000 * 60, seed=ord(name)).T, 16000)
        inputs.append(tmp_path / f"{name}.wav")
    out = tmp_path / "out"
    argv = ["separate", *inputs, "-m", "hpss", "-o", out, "--jobs", 2, "--chunk-seconds", 2,
            "--kernel", 61]
    proc = _cli(*argv, start_new_session=True)
    deadline = time.time() + 120
    while not stray_files(tmp_path) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert stray_files(tmp_path), "the run ended before it began writing"
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "unweave: error: interrupted" in err, err
    assert "Traceback" not in err
    assert not stray_files(tmp_path)
    assert not any((out / t).exists() for t in ("a", "b", "c"))
    rerun = _cli(*argv)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0 and "3 separated, 0 skipped" in err, err


@pytest.mark.parametrize("suffix", [".wav", ".m4a"])
def test_file_names_that_are_not_utf8(capsys, tmp_path, suffix):
    """Linux allows any bytes in a name; Python holds them as surrogates, which libsndfile
    and FFmpeg cannot take as text."""
    make = next(c.make for c in unusual_cases()
                if c.name == ("AAC in MP4 (.m4a)" if suffix == ".m4a" else "WAV PCM_16"))
    made = make(tmp_path)
    raw = os.path.join(os.fsencode(tmp_path), b"\xff\xfe song" + suffix.encode())
    try:
        os.rename(os.fsencode(made), raw)
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    out = tmp_path / "out"
    code, _, err = run(capsys, "separate", os.fsdecode(raw), "-m", "hpss", "-o", out, "-q")
    assert code == 0, err
    assert sorted(p.name for p in (out / "song").iterdir()) == ["harmonic.wav",
                                                                 "percussive.wav"]


def test_report_pages_never_overwrite_each_other_or_the_index(capsys, tmp_path):
    """Track folders named 'index', 'a:b' and 'a_b' (same safe name), and one whose stem is
    not audio: every track gets its own page, the index survives, the bad one says why."""
    out = tmp_path / "out"
    for i, track in enumerate(["index", "a:b", "a_b", "broken"]):
        (out / track).mkdir(parents=True)
        sf.write(out / track / "vocals.wav", noise(2, 8000, seed=i).T, 8000)
    (out / "broken" / "vocals.wav").write_bytes(b"not audio")
    code, _, err = run(capsys, "report", out)
    assert code == 0, err
    pages = sorted(p.name for p in (out / "report").glob("*.html"))
    assert pages == ["a_b-2.html", "a_b.html", "broken.html", "index-2.html", "index.html"]
    index = (out / "report" / "index.html").read_text()
    assert all(f'href="{p}"' in index for p in pages if p != "index.html")
    assert "not a readable audio file" in (out / "report" / "broken.html").read_text()


def test_training_skips_an_unreadable_file_with_a_warning(capsys, tmp_path):
    pytest.importorskip("torch")
    data = tmp_path / "data"
    data.mkdir()
    for i in range(4):
        sf.write(data / f"singer{i}_1.wav", noise(2, 16000, seed=i).T, 16000)
    (data / "singer9_1.wav").write_bytes(b"not audio")
    code, _, err = run(capsys, "train", "nmf", "--source", "vocals", "--data", data,
                       "--components", 4, "--iter", 5, "--out", tmp_path / "b.npz")
    assert code == 0 and "unweave: warning: skipped" in err and "singer9_1.wav" in err, err
    code, _, err = run(capsys, "train", "unet", "--data", data, "--epochs", 1, "--steps", 2,
                       "--batch", 2, "--segment", 0.5, "--channels", "4,8", "--out",
                       tmp_path / "m.pt")
    assert code == 0 and "unweave: warning: skipped" in err, err
    assert "Traceback" not in err


@FAST
@given(names=st.lists(st.text(max_size=300), min_size=1, max_size=8))
def test_safe_and_unique_names_for_any_text(names):
    import unicodedata

    from unweave.names import MAX_NAME_BYTES, safe_name, unique_names

    safe = [safe_name(n) for n in names]
    for name in safe:
        assert name and name not in (".", "..") and not name.startswith(".")
        assert not any(c in name for c in "/\\:")
        assert all(unicodedata.category(c)[0] != "C" for c in name)  # no control characters
        assert len(name.encode("utf-8", errors="surrogatepass")) <= MAX_NAME_BYTES
        assert safe_name(name) == name  # idempotent
    distinct = unique_names(safe)
    assert len(distinct) == len(safe)
    assert len({n.lower() for n in distinct}) == len(distinct)
    assert all(d == s or d.startswith(s + "-") for d, s in zip(distinct, safe))
