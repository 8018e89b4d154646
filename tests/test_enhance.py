"""Speech enhancement: the causal network offline and live (any block size gives the same
samples, at any rate), `unweave stream` on files and raw PCM pipes, every flag with a tiny
random model, bad input to `stream`, a short `train enhance` run, and the speech metrics of
`unweave evaluate`."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

torch = pytest.importorskip("torch")

from unweave.cli import main  # noqa: E402
from unweave.methods import get_method  # noqa: E402
from unweave.nn import checkpoint  # noqa: E402
from unweave.nn.models import build  # noqa: E402
from unweave.nn.realtime import stream_offline  # noqa: E402


@pytest.fixture(scope="module")
def tiny_enhance(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "enhance.pt"
    torch.manual_seed(0)
    model = build("bandgru", {"hidden": 16, "layers": 1, "df_order": 2})
    checkpoint.save(path, checkpoint.make(model, "enhance", {}))
    return path


def _noisy(path, seconds=1.5, rate=48000, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    voice = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    audio = np.stack([voice + 0.05 * rng.standard_normal(t.size)] * channels, 1)
    sf.write(path, audio.astype(np.float32), rate, subtype="FLOAT")
    return path


def _run(*args, stdin=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "unweave", *map(str, args)], input=stdin,
                          capture_output=True, timeout=120, env=env)


@pytest.mark.parametrize("block", [1, 7, 160, 4096])
def test_any_block_size_gives_the_offline_output(tiny_enhance, block):
    """At 48 kHz: blocks resampled to the model's 16 kHz and back, as they come, equal the
    method's offline output (whole-signal resampling) to float rounding."""
    rng = np.random.default_rng(1)
    audio = (0.1 * rng.standard_normal((2, 9600))).astype(np.float32)
    separator = get_method("enhance")(model=str(tiny_enhance))
    offline = separator(audio, 48000)
    streamed = stream_offline(separator._network, audio, block, 48000)
    np.testing.assert_allclose(streamed[0], offline["speech"], atol=1e-4)
    np.testing.assert_allclose(streamed[1], offline["noise"], atol=1e-4)
    np.testing.assert_allclose(streamed.sum(0), audio, atol=1e-5)


def test_stream_file_equals_separate_and_every_flag(tmp_path, tiny_enhance, capsys):
    noisy = _noisy(tmp_path / "noisy.wav", channels=2)
    model = ["--model", str(tiny_enhance)]
    assert main(["separate", str(noisy), "-m", "enhance", *model, "-o", str(tmp_path / "sep"),
                 "-q"]) == 0
    separated, rate = sf.read(tmp_path / "sep" / "noisy" / "speech.wav")
    noise, _ = sf.read(tmp_path / "sep" / "noisy" / "noise.wav")
    original, _ = sf.read(noisy)
    np.testing.assert_allclose(separated + noise, original, atol=1e-5)
    for block_ms in ("1", "10", "250"):
        out = tmp_path / f"stream{block_ms}.wav"
        assert main(["stream", "-m", "enhance", *model, str(noisy), str(out), "--block-ms",
                     block_ms, "-q"]) == 0, capsys.readouterr().err
        streamed, r = sf.read(out)
        assert r == rate and streamed.shape == separated.shape
        np.testing.assert_allclose(streamed, separated, atol=1e-5)
    # --source noise, --force over an existing output, FLAC.
    out = tmp_path / "stream10.wav"
    assert main(["stream", "-m", "enhance", *model, str(noisy), str(out), "--source", "noise",
                 "--force", "-q"]) == 0
    np.testing.assert_allclose(sf.read(out)[0], noise, atol=1e-5)
    assert main(["stream", "-m", "enhance", *model, str(noisy), str(tmp_path / "s.flac"),
                 "-q"]) == 0
    assert sf.info(tmp_path / "s.flac").samplerate == rate


def test_pipe_mode_end_to_end(tmp_path, tiny_enhance):
    noisy = _noisy(tmp_path / "noisy.wav", rate=16000)
    audio, _ = sf.read(noisy, dtype="float32")
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    proc = _run("stream", "-m", "enhance", "--model", tiny_enhance, "-", "-", "--rate", 16000,
                "--channels", 1, "--block-ms", 10, stdin=pcm.tobytes())
    assert proc.returncode == 0, proc.stderr.decode()
    out = np.frombuffer(proc.stdout, "<i2")
    assert out.shape == pcm.shape  # time-aligned: as many samples out as went in
    # The same as the file mode on the same (16-bit) samples.
    sf.write(tmp_path / "pcm.wav", pcm, 16000, subtype="PCM_16")
    assert main(["stream", "-m", "enhance", "--model", str(tiny_enhance),
                 str(tmp_path / "pcm.wav"), str(tmp_path / "f.wav"), "-q"]) == 0
    reference = np.clip(np.round(sf.read(tmp_path / "f.wav")[0] * 32768), -32768, 32767)
    assert np.abs(out.astype(int) - reference.astype(int)).max() <= 1
    # File in, pipe out; pipe in, file out.
    proc = _run("stream", "-m", "enhance", "--model", tiny_enhance, tmp_path / "pcm.wav", "-")
    assert proc.returncode == 0 and len(proc.stdout) == 2 * pcm.size
    proc = _run("stream", "-m", "enhance", "--model", tiny_enhance, "-", tmp_path / "p.wav",
                "--rate", 16000, "--channels", 1, "-q", stdin=pcm.tobytes())
    assert proc.returncode == 0 and sf.info(tmp_path / "p.wav").frames == pcm.size


def test_bad_input_to_stream_is_one_line_and_leaves_nothing(tmp_path, tiny_enhance):
    model = ["--model", tiny_enhance]
    noisy = _noisy(tmp_path / "noisy.wav", seconds=0.5)
    (tmp_path / "text.wav").write_text("not audio at all")
    existing = tmp_path / "exists.wav"
    existing.write_bytes(b"keep")
    cases = [
        (["-", "-", "--rate", 12345, "--channels", 1], b"\0" * 100, "pipe mode takes"),
        (["-", "-", "--channels", 1], b"\0" * 100, "needs --rate and --channels"),
        (["-", "-", "--rate", 16000, "--channels", 0], b"", "--channels 0"),
        ([tmp_path / "text.wav", tmp_path / "o1.wav"], None, "not a readable audio file"),
        ([tmp_path / "none.wav", tmp_path / "o2.wav"], None, "no such file"),
        ([noisy, existing], None, "exists (use --force"),
        ([noisy, tmp_path / "o3.mp3"], None, "write a .wav or .flac"),
        ([noisy, tmp_path / "o4.wav", "--block-ms", 0], None, "--block-ms"),
        ([noisy, tmp_path / "o5.wav", "--source", "music"], None, "--source music"),
        ([noisy, tmp_path / "o6.wav", "--rate", 16000], None, "a file says its own"),
    ]
    for args, stdin, expected in cases:
        proc = _run("stream", "-m", "enhance", *model, *args, stdin=stdin)
        err = proc.stderr.decode()
        assert proc.returncode == 2 and expected in err, (args, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    proc = _run("stream", "-m", "hpss", noisy, tmp_path / "o7.wav")
    assert proc.returncode == 2 and "not causal" in proc.stderr.decode()
    assert existing.read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.wav", "noisy.wav",
                                                          "text.wav"]


def test_a_closed_output_pipe_is_one_line(tmp_path, tiny_enhance):
    noisy = _noisy(tmp_path / "noisy.wav", seconds=20, rate=16000)
    reader, writer = os.pipe()
    os.close(reader)  # nobody will read: the first write fails with EPIPE
    proc = subprocess.run([sys.executable, "-m", "unweave", "stream", "-m", "enhance",
                           "--model", str(tiny_enhance), str(noisy), "-"], stdout=writer,
                          stderr=subprocess.PIPE, timeout=120)
    os.close(writer)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "output pipe was closed" in err, err
    assert len(err.strip().splitlines()) == 1


def test_the_method_states_its_latency(tiny_enhance):
    lines = get_method("enhance")(model=str(tiny_enhance)).describe()
    assert any(line.startswith("latency: 20 ms") for line in lines), lines


def _speech_noise_folders(tmp_path):
    rng = np.random.default_rng(4)
    t = np.arange(16000 * 2) / 16000
    for s in range(4):
        d = tmp_path / "speech" / f"spk{s}"
        d.mkdir(parents=True)
        for u in range(2):
            f0 = 120 + 30 * s + 10 * u
            voice = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 8))
            sf.write(d / f"u{u}.wav", 0.1 * voice * (np.sin(2 * np.pi * 2 * t + u) > 0), 16000)
    (tmp_path / "noise").mkdir()
    for k in range(3):
        sf.write(tmp_path / "noise" / f"n{k}.wav", rng.standard_normal(16000 * 3) * 0.1,
                 16000 if k else 20000)
    return tmp_path / "speech", tmp_path / "noise"


def test_short_training_lowers_the_loss(tmp_path, capsys):
    speech, noise = _speech_noise_folders(tmp_path)
    out = tmp_path / "enhance.pt"
    assert main(["train", "enhance", "--speech", str(speech), "--noise", str(noise),
                 "--exclude", "n2.wav", "--epochs", "3", "--steps", "10", "--batch", "4",
                 "--segment", "1", "--hidden", "16", "--layers", "1", "--lr", "3e-3",
                 "--validation", "0.25", "--validation-examples", "8", "-q", "--out",
                 str(out)]) == 0, capsys.readouterr().err
    info = checkpoint.load(out)["training"]
    assert info["history"]["loss"][-1] < info["history"]["loss"][0]
    assert info["noise_recordings"] == 2 and info["data"]["exclude"] == ["n2.wav"]
    assert len(info["split"]["validation"]) == 1
    capsys.readouterr()
    assert main(["train", "enhance", "--speech", str(speech), "--out",
                 str(tmp_path / "x.pt")]) == 2
    assert "no noise" in capsys.readouterr().err


def test_evaluate_speech_metrics_in_json_and_csv(tmp_path, capsys):
    rng = np.random.default_rng(5)
    t = np.arange(16000 * 3) / 16000
    speech = 0.3 * np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    for folder, x in (("ref", speech), ("est", speech + 0.02 * rng.standard_normal(t.size))):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "speech.wav", x, 16000, subtype="FLOAT")
    code = main(["evaluate", "--reference", str(tmp_path / "ref"), "--estimate",
                 str(tmp_path / "est"), "--metric", "si-sdr,pesq,stoi", "--json",
                 str(tmp_path / "s.json"), "--csv", str(tmp_path / "s.csv")])
    out = capsys.readouterr().out
    assert code == 0 and "PESQ-WB" in out and "STOI" in out
    metrics = json.loads((tmp_path / "s.json").read_text())["targets"][0]["frames"][0]["metrics"]
    assert set(metrics) == {"SI-SDR", "SI-SIR", "SI-SAR", "PESQ-WB", "PESQ-NB", "STOI"}
    assert 1 <= metrics["PESQ-WB"] <= 4.65 and 0.5 < metrics["STOI"] <= 1
    assert "PESQ-NB" in (tmp_path / "s.csv").read_text()
    assert main(["evaluate", "--reference", str(tmp_path / "ref"), "--estimate",
                 str(tmp_path / "est"), "--metric", "pesq,mos"]) == 2
    assert "unknown metric 'mos'" in capsys.readouterr().err


def test_validation_noise_and_fine_tuning(tmp_path, capsys):
    speech, noise = _speech_noise_folders(tmp_path)
    common = ["train", "enhance", "--speech", str(speech), "--noise", str(noise),
              "--epochs", "1", "--steps", "2", "--batch", "2", "--segment", "0.5",
              "--hidden", "16", "--layers", "1", "--validation", "0.25",
              "--validation-examples", "2", "--synthetic-noise", "0.5", "-q"]
    first = tmp_path / "first.pt"
    assert main([*common, "--validation-noise", "n1.wav", "--out", str(first)]) == 0, \
        capsys.readouterr().err
    info = checkpoint.load(first)["training"]
    assert info["noise_recordings"] == 2  # n1 is for validation only
    assert info["data"]["validation_noise"] == ["n1.wav"]
    assert info["data"]["synthetic"] == 0.5
    tuned = tmp_path / "tuned.pt"
    assert main([*common, "--init", str(first), "--out", str(tuned)]) == 0
    made = checkpoint.load(tuned)["training"]
    assert "--init" in made["command"] and made["init"]["epoch"] == 1
    assert made["init"]["command"].endswith(str(first))
    capsys.readouterr()
    assert main([*common, "--init", str(first), "--hidden", "8", "--out",
                 str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err
    assert "same settings" in err and len(err.strip().splitlines()) == 1
    assert main([*common, "--validation-noise", "nothing*.wav", "--out",
                 str(tmp_path / "y.pt")]) == 2
    assert "matches no noise" in capsys.readouterr().err


def test_validation_mixtures_do_not_depend_on_the_training_seed(tmp_path):
    """Runs with different --seed are scored on the same held-out mixtures."""
    from unweave.nn.models import build
    from unweave.nn.train.recipes import SpeechData, get_recipe, speech_task

    speech, noise = _speech_noise_folders(tmp_path)
    options = SpeechData([str(speech)], noise=[str(noise)], validation=0.25,
                         validation_examples=2)
    tasks = [speech_task(get_recipe("enhance"), options, seed, None)[0] for seed in (0, 5)]
    torch.manual_seed(0)
    model = build("bandgru", {"hidden": 8, "layers": 1}).eval()
    with torch.no_grad():
        scores = [task.validate(model, "cpu") for task in tasks]
    assert np.isfinite(scores[0]) and scores[0] == scores[1], scores
