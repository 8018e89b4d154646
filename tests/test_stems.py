"""Four stems: a tiny random-weight model through every flag of `separate -m stems` (offline),
the Wiener post-filter, a short `train stems` run that lowers the loss on MUSDB-style folders
(train/ only, never test/), and the errors."""

import numpy as np
import pytest
import soundfile as sf

torch = pytest.importorskip("torch")

from unweave.cli import main  # noqa: E402
from unweave.masking import wiener  # noqa: E402
from unweave.methods import get_method  # noqa: E402
from unweave.nn import checkpoint  # noqa: E402
from unweave.nn.models import build  # noqa: E402

STEMS = ["vocals", "drums", "bass", "other"]


@pytest.fixture(scope="module")
def tiny_stems(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "stems.pt"
    torch.manual_seed(0)
    checkpoint.save(path, checkpoint.make(build("umx", {"hidden": 16, "layers": 1}), "stems",
                                          {}))
    return path


def _song(path, seconds=3.0, rate=44100, channels=2):
    rng = np.random.default_rng(1)
    sf.write(path, 0.1 * rng.standard_normal((int(seconds * rate), channels)), rate)
    return path


@pytest.fixture(scope="module")
def tiny_unet(tmp_path_factory):
    path = tmp_path_factory.mktemp("h") / "unet.pt"
    torch.manual_seed(0)
    checkpoint.save(path, checkpoint.make(build("unet", {"channels": [4, 8]}), "unet", {}))
    return path


@pytest.fixture(scope="module")
def tiny_vocals(tmp_path_factory):
    path = tmp_path_factory.mktemp("v") / "vocals.pt"
    torch.manual_seed(0)
    checkpoint.save(path, checkpoint.make(build("umx", {"sources": ["vocals"], "hidden": 8,
                                                        "layers": 1}), "stems-vocals", {}))
    return path


@pytest.fixture(scope="module")
def tiny_bsrnn(tmp_path_factory):
    path = tmp_path_factory.mktemp("b") / "bsrnn.pt"
    torch.manual_seed(0)
    checkpoint.save(path, checkpoint.make(build("bsrnn", {"features": 4, "hidden": 4,
                                                          "layers": 1}),
                                          "stems-vocals-bsrnn", {}))
    return path


def test_every_flag_with_a_tiny_model(tmp_path, tiny_stems, tiny_unet, tiny_vocals, tiny_bsrnn,
                                      capsys):
    song = _song(tmp_path / "song.wav")
    runs = {
        "default": [],
        "masks": ["--wiener-iterations", "0"],
        "wiener2": ["--wiener-iterations", "2", "--segment-seconds", "2", "--batch", "2"],
        "two": ["--two-stems", "vocals"],
        "twodrums": ["--two-stems", "drums", "--device", "cpu"],
        "nohelper": ["--helper", ""],
        "tinyhelper": ["--helper", str(tiny_unet), "--helper-weight", "0.3"],
        "twohelpers": ["--helper", f"{tiny_unet},{tiny_vocals}", "--helper-weight", "0.5,0.2"],
        "bandsplit": ["--helper", f"{tiny_unet},{tiny_vocals},{tiny_bsrnn}",
                      "--helper-weight", "0.5,0.2,0.2"],
    }
    for label, flags in runs.items():
        out = tmp_path / label
        assert main(["separate", str(song), "-m", "stems", "--model", str(tiny_stems), "-o",
                     str(out), "-q", *flags]) == 0, capsys.readouterr().err
        names = sorted(p.stem for p in (out / "song").iterdir())
        expected = {"two": ["no_vocals", "vocals"], "twodrums": ["drums", "no_drums"]}.get(
            label, sorted(STEMS))
        assert names == expected, label
        audio, rate = sf.read(out / "song" / f"{names[0]}.wav")
        assert rate == 44100 and audio.shape == (132300, 2)
    # Mono in, mono out; any rate.
    mono = _song(tmp_path / "mono.wav", rate=22050, channels=1)
    assert main(["separate", str(mono), "-m", "stems", "--model", str(tiny_stems), "-o",
                 str(tmp_path / "m"), "-q"]) == 0
    audio, rate = sf.read(tmp_path / "m" / "mono" / "bass.wav")
    assert rate == 22050 and audio.shape == (66150,)


def test_stems_errors_are_one_line(tmp_path, tiny_stems, tiny_unet, capsys):
    song = _song(tmp_path / "song.wav", seconds=1)
    cases = [
        (["--model", str(tiny_unet)], "trained by 'unweave train unet', not one for 'stems'"),
        (["--model", str(tiny_stems), "--helper", "enhance"], "shares no source with the model"),
        (["--model", str(tiny_stems), "--helper", str(tmp_path / "no.pt")],
         "not a bundled model (unet, stems_vocals, drnn) nor a checkpoint file"),
        (["--model", str(tiny_stems), "--helper-weight", "1.5,0.3"], "helper_weight must be in"),
        (["--model", str(tiny_stems), "--helper-weight", "0.5"], "one weight per helper (2: "),
        (["--model", str(tiny_stems), "--helper-weight", "a,b"], "must be numbers in [0, 1]"),
        (["--model", str(tiny_stems), "--two-stems", "piano"], "two_stems must be one of"),
        (["--model", str(tiny_stems), "--wiener-iterations", "-1"], "wiener_iterations"),
        (["--model", str(tmp_path / "none.pt")], "no such model file"),
    ]
    for flags, expected in cases:
        assert main(["separate", str(song), "-m", "stems", "-o", str(tmp_path / "o"),
                     *flags]) == 2
        err = capsys.readouterr().err
        assert expected in err and len(err.strip().splitlines()) == 1, (flags, err)


def test_blended_masks_take_the_helpers_share_and_stay_within_the_mixture():
    """Blending moves the shared source's mask toward the helper's ratio on the low bins only,
    scales the others down only where all would sum above one, and keeps the sum <= 1."""
    from unweave.nn.blend import blend_masks

    rng = np.random.default_rng(0)
    masks = torch.from_numpy(rng.dirichlet(np.ones(5), (2, 2, 30, 7)).astype(np.float32))
    masks = masks.permute(0, 4, 1, 2, 3)[:, :4]  # (B, 4, C, F, T), summing below one
    ratios = torch.from_numpy(rng.uniform(0, 1, (2, 1, 2, 10, 7)).astype(np.float32))
    out = blend_masks(masks, ratios, [0], 0.6)
    assert torch.allclose(out[:, 0, :, :10], 0.4 * masks[:, 0, :, :10] + 0.6 * ratios[:, 0])
    assert torch.equal(out[..., 10:, :], masks[..., 10:, :])
    assert float(out.sum(dim=1).max()) <= 1 + 1e-6
    fits = (0.4 * masks[:, 0, :, :10] + 0.6 * ratios[:, 0] + masks[:, 1:, :, :10].sum(1)) <= 1
    assert torch.equal(out[:, 1:, :, :10][fits[:, None].expand(-1, 3, -1, -1, -1)],
                       masks[:, 1:, :, :10][fits[:, None].expand(-1, 3, -1, -1, -1)])
    assert torch.equal(blend_masks(masks, ratios, [0], 0.0), masks)


def test_a_helper_that_hears_only_vocals_takes_the_band_it_hears():
    """A helper at a lower rate whose vocals are the whole mixture, at weight 1: below 15/16
    of its Nyquist frequency the vocals' mask is one and the others' zero; above, the
    model's own masks."""
    from unweave.nn.blend import Blended

    torch.manual_seed(0)
    model = build("mtunet", {"channels": (4, 8), "n_fft": 512, "hop": 128,
                             "sample_rate": 16000}).eval()
    helper = build("unet", {"channels": [4, 8], "sample_rate": 8000}).eval()
    helper.forward = lambda x: torch.stack([x, torch.zeros_like(x)], dim=1)
    mixture = torch.randn(1, 2, 16000)
    spec = model.stft(mixture)
    with torch.no_grad():
        own = model.masks_for(mixture, spec)
        masks = Blended(model, helper, 1.0).masks_for(mixture, spec)
    band = int(15 / 16 * 4000 / 8000 * 256) + 1
    assert float(masks[:, 0, :, 4:band - 4, 5:-5].mean()) > 0.97
    assert float(masks[:, 1:, :, 4:band - 4, 5:-5].max()) < 0.05
    assert torch.equal(masks[..., band:, :], own[..., band:, :])


def test_a_helper_on_the_models_own_grid_gives_its_masks(tiny_stems, tiny_vocals):
    """A helper at the model's rate and STFT is blended by its masks, over the whole band, with
    no round trip through waveforms; the round trip gives nearly the same ratios."""
    from unweave.nn.blend import Blended

    model, helper = (checkpoint.load_model(p)[0].eval() for p in (tiny_stems, tiny_vocals))
    blend = Blended(model, helper, 0.5)
    assert blend.direct and blend.bins == model.stft.freqs and blend.shared == ["vocals"]
    mixture = torch.randn(1, 2, 44100)
    spec = model.stft(mixture)
    with torch.no_grad():
        ratios = blend.helper_ratios(mixture, spec)
        torch.testing.assert_close(ratios, helper.masks(spec)[:, :1])
        blend.direct = False
        trip = blend.helper_ratios(mixture, spec)
    assert float((trip - ratios)[..., 4:-4].abs().mean()) < 0.05


def test_wiener_filter_refines_masks_toward_the_sources():
    """Sources each panned by a fixed gain per channel, rough magnitude estimates (the true
    ones, smeared): the spatial model of the EM passes moves the estimates toward the true
    images, above the soft masks they start from; blocked and whole filtering agree; the
    images add up to the mixture; one, two and three channels."""
    rng = np.random.default_rng(0)
    for channels in (1, 2, 3):
        signals = (rng.standard_normal((3, 65, 200)) + 1j * rng.standard_normal((3, 65, 200))
                   ) * rng.uniform(0.1, 1, (3, 65, 1))
        panning = rng.uniform(0.2, 1.0, (3, channels, 1, 1))
        images = panning * signals[:, None]
        mixture = images.sum(0)
        rough = np.abs(images) * rng.uniform(0.5, 1.5, (3, 1, 65, 200))
        masks_only = rough**2 / np.sum(rough**2, axis=0) * mixture

        def sdr(est, images=images):
            return 10 * np.log10(np.sum(np.abs(images) ** 2) / np.sum(np.abs(images - est) ** 2))

        one, two = wiener(rough, mixture, iterations=1), wiener(rough, mixture, iterations=2)
        if channels > 1:
            assert sdr(one) > sdr(masks_only) + 1, (channels, sdr(one), sdr(masks_only))
            assert sdr(two) > sdr(one), (channels, sdr(two), sdr(one))
        np.testing.assert_allclose(wiener(rough, mixture, 2, block_frames=17), two, atol=1e-10)
        np.testing.assert_allclose(one.sum(0), mixture, atol=1e-6)


def test_wiener_passes_take_the_masks_as_power_ratios():
    """The network's amplitude masks enter the filter as ``sqrt(mask) * x``, and each later
    pass re-enters the last output the same way: on one channel there is no spatial model to
    refine, so any number of passes gives back the masks' own output when they sum to one
    (entering as ``mask * x`` would square them, toward a binary mask)."""
    from unweave.nn.postfilter import WienerFiltered

    torch.manual_seed(0)
    model = build("mtunet", {"channels": (4, 8), "n_fft": 256, "hop": 64,
                             "audio_channels": 1}).eval()
    mixture = torch.randn(1, 1, 4000)
    spec = model.stft(mixture)
    masks = torch.softmax(3 * torch.randn(1, 4, *spec.shape[1:]), dim=1)
    model.masks = lambda _: masks
    with torch.no_grad():
        filtered = WienerFiltered(model, 1)(mixture)
        later = [WienerFiltered(model, k)(mixture) for k in (2, 3)]
        expected = model.stft.inverse(spec[:, None] * masks, mixture.shape[-1])
        squared = model.stft.inverse(spec[:, None] * masks**2 / (masks**2).sum(1, keepdim=True),
                                     mixture.shape[-1])
    for output in (filtered, *later):
        np.testing.assert_allclose(output.numpy(), expected.numpy(), atol=1e-4)
    assert float((filtered - squared).abs().max()) > 1e-2


def test_wiener_in_torch_equals_numpy_and_carries_gradients():
    """Training through the filter: the torch passes (whole segments, batched) give the NumPy
    filter's output on one and two channels, and the loss's gradient reaches the weights."""
    from unweave.nn.postfilter import WienerFiltered

    for channels in (1, 2):
        torch.manual_seed(channels)
        model = build("mtunet", {"channels": (4, 8), "n_fft": 256, "hop": 64,
                                 "audio_channels": channels}).eval()  # no dropout
        filtered = WienerFiltered(model, 2)
        mixture = torch.randn(2, channels, 3000)
        with torch.no_grad():
            numpy_out = filtered(mixture)
        torch_out = filtered(mixture)
        np.testing.assert_allclose(torch_out.detach().numpy(), numpy_out.numpy(), atol=1e-4)
        torch_out.abs().mean().backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0


def test_training_through_the_wiener_filter(tmp_path, capsys):
    data = _musdb_like(tmp_path / "musdb", tracks=3)
    out = tmp_path / "w.pt"
    assert main(["train", "stems", "--data", str(data), "--epochs", "2", "--steps", "4",
                 "--batch", "2", "--segment", "1", "--channels", "8,16", "--n-fft", "1024",
                 "--hop", "256", "--lr", "3e-3", "--validation", "0.34", "--loss", "l1",
                 "--wiener-iterations", "1", "-q", "--out", str(out)]) == 0, \
        capsys.readouterr().err
    info = checkpoint.load(out)
    assert info["model_name"] == "mtunet" and info["training"]["wiener_iterations"] == 1
    assert np.isfinite(info["training"]["history"]["validation"]).all()
    for extra, expected in [(["--wiener-iterations", "1"], "takes a waveform loss"),
                            (["--loss", "l1", "--wiener-iterations", "11"], "between 0 and 10")]:
        assert main(["train", "stems", "--data", str(data), *extra,
                     "--out", str(tmp_path / "m.pt")]) == 2
        err = capsys.readouterr().err
        assert expected in err and len(err.strip().splitlines()) == 1, err


def test_mask_powers_widen_a_source_and_travel_in_the_checkpoint(tmp_path):
    """A power below 1 gives a source more of each bin (before the cap), the powers rebuild
    from the checkpoint, and a wrong count is refused."""
    torch.manual_seed(0)
    args = {"channels": (4, 8), "n_fft": 256, "hop": 64}
    plain = build("mtunet", args).eval()
    wide = build("mtunet", {**args, "mask_powers": (0.5, 1.0, 1.0, 1.0)}).eval()
    wide.load_state_dict(plain.state_dict())
    spec = plain.stft(torch.randn(1, 2, 8000))
    with torch.no_grad():
        m0, m1 = plain.masks(spec), wide.masks(spec)
    assert float((m1[:, 0] - m0[:, 0]).min()) >= -1e-6 and float((m1 - m0)[:, 0].mean()) > 0
    assert float(m1.sum(dim=1).max()) <= 1 + 1e-5
    path = checkpoint.save(tmp_path / "w.pt", checkpoint.make(wide, "stems", {}))
    assert checkpoint.model_from(checkpoint.load(path)).mask_powers == (0.5, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="one positive number per source"):
        build("mtunet", {**args, "mask_powers": (0.5, 1.0)})


def test_ensemble_averages_its_members_masks_and_stores_half_weights(tmp_path, capsys):
    """`unweave ensemble` joins checkpoints (one of them already an ensemble) into one model
    whose sigmoid masks are the members' mean; --half halves the file; another model's
    settings are refused in one line."""
    from unweave.cli import main

    args = {"channels": (4, 8), "n_fft": 256, "hop": 64}
    nets = []
    for seed in range(3):
        torch.manual_seed(seed)
        nets.append(build("mtunet", args).eval())
    paths = [checkpoint.save(tmp_path / f"m{i}.pt", checkpoint.make(n, "stems", {}))
             for i, n in enumerate(nets)]
    pair = tmp_path / "pair.pt"
    assert main(["ensemble", str(paths[0]), str(paths[1]), "--out", str(pair), "-q"]) == 0
    out = tmp_path / "three.pt"
    assert main(["ensemble", str(pair), str(paths[2]), "--out", str(out), "--half",
                 "-q"]) == 0
    model = checkpoint.model_from(checkpoint.load(out))
    assert model.members == 3 and model.mask_powers == ()
    assert out.stat().st_size < 0.75 * 3 * paths[0].stat().st_size
    x = torch.log1p(torch.rand(1, 2, model.max_bin, 20))
    with torch.no_grad():
        mean = sum(torch.sigmoid(n.trunk(x)) for n in nets) / 3
        joined = (torch.sigmoid(model.trunk(x)) + sum(torch.sigmoid(t(x))
                                                      for t in model.more_trunks)) / 3
    assert float((joined - mean).abs().max()) < 2e-3  # float16 weights
    spec = model.stft(torch.randn(1, 2, 4000))
    with torch.no_grad():
        assert float(model.masks(spec).sum(dim=1).max()) <= 1 + 1e-5
    picked = tmp_path / "picked.pt"  # specialists: drums from member 2, vocals the mean
    assert main(["ensemble", *map(str, paths), "--source-members=-1,2,0,1", "--out",
                 str(picked), "-q"]) == 0
    chooser = checkpoint.model_from(checkpoint.load(picked))
    bins = chooser.max_bin
    with torch.no_grad():
        feats = torch.log1p(spec[..., :bins, :].abs())
        raw = [torch.sigmoid(n.trunk(feats)).reshape(1, 4, 2, bins, -1) for n in nets]
        want = torch.stack([sum(raw) / 3, raw[2], raw[0], raw[1]])[[0, 1, 2, 3], :, [0, 1, 2, 3]]
        want = want.transpose(0, 1)
        want = want / want.sum(dim=1, keepdim=True).clamp(min=1.0)
        got = chooser.masks(spec)[..., :bins, :]
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert main(["ensemble", *map(str, paths), "--source-members", "0,3,0,0", "--out",
                 str(tmp_path / "bad.pt")]) == 2
    older = checkpoint.load(paths[0])  # saved before 'members' existed: still fits
    del older["model_args"]["members"]
    assert checkpoint.mismatch(older, nets[0]) is None
    assert checkpoint.mismatch(older, model) is not None
    other = build("mtunet", {**args, "channels": (4, 4)})
    odd = checkpoint.save(tmp_path / "odd.pt", checkpoint.make(other, "stems", {}))
    capsys.readouterr()
    assert main(["ensemble", str(paths[0]), str(odd), "--out", str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot join an ensemble" in err and len(err.splitlines()) == 1


def test_mixture_gain_oracle_is_the_least_squares_scaling():
    rng = np.random.default_rng(3)
    refs = {"a": rng.standard_normal((2, 4000)), "b": 0.3 * rng.standard_normal((2, 4000))}
    mixture = (refs["a"] + refs["b"]).astype(np.float32)
    out = get_method("mixture-gain")()(mixture, 8000, references=refs)
    for name, ref in refs.items():
        gain = np.sum(out[name] * mixture) / np.sum(mixture**2)
        best = np.sum(ref * mixture) / np.sum(mixture**2)
        assert gain == pytest.approx(best, rel=1e-5)


def _musdb_like(folder, tracks=4, seconds=3.0, rate=22050):
    """train/<track>/{vocals,drums,bass,other,mixture}.wav (structured, so a network can learn)
    and a test/ track that must never be read."""
    t = np.arange(int(seconds * rate)) / rate
    for part, n in (("train", tracks), ("test", 1)):
        for i in range(n):
            d = folder / part / f"{part} track {i}"
            d.mkdir(parents=True)
            rng = np.random.default_rng(i)
            stems = {"vocals": 0.3 * np.sin(2 * np.pi * (300 + 30 * i) * t),
                     "bass": 0.3 * np.sin(2 * np.pi * (55 + 5 * i) * t),
                     "drums": 0.3 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 4 * t)
                                                                   > 0.9),
                     "other": 0.05 * rng.standard_normal(t.size)}
            for name, x in stems.items():
                sf.write(d / f"{name}.wav", np.stack([x, 0.8 * x], 1), rate, subtype="FLOAT")
            sf.write(d / "mixture.wav", sum(np.stack([x, 0.8 * x], 1) for x in stems.values()),
                     rate, subtype="FLOAT")
    return folder


def test_short_training_lowers_the_loss_and_reads_train_only(tmp_path, capsys):
    data = _musdb_like(tmp_path / "musdb")
    out = tmp_path / "stems.pt"
    assert main(["train", "stems", "--data", str(data), "--epochs", "3", "--steps", "8",
                 "--batch", "4", "--segment", "1", "--channels", "8,16,32",
                 "--n-fft", "1024", "--hop", "256", "--lr", "3e-3", "--validation", "0.25",
                 "--stem-speed", "0.1", "-q", "--out", str(out)]) == 0, capsys.readouterr().err
    info = checkpoint.load(out)
    history, split = info["training"]["history"], info["training"]["split"]
    assert history["loss"][-1] < history["loss"][0]
    assert not any(name.startswith("test") for name in split["train"] + split["validation"])
    assert info["training"]["data"] == [str(data / "train")]
    assert info["model_args"]["sources"] == STEMS and info["recipe"] == "stems"
    assert info["training"]["examples"]["stem_speed"] == 0.1
    assert main(["separate", str(data / "train" / "train track 0" / "mixture.wav"), "-m",
                 "stems", "--model", str(out), "-o", str(tmp_path / "sep"), "-q"]) == 0


def test_a_vocals_helper_trains_on_full_mixtures_and_serves_as_a_helper(tmp_path, capsys):
    """`train stems-vocals`: one target (vocals) heard in the mixture of all four stems, scored
    on it; the checkpoint then serves as a stems helper."""
    data = _musdb_like(tmp_path / "musdb")
    out = tmp_path / "vocals.pt"
    assert main(["train", "stems-vocals", "--data", str(data), "--epochs", "2", "--steps", "4",
                 "--batch", "2", "--segment", "1", "--hidden", "8", "--layers", "1",
                 "--validation", "0.25", "-q", "--out", str(out)]) == 0, \
        capsys.readouterr().err
    info = checkpoint.load(out)
    assert info["model_args"]["sources"] == ["vocals"] and info["recipe"] == "stems-vocals"
    # Scored against the whole mixture: a model of the vocals alone would score far higher.
    assert max(info["training"]["history"]["validation"]) < 15
    assert main(["separate", str(data / "train" / "train track 0" / "mixture.wav"), "-m",
                 "stems", "--helper", str(out), "-o", str(tmp_path / "sep"), "-q"]) == 0, \
        capsys.readouterr().err
    # --train-valid: a final model trains on the held-out tracks too, and says so.
    final = tmp_path / "final.pt"
    assert main(["train", "stems-vocals", "--data", str(data), "--epochs", "1", "--steps", "2",
                 "--batch", "2", "--segment", "1", "--hidden", "8", "--layers", "1",
                 "--validation", "0.25", "--train-valid", "-q", "--out", str(final)]) == 0
    split = checkpoint.load(final)["training"]["split"]
    assert split["validation_trained"] and set(split["validation"]) <= set(split["train"])
    assert len(split["train"]) == 4 and not any(n.startswith("test") for n in split["train"])


def test_a_band_split_vocals_helper_trains_and_records_its_bands(tmp_path, capsys):
    data = _musdb_like(tmp_path / "musdb", tracks=3)
    out = tmp_path / "bs.pt"
    assert main(["train", "stems-vocals-bsrnn", "--data", str(data), "--epochs", "1", "--steps",
                 "2", "--batch", "2", "--segment", "1", "--features", "4", "--hidden", "4",
                 "--layers", "1", "--edges", "0,1000,4000", "--validation", "0.34", "-q",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    info = checkpoint.load(out)
    assert info["model_name"] == "bsrnn" and info["model_args"]["edges"] == [0, 1000, 4000]
    assert np.isfinite(info["training"]["history"]["validation"][-1])


def test_loss_option_trains_on_waveforms_and_refuses_what_cannot_be(tmp_path, capsys):
    data = _musdb_like(tmp_path / "musdb", tracks=3)
    out = tmp_path / "l1.pt"
    assert main(["train", "stems", "--data", str(data), "--epochs", "2", "--steps", "6",
                 "--batch", "4", "--segment", "1", "--channels", "8,16,32", "--n-fft", "1024",
                 "--hop", "256", "--lr", "3e-3", "--validation", "0.34", "--loss", "l1", "-q",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    info = checkpoint.load(out)["training"]
    assert info["loss"] == "l1" and info["history"]["loss"][-1] < info["history"]["loss"][0]
    cases = [(["stems", "--data", str(data), "--loss", "nope"], "--loss nope: unknown"),
             (["talkers", "--speech", str(tmp_path), "--loss", "magnitude_l1"],
              "'convtasnet' gives no masked magnitudes")]
    for argv, expected in cases:
        assert main(["train", *argv, "--out", str(tmp_path / "m.pt")]) == 2
        err = capsys.readouterr().err
        assert expected in err and len(err.strip().splitlines()) == 1, err


def test_speeds_per_source_and_their_bounds(tmp_path, capsys):
    from unweave.nn.train.recipes import MusicData, _speeds

    options = MusicData(["x"], vocal_speed=0.15, stem_speed=0.1)
    assert _speeds(STEMS, options) == {"vocals": 0.15, "drums": 0.1, "bass": 0.1, "other": 0.1}
    assert main(["train", "stems", "--data", str(tmp_path), "--stem-speed", "0.6", "--out",
                 str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err
    assert "--stem-speed must be in [0, 0.5)" in err and len(err.strip().splitlines()) == 1


def test_a_folder_without_stems_is_one_line(tmp_path, capsys):
    folder = tmp_path / "pairs"
    folder.mkdir()
    sf.write(folder / "singer_1.wav", np.zeros((16000, 2)), 16000)
    assert main(["train", "stems", "--data", str(folder), "--out", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err
    assert "no track has the sources vocals, drums, bass, other" in err
    assert len(err.strip().splitlines()) == 1


def test_report_shows_the_four_stems(tmp_path, tiny_stems, capsys):
    song = _song(tmp_path / "song.wav", seconds=2)
    out = tmp_path / "out"
    assert main(["separate", str(song), "-m", "stems", "--model", str(tiny_stems), "-o",
                 str(out), "-q"]) == 0
    assert main(["report", str(out)]) == 0
    page = (out / "report" / "song.html").read_text()
    for stem in STEMS:
        assert f"{stem}.wav" in page


def test_demo_has_a_four_stem_section_when_the_model_is_bundled(tmp_path, capsys):
    from conftest import DATA

    from unweave.methods.neural import bundled_path

    if not bundled_path("stems").exists() or not (DATA / "musdb18_7s_80s_rock_museval").is_dir():
        pytest.skip("no bundled stems model or no shared MUSDB excerpt")
    assert main(["demo", "--out", str(tmp_path / "demo"), "--data", str(DATA), "-q"]) == 0
    page = (tmp_path / "demo" / "index.html").read_text()
    assert "Four stems of a song: the bundled network" in page
    assert all((tmp_path / "demo" / "stems_4stems" / f"{s}.wav").exists() for s in STEMS)
