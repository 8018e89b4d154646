"""Multichannel blind separation on real speech and measured room impulse responses: quality
floors above the mixture, seeds that repeat, and channel-count errors through the CLI."""

import warnings

import numpy as np
import pytest
import soundfile as sf
from conftest import data_path

from unweave.audio import read_audio
from unweave.cli import main
from unweave.data.mixing import anechoic, convolutive, fractional_delay, instantaneous, load_rirs
from unweave.methods import get_method
from unweave.metrics import bss_eval_images

RATE = 16000


@pytest.fixture(scope="module")
def speech():
    files = sorted(data_path("sisec2011_speech_sources").glob("*.wav"))
    signals = [read_audio(f)[0][0] for f in files]
    n = min(len(s) for s in signals) // 2  # 5 s keeps the suite fast
    return np.stack([s[:n] for s in signals]).astype(np.float64)


@pytest.fixture(scope="module")
def rirs():
    folder = data_path("rsmnmf_office_rirs_32ch")
    return [folder / f"rir_source_{i}.wav" for i in (1, 3, 5)]


def sdr_gain(images, estimates, mic=0):
    """Mean SDR improvement over the mixture at ``mic`` (best permutation)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = images[:, [mic]]
        est = np.stack([e[[mic]] for e in estimates])
        res = bss_eval_images(ref, est, compute_permutation=True)
        base = bss_eval_images(ref, np.repeat(images.sum(0)[None, [mic]], len(ref), 0), False)
    return float(np.mean(res.sdr[:, 0] - base.sdr[:, 0]))


@pytest.mark.parametrize("n", [2, 3])
def test_ica_separates_instantaneous_speech(speech, n):
    mix, images = instantaneous(speech[:n], np.random.default_rng(n).uniform(0.2, 1, (n, n)))
    sep = get_method("ica")()(mix, RATE)
    assert len(sep.names) == n and sep["source_1"].shape == mix.shape
    assert sdr_gain(images, [sep[k] for k in sep.names]) > 20


@pytest.mark.parametrize("method,floor", [("auxiva", 2.0), ("ilrma", 4.0)])
def test_iva_on_measured_room_2x2(speech, rirs, method, floor):
    mix, images = convolutive(speech[:2], load_rirs(rirs[:2], [0, 16], RATE))
    sep = get_method(method)()(mix, RATE)
    gain = sdr_gain(images, [sep[k] for k in sep.names])
    print(f"{method} 2x2 SDRi {gain:.2f} dB")
    assert gain > floor
    history = sep.info["history"]
    assert history[-1] < history[0]


def test_overdetermined_input_is_reduced(speech, rirs):
    mix, images = convolutive(speech[:2], load_rirs(rirs[:2], [0, 8, 16, 24], RATE))
    sep = get_method("auxiva")(n_sources=2)(mix, RATE)
    assert sep.names == ["source_1", "source_2"] and sep["source_1"].shape == (4, mix.shape[1])
    assert sdr_gain(images, [sep[k] for k in sep.names]) > 2.0


def test_duet_four_speakers_two_mics(speech):
    gains = np.array([[1, 1, 1, 1], [0.7, 0.9, 1.1, 1.3]])
    delays = np.array([[0, 0, 0, 0], [-1.5, -0.5, 0.5, 1.5]])
    mix, images = anechoic(speech, gains, delays)
    sep = get_method("duet")(n_sources=4)(mix, RATE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bss_eval_images(images, np.stack([sep[k] for k in sep.names]), True)
        base = bss_eval_images(images, np.repeat(mix[None], 4, 0), False)
    assert np.all(res.sdr[:, 0] > base.sdr[:, 0] + 5)


@pytest.mark.parametrize("method", ["ica", "auxiva", "ilrma", "duet"])
def test_results_repeat_for_a_seed(speech, method):
    mix, _ = instantaneous(speech[:2, :RATE * 2], [[1, 0.5], [0.4, 1]])
    a = get_method(method)()(mix, RATE)
    b = get_method(method)()(mix, RATE)
    for k in a.names:
        np.testing.assert_array_equal(a[k], b[k])


def test_fractional_delay_matches_an_integer_shift():
    x = np.random.default_rng(0).standard_normal(1000)
    np.testing.assert_allclose(fractional_delay(x, 3.0)[3:], x[:-3], atol=1e-9)


def test_cli_multichannel_file_and_channel_errors(tmp_path, speech, rirs, capsys):
    mix, _ = convolutive(speech[:3], load_rirs(rirs, [0, 12, 24], RATE))
    path = tmp_path / "recording.wav"
    sf.write(path, (mix / np.abs(mix).max() * 0.9).T, RATE, subtype="FLOAT")
    assert main(["separate", str(path), "-m", "ilrma", "--sources", "3", "--n-iter", "10",
                 "-o", str(tmp_path / "out"), "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "out" / "recording").iterdir()) == \
        ["source_1.wav", "source_2.wav", "source_3.wav"]
    mono = tmp_path / "mono.wav"
    sf.write(mono, mix[0] * 0.1, RATE)
    for method in ("ica", "auxiva", "ilrma", "duet"):
        capsys.readouterr()
        assert main(["separate", str(mono), "-m", method, "-o", str(tmp_path / "o2")]) == 2
        assert "channels; the input has 1" in capsys.readouterr().err
    assert main(["separate", str(path), "-m", "auxiva", "--sources", "4", "-o",
                 str(tmp_path / "o3")]) == 2
    assert "try 'duet'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["auxiva", "ilrma"])
def test_iva_does_not_depend_on_the_number_of_threads(name):
    """Frequencies are cut into fixed bands: one thread or several give the same matrices."""
    from unweave.methods import iva

    rng = np.random.default_rng(0)
    x = rng.standard_normal((65, 2, 40)) + 1j * rng.standard_normal((65, 2, 40))
    run = (lambda th: iva.auxiva(x, 5, threads=th)) if name == "auxiva" else \
        (lambda th: iva.ilrma(x, 2, 5, seed=0, threads=th))
    (w1, h1), (w3, h3) = run(1), run(3)
    assert np.array_equal(w1, w3) and h1 == h3
