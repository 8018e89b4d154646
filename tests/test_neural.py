"""Networks: a tiny random-weight model through every CLI flag (offline), a short training run
that lowers the loss, chunked against whole-signal inference, safe checkpoint loading, and the
bundled model on data it was not trained on."""

import pickle

import numpy as np
import pytest
import soundfile as sf

torch = pytest.importorskip("torch")

from conftest import data_path  # noqa: E402

from unweave.cli import main  # noqa: E402
from unweave.data.datasets import ExcerptSampler, Track, split_by_group  # noqa: E402
from unweave.methods import get_method  # noqa: E402
from unweave.methods.neural import bundled_path  # noqa: E402
from unweave.metrics import framewise_sdr  # noqa: E402
from unweave.nn import checkpoint  # noqa: E402
from unweave.nn.models import DRNN, UNet  # noqa: E402
from unweave.nn.train import TrainConfig, train  # noqa: E402


def _tracks(n=4, seconds=3, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(seconds * 16000) / 16000
    out = []
    for i in range(n):
        voice = (0.3 * np.sin(2 * np.pi * (300 + 50 * i) * t) * (np.sin(2 * np.pi * t) > 0))
        music = 0.1 * rng.standard_normal(t.size)
        out.append(Track(f"t{i}", f"g{i % 2}", voice.astype(np.float32),
                         music.astype(np.float32)))
    return out


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "tiny.pt"
    torch.manual_seed(0)
    model = UNet(channels=(4, 8))
    checkpoint.save(path, model, "unet", {"channels": [4, 8]}, {"epoch": 0})
    return path


def test_models_keep_shapes_and_masks_in_range():
    x = torch.rand(2, 512, 64)
    for model in (UNet(channels=(4, 8, 16)), DRNN(hidden=16)):
        mask = model.eval()(x)
        assert mask.shape == x.shape and float(mask.min()) >= 0 and float(mask.max()) <= 1


def test_short_training_lowers_the_loss(tmp_path):
    tracks = _tracks()
    config = TrainConfig("unet", {"channels": [4, 8]}, epochs=3, steps=15, batch=4, frames=32,
                         lr=3e-3)
    history = train(config, tracks[:3], tracks[3:], tmp_path / "m.pt", progress=False)
    assert history["loss"][-1] < history["loss"][0]
    data = checkpoint.load(tmp_path / "m.pt")
    assert data["model_name"] == "unet" and data["training"]["epoch"] == 3
    # Resume continues from the saved epoch.
    config.epochs = 4
    history = train(config, tracks[:3], tracks[3:], tmp_path / "m.pt", resume=True,
                    progress=False)
    assert len(history["loss"]) == 4


def test_sampler_and_split_are_deterministic():
    tracks = _tracks(6)
    a = ExcerptSampler(tracks, 4000, seed=3).batch(5)
    b = ExcerptSampler(tracks, 4000, seed=3).batch(5)
    np.testing.assert_array_equal(a[0], b[0])
    train_t, val_t = split_by_group(tracks, 0.5, seed=1)
    assert {t.group for t in train_t}.isdisjoint({t.group for t in val_t})


def test_chunked_inference_matches_whole_signal(tiny_model):
    rng = np.random.default_rng(1)
    audio = (0.1 * rng.standard_normal((2, 16000 * 6))).astype(np.float32)
    whole = get_method("unet")(model=str(tiny_model), segment_seconds=60)(audio, 16000)
    chunked = get_method("unet")(model=str(tiny_model), segment_seconds=2)(audio, 16000)
    sdr = np.nanmedian(framewise_sdr(whole["vocals"][None], chunked["vocals"][None], 16000))
    assert sdr > 20
    np.testing.assert_allclose(whole["vocals"] + whole["accompaniment"], audio, atol=1e-5)


def test_cli_flags_with_a_tiny_model_offline(tmp_path, tiny_model, capsys):
    rng = np.random.default_rng(2)
    song = tmp_path / "song.wav"
    sf.write(song, (0.1 * rng.standard_normal((44100 * 2, 2))), 44100)
    out = tmp_path / "out"
    assert main(["separate", str(song), "-m", "unet", "--model", str(tiny_model),
                 "--segment-seconds", "1.5", "--device", "cpu", "-o", str(out), "-q"]) == 0
    vocals, rate = sf.read(out / "song" / "vocals.wav")
    assert rate == 44100 and vocals.shape == (88200, 2)
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"x": 1}))
    capsys.readouterr()
    assert main(["separate", str(song), "-m", "unet", "--model", str(evil), "-o",
                 str(tmp_path / "o2")]) == 2
    assert "pickled" in capsys.readouterr().err
    assert main(["separate", str(song), "-m", "drnn", "--model", str(tiny_model), "-o",
                 str(tmp_path / "o3")]) == 2
    data = tmp_path / "data"
    data.mkdir()
    for i in range(4):
        sf.write(data / f"singer{i}_1.wav", rng.standard_normal((16000, 2)) * 0.1, 16000)
    assert main(["train", "unet", "--data", str(data), "--epochs", "1", "--steps", "2",
                 "--batch", "2", "--frames", "32", "--channels", "4,8", "--out",
                 str(tmp_path / "t.pt")]) == 0
    assert main(["train", "unet", "--data", str(tmp_path / "empty"), "--out",
                 str(tmp_path / "u.pt")]) == 2
    # Resuming from a checkpoint of another shape: one line, exit 2.
    capsys.readouterr()
    assert main(["train", "unet", "--data", str(data), "--epochs", "2", "--steps", "2",
                 "--batch", "2", "--frames", "32", "--channels", "8,16", "--resume", "--out",
                 str(tmp_path / "t.pt")]) == 2
    err = capsys.readouterr().err
    assert "cannot resume from it" in err and "Traceback" not in err


@pytest.mark.skipif(not bundled_path("unet").exists(), reason="no bundled unet weights")
def test_bundled_unet_on_held_out_singer():
    """The bundled model did not see the singer 'Ani' (held out when it was trained)."""
    folder = data_path("mir1k_songs", "audio")
    clips = sorted(folder.glob("Ani_*.flac"))[:3]
    gains = []
    for clip in clips:
        audio, rate = sf.read(clip, dtype="float32")
        vocals, music = audio[:, 1], audio[:, 0]
        mix = (vocals + music)[None]
        est = get_method("unet")()(mix, rate)["vocals"]
        ours = np.nanmedian(framewise_sdr(vocals[None, None], est[None], rate))
        base = np.nanmedian(framewise_sdr(vocals[None, None], mix[None], rate))
        gains.append(ours - base)
    assert np.mean(gains) > 3


def test_adversarial_training_runs_and_checkpoints(tmp_path):
    from unweave.data.datasets import Unpaired

    tracks = _tracks()
    unpaired = Unpaired([t.vocals + t.accompaniment for t in tracks[2:]],
                        [t.vocals for t in tracks[:2]])
    config = TrainConfig("unet", {"channels": [4, 8]}, epochs=2, steps=5, batch=2, frames=32,
                         adversarial=0.1)
    history = train(config, tracks[:3], tracks[3:], tmp_path / "a.pt", progress=False,
                    unpaired=unpaired)
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()
    assert checkpoint.load(tmp_path / "a.pt")["model_name"] == "unet"


def test_unpaired_folder_errors(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(3)
    for i in range(2):
        sf.write(data / f"s{i}_1.wav", rng.standard_normal((16000, 2)) * 0.1, 16000)
    (tmp_path / "unpaired").mkdir()
    code = main(["train", "unet", "--data", str(data), "--unpaired", str(tmp_path / "unpaired"),
                 "--out", str(tmp_path / "m.pt")])
    assert code == 2 and "mixtures" in capsys.readouterr().err
