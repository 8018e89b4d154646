"""BSS Eval and SI-SDR: agreement with mir_eval's fixtures and museval's expected scores,
the validation matrix, and the properties the definitions imply."""

import json
import warnings

import numpy as np
import pytest
import soundfile as sf
from conftest import data_path

from unweave.audio import read_audio
from unweave.errors import UnweaveError
from unweave.metrics import (
    bss_eval_images,
    bss_eval_images_framewise,
    bss_eval_sources,
    bss_eval_sources_framewise,
    bss_eval_v4,
    framewise_sdr,
    si_sdr,
)

TOL = 0.01  # dB, mir_eval's and museval's own tolerance is 0.01 / 0.1
CASES = ["01", "02", "03", "05", "06", "07", "08", "09"]
KEYS = {"sdr": "Source to Distortion", "isr": "Image to Spatial",
        "sir": "Source to Interference", "sar": "Source to Artifact"}


def _load_case(folder):
    """As mir_eval.io.load_wav: int16 / 2**16, channels averaged, sources sorted."""
    out = []
    for f in sorted(folder.glob("*.wav")):
        x, _ = sf.read(f, dtype="int16")
        x = x / 2**16
        out.append(x.mean(axis=1) if x.ndim > 1 else x)
    return np.array(out)


@pytest.fixture(scope="module", params=CASES)
def fixture_case(request):
    root = data_path("mir_eval_bss_eval_fixtures", "separation")
    k = request.param
    expected = json.loads((root / f"output{k}.json").read_text())
    return _load_case(root / f"ref{k}"), _load_case(root / f"est{k}"), expected


def _compare(result, expected, metrics, framewise=False):
    for m in metrics:
        ours = getattr(result, m)
        ref = np.array(expected[KEYS[m]], dtype=float)
        ours = ours if framewise else ours[:, 0]
        np.testing.assert_allclose(ours, ref, atol=TOL, err_msg=m)


def test_sources_match_mir_eval(fixture_case):
    ref, est, expected = fixture_case
    result = bss_eval_sources(ref, est)
    _compare(result, expected["Sources"], ["sdr", "sir", "sar"])
    assert result.perm[:, 0].tolist() == expected["Sources"]["Source permutation"]


def test_sources_framewise_match_mir_eval(fixture_case):
    ref, est, expected = fixture_case
    f = expected["Framewise"]
    result = bss_eval_sources_framewise(ref, est, f["win"], f["hop"])
    _compare(result, f, ["sdr", "sir", "sar"], framewise=True)


def _images(ref, est, params):
    n_chan, gain = params["nchan"], params["gain"]
    ref_img = np.repeat(ref[:, None], n_chan, axis=1)
    est_img = np.repeat(est[:, None], n_chan, axis=1)
    est_img[:, 1:] *= gain
    return ref_img, est_img


def test_images_match_mir_eval(fixture_case):
    ref, est, expected = fixture_case
    params = expected["Images"]
    result = bss_eval_images(*_images(ref, est, params))
    _compare(result, params, ["sdr", "isr", "sir", "sar"])
    assert result.perm[:, 0].tolist() == params["Source permutation"]


def test_images_framewise_match_mir_eval(fixture_case):
    ref, est, expected = fixture_case
    params = expected["Images Framewise"]
    result = bss_eval_images_framewise(*_images(ref, est, expected["Images"]), params["win"],
                                       params["hop"])
    _compare(result, params, ["sdr", "isr", "sir", "sar"], framewise=True)


def test_v4_matches_museval_on_real_music():
    """The procedure of the item's SOURCE.md: random estimates, seed 0, vocals/accompaniment."""
    folder = data_path("musdb18_7s_80s_rock_museval")
    stems = {n: read_audio(folder / "decoded" / f"{n}.flac")[0].astype(np.float64)
             for n in ("mixture", "drums", "bass", "other", "vocals")}
    shape = stems["mixture"].T.shape
    np.random.seed(0)
    est_vocals = np.random.random(shape)
    est_accompaniment = np.random.random(shape)
    refs = np.stack([stems["vocals"], stems["drums"] + stems["bass"] + stems["other"]])
    ests = np.stack([est_vocals.T, est_accompaniment.T])
    result = bss_eval_v4(refs, ests, window=44100, hop=44100)
    expected = json.loads(next((folder / "expected_museval").glob("*.json")).read_text())
    for j, name in enumerate(("vocals", "accompaniment")):
        target = next(t for t in expected["targets"] if t["name"] == name)
        for metric in ("SDR", "ISR", "SIR", "SAR"):
            want = [f["metrics"][metric] for f in target["frames"]]
            np.testing.assert_allclose(getattr(result, metric.lower())[j], want, atol=TOL,
                                       err_msg=f"{name} {metric}")


def test_v4_sdr_is_the_framewise_energy_ratio():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((3, 2, 20000))
    est = ref + 0.3 * rng.standard_normal(ref.shape)
    result = bss_eval_v4(ref, est, window=4000, hop=4000)
    np.testing.assert_allclose(result.sdr, framewise_sdr(ref, est, 4000), atol=1e-9)


def test_hungarian_permutation_handles_many_sources():
    rng = np.random.default_rng(1)
    n_src = 10
    ref = rng.standard_normal((n_src, 4000))
    order = rng.permutation(n_src)
    est = ref[order] + 0.1 * rng.standard_normal(ref.shape)
    result = bss_eval_sources(ref, est)
    assert result.perm[:, 0].tolist() == np.argsort(order).tolist()
    assert np.all(result.sir[:, 0] > 15)


def test_perfect_and_scaled_estimates():
    rng = np.random.default_rng(2)
    ref = rng.standard_normal((2, 1, 8000))
    assert np.all(bss_eval_v4(ref, ref, 4000, 4000).sdr == np.inf)
    si = si_sdr(ref, 0.5 * ref + 1e-3 * rng.standard_normal(ref.shape))
    assert np.all(si.si_sdr > 40) and np.all(si.si_sar > 40)


def test_si_sdr_matches_its_definition():
    rng = np.random.default_rng(3)
    ref = rng.standard_normal((2, 1, 5000))
    est = 2.0 * ref[::-1] * 0.1 + 3.0 * ref + 0.5 * rng.standard_normal(ref.shape)
    result = si_sdr(ref, est, zero_mean=False)
    for j in range(2):
        s, e = ref[j, 0], est[j, 0]
        target = (e @ s) / (s @ s) * s
        want = 10 * np.log10((target @ target) / ((e - target) @ (e - target)))
        assert abs(result.si_sdr[j] - want) < 1e-9
    assert np.all(result.si_sir > result.si_sdr)


@pytest.mark.parametrize("ref_shape,est_shape,words", [
    ((2, 1, 100), (2, 1, 99), "shapes differ"),
    ((2, 1, 100), (3, 1, 100), "shapes differ"),
    ((2, 100, 2), (2, 100, 2), "not (sources, samples, channels)"),
    ((2, 1, 0), (2, 1, 0), "nothing to evaluate"),
    ((2, 2, 2, 10), (2, 2, 2, 10), "must be (sources, channels, samples)"),
])
def test_validation_messages(ref_shape, est_shape, words):
    ref, est = np.ones(ref_shape), np.ones(est_shape)
    for fn in (bss_eval_v4, bss_eval_images, si_sdr):
        with pytest.raises(UnweaveError, match=words.replace("(", r"\(").replace(")", r"\)")):
            fn(ref, est)


def test_non_finite_input_is_refused():
    ref = np.ones((1, 1, 100))
    with pytest.raises(UnweaveError, match="NaN"):
        bss_eval_v4(ref, ref * np.nan)


def test_silent_source_gives_nan_and_a_warning():
    rng = np.random.default_rng(4)
    ref = rng.standard_normal((2, 2, 8000))
    est = ref + 0.1 * rng.standard_normal(ref.shape)
    est[1] = 0
    for fn in (lambda r, e: bss_eval_v4(r, e, 4000, 4000), bss_eval_images):
        with pytest.warns(RuntimeWarning, match="silent"):
            result = fn(ref, est)
        assert np.all(np.isnan(result.sdr[1]))
    ref[0] = 0
    with pytest.warns(RuntimeWarning):
        result = si_sdr(ref, est)
    assert np.isnan(result.si_sdr).all()


def test_silent_window_gives_nan_for_every_source():
    rng = np.random.default_rng(5)
    ref = rng.standard_normal((2, 1, 12000))
    est = ref + 0.1 * rng.standard_normal(ref.shape)
    ref[0, :, 4000:8000] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = bss_eval_v4(ref, est, 4000, 4000)
    assert np.isnan(result.sdr[:, 1]).all() and np.isfinite(result.sdr[:, [0, 2]]).all()


def test_reference_with_a_silent_channel_still_scores():
    rng = np.random.default_rng(6)
    ref = rng.standard_normal((2, 2, 8000))
    ref[0, 1] = 0  # hard-panned source: the right channel of its image is silent
    est = ref + 0.1 * rng.standard_normal(ref.shape)
    result = bss_eval_images(ref, est)
    assert np.isfinite(result.sdr).all() and np.isfinite(result.sir).all()


def test_block_levinson_solves_the_gram_system():
    """The block-Toeplitz solver and matrix product agree with the dense Gram matrix."""
    from unweave.metrics.projection import block_levinson, gram, toeplitz_matvec, xcorr

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4000))
    x[1] += 0.7 * x[0]
    x = x + 0.5 * np.cumsum(rng.standard_normal((3, 4000)), axis=1) * 0.05  # coloured
    L = 32
    xc = xcorr(x, x, L - 1)
    g = gram(xc, L)
    d = rng.standard_normal((3 * L, 4))
    c = block_levinson(xc, d)
    assert np.allclose(c, np.linalg.solve(g, d), rtol=1e-8, atol=1e-10)
    assert np.allclose(toeplitz_matvec(xc, c), g @ c, atol=1e-9)


def test_block_levinson_gives_way_on_a_singular_gram_matrix():
    """Two identical channels: the recursion says so and the projector falls back."""
    from unweave.metrics.projection import Projector, block_levinson, gram, xcorr

    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 3000))
    x = np.concatenate([x, x])
    L = 16
    xc = xcorr(x, x, L - 1)
    d = gram(xc, L)[:, :2]  # in the span: a solution exists
    assert block_levinson(xc, d) is None
    c = Projector(refs_xc=xc).solve(d)
    assert np.allclose(gram(xc, L) @ c, d, atol=1e-6)


def test_xcorr_matches_direct_correlation_on_any_number_of_threads():
    """Blocks shared among threads (and the time-reversed frames) change nothing."""
    from unweave.metrics.projection import xcorr

    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((2, 20000)), rng.standard_normal((3, 20000))
    k = 40
    direct = np.array([[np.correlate(b, a, "full")[len(a) - 1 - k : len(a) + k] for b in y]
                       for a in x])
    for threads in (1, 2, 3):
        got = xcorr(x, [y[:1], y[1:]], k, threads=threads)
        assert np.allclose(got, direct, atol=1e-9)
    assert np.allclose(xcorr(x, x, 0)[..., 0], x @ x.T)  # no lags at all


def test_v4_scores_do_not_depend_on_threads(monkeypatch):
    from unweave.metrics import bss_eval, projection

    rng = np.random.default_rng(3)
    ref = rng.standard_normal((3, 2, 5 * 8000))
    est = ref + 0.3 * rng.standard_normal(ref.shape)
    est[:, :, 8000:16000] = 0  # a silent window: NaN for every source
    together = bss_eval.bss_eval_v4(ref, est, window=8000, hop=8000)
    monkeypatch.setattr(projection, "threads_available", lambda most=4: 1)
    monkeypatch.setattr(bss_eval, "threads_available", lambda most=4: 1)  # (imported names)
    alone = bss_eval.bss_eval_v4(ref, est, window=8000, hop=8000)
    for name in ("sdr", "isr", "sir", "sar"):
        assert np.array_equal(np.isnan(getattr(alone, name)), np.isnan(getattr(together, name)))
        assert np.allclose(getattr(alone, name), getattr(together, name), equal_nan=True)
    assert np.isnan(together.sdr[:, 1]).all() and np.isfinite(together.sdr[:, 0]).all()
