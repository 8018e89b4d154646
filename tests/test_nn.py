"""The neural building blocks: front ends against the numpy STFT, losses against the metrics,
permutation-invariant training, models' shapes and arguments, offline and real-time inference,
checkpoints."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from unweave.metrics import si_sdr as metric_si_sdr  # noqa: E402
from unweave.nn import checkpoint  # noqa: E402
from unweave.nn.apply import apply_model  # noqa: E402
from unweave.nn.frontend import STFT, BandFilterbank, CausalSTFT  # noqa: E402
from unweave.nn.losses import LOSSES, si_sdr, thresholded_snr  # noqa: E402
from unweave.nn.models import MODELS, build  # noqa: E402
from unweave.nn.pit import PIT, reorder  # noqa: E402
from unweave.nn.realtime import Streamer, stream_offline  # noqa: E402
from unweave.spectral import STFTConfig, istft, stft  # noqa: E402


def test_stft_module_equals_the_numpy_stft():
    x = np.random.default_rng(0).standard_normal((2, 3, 5001))
    module = STFT(1024, 256)
    spec = stft(x, STFTConfig(1024, 256))
    np.testing.assert_allclose(module(torch.tensor(x)).numpy(), spec, atol=1e-10)
    back = module.inverse(torch.tensor(spec), 5001).numpy()
    np.testing.assert_allclose(back, istft(spec, STFTConfig(1024, 256), 5001), atol=1e-10)
    np.testing.assert_allclose(back, x, atol=1e-10)


def test_causal_stft_reconstructs_and_streams_like_offline():
    x = torch.tensor(np.random.default_rng(1).standard_normal((2, 4003)))
    causal = CausalSTFT(320, 160)
    np.testing.assert_allclose(causal.inverse(causal(x), 4003), x, atol=1e-10)
    # Frame k may use samples up to (k + 1) * hop only: changing the future leaves it alone.
    y = x.clone()
    y[:, 1600:] = 0
    np.testing.assert_allclose(causal(x)[..., :10], causal(y)[..., :10])


def test_band_filterbank_interpolates_unit_gains_to_one():
    bank = BandFilterbank(161, 16000, 32, "erb")
    ones = bank.expand(torch.ones(1, 32, 5))
    np.testing.assert_allclose(ones.numpy(), 1.0, atol=1e-6)
    energy = bank(torch.ones(1, 161, 5))
    assert energy.shape == (1, 32, 5) and float(energy.sum(1).mean()) == pytest.approx(161)


def test_torch_si_sdr_equals_the_metric():
    rng = np.random.default_rng(2)
    ref = rng.standard_normal((3, 2, 8000)) + 0.3
    est = ref + 0.5 * rng.standard_normal((3, 2, 8000))
    expected = metric_si_sdr(ref, est).si_sdr
    got = si_sdr(torch.tensor(est), torch.tensor(ref)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("sources", [2, 3, 5])
def test_pit_recovers_a_shuffled_permutation(sources):
    """Estimates are the references in a random order (plus noise): PIT finds the order
    (exhaustively up to 3 sources, by the Hungarian algorithm beyond) and its loss equals the
    loss of the estimates put back in order."""
    torch.manual_seed(sources)
    refs = torch.randn(6, sources, 1, 2000, dtype=torch.float64)
    shuffle = torch.stack([torch.randperm(sources) for _ in range(6)])
    est = refs[torch.arange(6)[:, None], shuffle] + 0.1 * torch.randn_like(refs)
    loss, perm = PIT(LOSSES["si_sdr"])(est, refs)
    # est[b, shuffle^-1[b, j]] is ref j
    np.testing.assert_array_equal(perm.numpy(), torch.argsort(shuffle, dim=1).numpy())
    ordered = reorder(est, perm)
    np.testing.assert_allclose(loss.numpy(), LOSSES["si_sdr"](ordered, refs).mean(1).numpy())
    # The loss does not depend on the order of the references.
    loss2, _ = PIT(LOSSES["si_sdr"])(est, refs[:, torch.randperm(sources)])
    np.testing.assert_allclose(loss2.numpy(), loss.numpy())


def test_losses_are_per_item_and_source_and_zero_on_a_perfect_estimate():
    x = torch.randn(2, 3, 1, 4096)
    for name, loss in LOSSES.items():
        value = loss(x, x)
        assert value.shape == (2, 3), name
        if "si_sdr" not in name and name not in ("discriminative", "snr"):  # (negative)
            assert float(value.abs().max()) < 1e-4, name


def test_thresholded_snr_is_capped_and_bounded_on_silent_sources():
    """A perfect estimate scores at most the cap; a silent reference's leakage is measured
    against a floor at the mixture's level (finite, and zero for a silent estimate); a louder
    error scores lower, a rescaled estimate too (the SNR is not scale-invariant)."""
    torch.manual_seed(0)
    refs = torch.randn(2, 3, 2, 4000, dtype=torch.float64)
    refs[:, 0] = 0
    perfect = thresholded_snr(refs, refs)
    assert float(perfect[:, 1:].max()) <= 30 and float(perfect[:, 1:].min()) > 20
    np.testing.assert_allclose(perfect[:, 0].numpy(), 0, atol=1e-9)
    noisy = refs + 0.1 * torch.randn_like(refs)
    assert torch.isfinite(thresholded_snr(noisy, refs)).all()
    assert (thresholded_snr(noisy, refs) < perfect).all()
    assert (thresholded_snr(0.5 * refs, refs)[:, 1:] < perfect[:, 1:]).all()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_maps_batch_channels_samples_to_sources(name):
    model = build(name, {}).eval()
    x = torch.randn(2, model.audio_channels, 9000)
    y = model(x)
    assert y.shape == (2, len(model.sources), model.audio_channels, 9000)
    if model.residual is not None:  # the sources add up to the mixture
        np.testing.assert_allclose(y.sum(1).detach().numpy(), x.numpy(), atol=1e-5)
    rebuilt = build(name, model.model_args())
    assert rebuilt.model_args() == model.model_args()
    assert {o.name for o in model.options()} <= set(model.model_args())


def test_mask_networks_keep_masks_in_range():
    spec_features = torch.rand(2, 1, 512, 64)
    for model in (build("unet", {"channels": [4, 8, 16]}), build("drnn", {"hidden": 16})):
        with torch.no_grad():
            mask = model.eval().mask(spec_features)
        assert mask.shape == spec_features.shape
        assert float(mask.min()) >= 0 and float(mask.max()) <= 1


def test_band_split_rnn_covers_every_bin_once_with_masks_in_range():
    from unweave.nn.models.bsrnn import band_bins

    bands = band_bins((0, 200, 400, 1000, 16000), 44100, 4096)
    assert bands[0][0] == 0 and bands[-1][1] == 2049
    assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(bands, bands[1:]))
    assert band_bins((100, 130, 1000), 8000, 64) == [(0, 1), (1, 8), (8, 33)]  # no empty band
    for inputs in ("magnitude", "complex"):
        torch.manual_seed(0)
        model = build("bsrnn", {"sources": ["vocals", "drums"], "edges": [0, 500, 2000],
                                "features": 8, "hidden": 8, "n_fft": 512, "hop": 128,
                                "inputs": inputs}).eval()
        spec = model.stft(torch.randn(2, 2, 4000))
        with torch.no_grad():
            masks = model.masks(spec)
        assert masks.shape == (2, 2, *spec.shape[1:])
        assert float(masks.min()) >= 0 and float(masks.max()) <= 1
        torch.manual_seed(0)
        again = build("bsrnn", model.model_args()).eval()
        with torch.no_grad():
            assert torch.equal(again.masks(spec), masks)  # the seed fixes the network


@pytest.mark.parametrize("block", [1, 7, 4096])
def test_causal_streaming_equals_the_offline_pass(block):
    torch.manual_seed(0)
    model = build("bandgru", {"hidden": 16, "layers": 1}).eval()
    audio = (0.1 * np.random.default_rng(3).standard_normal((2, 8000))).astype(np.float32)
    with torch.no_grad():
        offline = model(torch.from_numpy(audio)[:, None])[:, :, 0].transpose(0, 1).numpy()
    streamed = stream_offline(model, audio, block)
    assert streamed.shape == offline.shape
    np.testing.assert_allclose(streamed, offline, atol=1e-5)


def test_streamer_latency_and_refusals():
    model = build("bandgru", {"hidden": 8, "layers": 1}).eval()
    streamer = Streamer(model, channels=1)
    assert streamer.latency == 319  # a 20 ms window at 16 kHz, nothing looked ahead
    out = streamer.process(np.zeros((1, 160), np.float32))
    assert out.shape == (2, 1, 0)  # the first hop is not finished until the window is full
    from unweave.errors import UnweaveError

    with pytest.raises(UnweaveError, match="not causal"):
        Streamer(build("unet", {"channels": [4, 8]}))
    with pytest.raises(UnweaveError, match="channels"):
        streamer.process(np.zeros((2, 10), np.float32))


def test_apply_model_in_segments_matches_one_pass_and_fits_channels():
    """Segments stepped by a whole number of STFT hops see the frames the whole pass sees;
    they differ only near the seams (the network's context there is cut)."""
    torch.manual_seed(1)
    model = build("unet", {"channels": [4, 8]}).eval()
    audio = (0.1 * np.random.default_rng(4).standard_normal((2, 16000 * 5))).astype(np.float32)
    whole = apply_model(model, audio, segment_seconds=60)
    pieces = apply_model(model, audio, segment_seconds=2.048, overlap_seconds=0.512,
                         batch_size=3)
    assert whole.shape == pieces.shape == (2, 2, 16000 * 5)
    err = np.sum((whole - pieces) ** 2) / np.sum(whole**2)
    assert 10 * np.log10(1 / err) > 30
    mono = apply_model(model, audio[:1], segment_seconds=60)
    np.testing.assert_allclose(mono[:, 0], whole[:, 0], atol=1e-6)  # channels one by one
    # A silent segment gives zeros and is not run.
    audio[:, :32000] = 0
    assert not np.any(apply_model(model, audio, 2, 0.5)[:, :, :28000])


def test_average_of_checkpoints(tmp_path, capsys):
    from unweave.cli import main

    paths = []
    for seed in range(3):
        torch.manual_seed(seed)
        model = build("unet", {"channels": [4, 8]})
        paths.append(str(checkpoint.save(tmp_path / f"m{seed}.pt", checkpoint.make(
            model, "unet", {"command": f"run {seed}", "split": {"train": ["a"]}},
            {"optimizer": {}}))))
    out = tmp_path / "soup.pt"
    assert main(["average", *paths, "--out", str(out), "-q"]) == 0
    soup, ones = checkpoint.load(out), [checkpoint.load(p) for p in paths]
    for key, value in soup["state_dict"].items():
        expected = sum(o["state_dict"][key].double() for o in ones) / 3
        torch.testing.assert_close(value, expected.to(value.dtype) if value.is_floating_point()
                                   else ones[0]["state_dict"][key])
    records = soup["training"]["average_of"]
    assert [r["command"] for r in records] == ["run 0", "run 1", "run 2"]
    assert soup["training"]["split"] == {"train": ["a"]} and "resume" not in soup
    assert soup["training"]["command"].startswith("unweave average ")
    checkpoint.load_model(out)
    other = checkpoint.save(tmp_path / "other.pt", checkpoint.make(
        build("unet", {"channels": [4, 16]}), "unet", {}))
    capsys.readouterr()
    for argv, expected in (([*paths, "--out", str(out)], "exists"),
                           ([paths[0], "--out", str(tmp_path / "x.pt")], "at least two"),
                           ([paths[0], str(other), "--out", str(tmp_path / "x.pt")],
                            "cannot be averaged")):
        assert main(["average", *argv]) == 2
        err = capsys.readouterr().err
        assert expected in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.pt").exists()


def test_checkpoints_round_trip_and_format_1_is_upgraded(tmp_path):
    model = build("unet", {"channels": [4, 8]})
    path = checkpoint.save(tmp_path / "m.pt", checkpoint.make(model, "unet", {"epoch": 1},
                                                              {"optimizer": {}}))
    loaded, info = checkpoint.load_model(path)
    assert info["sources"] if "sources" in info else loaded.sources == model.sources
    assert "resume" in info and "resume" not in checkpoint.strip(info)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[k].numpy(), v.numpy())
    # A format-1 file: model args without sources, rate or front end; it loads as before.
    old = {"format": 1, "model_name": "unet", "model_args": {"channels": [4, 8]},
           "state_dict": model.state_dict(), "training": {"epoch": 3, "history": {
               "val_sdr": [1.0]}, "train_tracks": ["a"], "val_tracks": ["b"]}}
    torch.save(old, tmp_path / "old.pt")
    upgraded, info = checkpoint.load_model(tmp_path / "old.pt")
    assert upgraded.sources == ("vocals", "accompaniment") and upgraded.sample_rate == 16000
    assert info["recipe"] == "unet" and info["training"]["split"]["validation"] == ["b"]
    assert info["training"]["history"]["validation"] == [1.0]


@pytest.mark.parametrize("joint_mask", [True, False])
def test_drnn_as_the_paper_builds_it(joint_mask):
    """DRNN-2 of Huang et al.: ReLU layers, recurrence at the 2nd, 3 frames of context; with
    or without the joint mask layer; rebuilt from its model_args."""
    import torch

    from unweave.nn.models import build
    from unweave.nn.models.drnn import DRNN

    model = DRNN(hidden=16, layers=3, n_fft=256, hop=128, context=1, cell="relu",
                 recurrent=2, joint_mask=joint_mask)
    assert sum(isinstance(m, torch.nn.RNN) for m in model.stack) == 1
    x = torch.randn(2, 1, 4000)
    model.eval()  # (without the joint mask, the mask is clamped to [0, 1] outside training)
    masks = model.masks(model.stft(x))
    assert masks.shape[:3] == (2, 2, 1) and masks.min() >= 0 and masks.max() <= 1
    assert torch.allclose(masks.sum(1), torch.ones_like(masks.sum(1)))
    again = build("drnn", model.model_args()).eval()
    again.load_state_dict(model.state_dict())
    assert torch.equal(again(x), model(x))
    with pytest.raises(ValueError):
        DRNN(cell="relu", layers=2, recurrent=3)
