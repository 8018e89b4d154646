"""REPET, REPET-SIM, NMF (unsupervised and supervised) and GMM on real recordings: each beats
the mixture baseline, stays below the oracle, and repeats itself for a seed."""

import numpy as np
import pytest
from conftest import data_path

from unweave.audio import read_audio
from unweave.cli import main
from unweave.methods import get_method
from unweave.methods.nmf import default_stft, load_bases, nmf, save_bases, train_bases
from unweave.metrics import framewise_sdr


def median_sdr(reference, estimate, rate):
    return float(np.nanmedian(framewise_sdr(reference[None], estimate[None], rate)))


@pytest.fixture(scope="module")
def mir1k():
    """MIR-1K clips at 0 dB: list of (name, vocals, accompaniment), 16 kHz mono."""
    folder = data_path("mir1k_excerpts")
    clips = []
    for f in sorted(folder.glob("*_vocal.wav")):
        vocals, rate = read_audio(f)
        music, _ = read_audio(str(f).replace("_vocal", "_music"))
        clips.append((f.name[:-10], vocals, music))
    assert rate == 16000
    return clips


def _mean_gain(clips, separate):
    """Mean over clips of (method SDR, mixture SDR, oracle IRM SDR) for the vocals."""
    rows = []
    for _, vocals, music in clips:
        mix = vocals + music
        irm = get_method("irm")()(mix, 16000, references={"vocals": vocals, "music": music})
        rows.append((median_sdr(vocals, separate(mix), 16000), median_sdr(vocals, mix, 16000),
                     median_sdr(vocals, irm["vocals"], 16000)))
    return np.mean(rows, axis=0)


@pytest.mark.parametrize("method", ["repet", "repet-sim"])
def test_repet_beats_the_mixture_on_mir1k(mir1k, method):
    sep = get_method(method)()
    ours, mixture, oracle = _mean_gain(mir1k, lambda mix: sep(mix, 16000)["vocals"])
    print(f"{method}: {ours:.2f} dB (mixture {mixture:.2f}, irm {oracle:.2f})")
    assert mixture + 1.0 < ours < oracle


def test_supervised_nmf_beats_the_mixture_on_mir1k(mir1k, tmp_path):
    """Vocal bases trained on the other clips' voices (leave one clip out)."""
    rows = []
    for i, (_, vocals, music) in enumerate(mir1k[:3]):
        others = [v for j, (_, v, _) in enumerate(mir1k) if j != i]
        bases = train_bases(others, 16000, n_components=24, n_iter=60)
        path = save_bases(tmp_path / "v.npz", bases, "vocals", 16000, default_stft(16000), 1.0)
        sep = get_method("nmf")(bases=str(path), n_components=24, n_iter=60)(vocals + music,
                                                                               16000)
        assert sep.names == ["vocals", "rest"]
        rows.append((median_sdr(vocals, sep["vocals"], 16000),
                     median_sdr(vocals, vocals + music, 16000)))
    ours, mixture = np.mean(rows, axis=0)
    assert ours > mixture + 1.5


def test_unsupervised_nmf_one_cluster_carries_the_voice(mir1k):
    _, vocals, music = mir1k[0]
    sep = get_method("nmf")(n_sources=2)(vocals + music, 16000)
    assert sep.names == ["source_1", "source_2"]
    best = max(median_sdr(vocals, sep[n], 16000) for n in sep.names)
    assert best > median_sdr(vocals, vocals + music, 16000)
    np.testing.assert_allclose(sep["source_1"] + sep["source_2"], vocals + music, atol=1e-4)


def test_gmm_beats_the_mixture_on_real_stereo(music_track):
    name, stems, rate = music_track
    mixture = sum(stems.values())
    sep = get_method("gmm")()(mixture, rate)
    ours = float(np.nanmedian(framewise_sdr(stems["vocals"], sep["vocals"], rate)))
    base = float(np.nanmedian(framewise_sdr(stems["vocals"], mixture, rate)))
    print(f"{name}: gmm vocals {ours:.2f} dB, mixture {base:.2f} dB")
    assert ours > base + 3


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
def test_nmf_objective_decreases_and_is_seeded(beta):
    v = np.abs(np.random.default_rng(0).standard_normal((40, 60))) + 0.1
    w, h, history = nmf(v, 5, beta=beta, n_iter=50, seed=3)
    assert history[-1] < history[0]
    assert np.all(np.diff(history) <= 1e-9 * abs(history[0]))
    w2, h2, _ = nmf(v, 5, beta=beta, n_iter=50, seed=3)
    np.testing.assert_array_equal(w, w2)
    # A warm start continues from where a run stopped.
    _, _, more = nmf(v, 5, beta=beta, n_iter=10, init=(w, h))
    assert more[0] == pytest.approx(history[-1]) and more[-1] <= more[0]


def test_sharing_penalty_keeps_free_bases_away_from_the_trained_ones():
    rng = np.random.default_rng(1)
    fixed = np.abs(rng.standard_normal((30, 4)))
    v = fixed @ np.abs(rng.standard_normal((4, 80))) + np.abs(rng.standard_normal((30, 80)))
    def overlap(mu):
        w, _, _ = nmf(v, 6, n_iter=100, fixed_bases=fixed, sharing_penalty=mu, seed=0)
        f = fixed / np.linalg.norm(fixed, axis=0)
        return float(np.sum((f.T @ w[:, 4:]) ** 2))
    assert overlap(10.0) < overlap(0.0)


@pytest.mark.parametrize("method", ["repet", "repet-sim", "nmf", "gmm"])
def test_deterministic_for_a_seed(method):
    rng = np.random.default_rng(5)
    mixture = rng.standard_normal((2, 16000 * 3)).astype(np.float32)
    mixture[1] = 0.5 * mixture[1] + 0.5 * mixture[0]
    a = get_method(method)()(mixture, 16000)
    b = get_method(method)()(mixture, 16000)
    for name in a.sources:
        np.testing.assert_array_equal(a[name], b[name])


def test_windowed_repet_handles_long_input():
    rng = np.random.default_rng(6)
    loop = rng.standard_normal(8000)
    mixture = np.tile(loop, 12)[None].astype(np.float32)  # a 0.5 s loop, 6 s
    sep = get_method("repet")(segment_seconds=2.0, min_period=0.3, max_period=1.0)(mixture,
                                                                                   16000)
    assert sep.info["chunks"] > 2
    # A purely repeating signal is all accompaniment.
    assert np.sum(sep["vocals"] ** 2) < 0.05 * np.sum(mixture**2)


def test_train_command_and_bad_bases(capsys, tmp_path, mir1k):
    import soundfile as sf

    for name, vocals, _ in mir1k[:2]:
        sf.write(tmp_path / f"{name}.wav", vocals[0], 16000)
    out = tmp_path / "voice.npz"
    code = main(["train", "nmf", "--source", "vocals", "--data", str(tmp_path), "--out",
                 str(out), "--components", "8", "--iter", "20"])
    assert code == 0 and load_bases(out)["source"] == "vocals"
    assert main(["train", "nmf", "--source", "vocals", "--data", str(tmp_path), "--out",
                 str(out)]) == 2  # exists
    mixture = tmp_path / "mix.wav"
    _, vocals, music = mir1k[2]
    sf.write(mixture, (vocals + music)[0], 16000)
    assert main(["separate", str(mixture), "-m", "nmf", "--bases", str(out), "-o",
                 str(tmp_path / "sep"), "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "sep" / "mix").iterdir()) == ["rest.wav",
                                                                            "vocals.wav"]
    import pickle

    evil = tmp_path / "evil.npz"
    evil.write_bytes(pickle.dumps({"x": 1}))
    capsys.readouterr()
    assert main(["separate", str(mixture), "-m", "nmf", "--bases", str(evil), "-o",
                 str(tmp_path / "o2")]) == 2
    assert "pickled" in capsys.readouterr().err
    sf.write(tmp_path / "mix44.wav", np.zeros(4410) + 0.1, 44100)
    assert main(["separate", str(tmp_path / "mix44.wav"), "-m", "nmf", "--bases", str(out),
                 "-o", str(tmp_path / "o3")]) == 2
    assert "trained at 16000 Hz" in capsys.readouterr().err


def test_repet_sim_picks_similar_frames_greedily():
    """Frames at least min_distance apart, the frame itself and its neighbours left out, the
    most similar first."""
    from unweave.methods.repet import similar_frames

    rng = np.random.default_rng(0)
    pattern = rng.random((20, 4))
    magnitude = np.tile(pattern, 6) + 0.01 * rng.random((20, 24))  # period 4 frames
    indices, valid = similar_frames(magnitude, max_frames=10, min_distance=2)
    for frame in range(24):
        taken = indices[frame, valid[frame]]
        assert frame not in taken and np.all(np.abs(taken - frame) > 2)
        assert np.all(np.abs(np.subtract.outer(taken, taken))[~np.eye(len(taken), dtype=bool)]
                      > 2)
        assert np.all(taken[:5] % 4 == frame % 4)  # its pattern's 5 repetitions first
