"""Talkers from one microphone: PIT losses ignore the references' order, chunks of a long
recording keep each talker on one output (in memory, block-wise files and inside the network's
segments), a tiny random model through every flag, short training runs of both networks, and
`evaluate --permutation` with SI-SDR improvement."""

import numpy as np
import pytest
import soundfile as sf

torch = pytest.importorskip("torch")

from unweave.blocks import open_blocks  # noqa: E402
from unweave.blockwise import separate_blockwise  # noqa: E402
from unweave.cli import main  # noqa: E402
from unweave.methods.base import Separation  # noqa: E402
from unweave.methods.chunking import separate_in_chunks  # noqa: E402
from unweave.nn import checkpoint  # noqa: E402
from unweave.nn.apply import apply_model  # noqa: E402
from unweave.nn.losses import MAGNITUDE_LOSSES, PAIRWISE_PARTS  # noqa: E402
from unweave.nn.models import build  # noqa: E402
from unweave.nn.pit import PIT  # noqa: E402

RATE = 8000


def alternating_talkers(seconds=24, rate=RATE, seed=0):
    """Two synthetic talkers taking turns (3 s each) with 1 s of overlap at each turn."""
    rng = np.random.default_rng(seed)
    t = np.arange(seconds * rate) / rate
    voices = []
    for f0, phase in ((130.0, 0.0), (210.0, np.pi)):
        v = sum(np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 6)) / h for h in range(1, 8))
        turn = np.clip(1.5 * np.sin(2 * np.pi * t / 6 + phase) + 0.5, 0, 1)
        voices.append(0.1 * v * turn)
    return np.stack(voices)[:, None].astype(np.float32)  # (2, 1, T)


class ShuffledOracle:
    """Gives the true talkers of each chunk, in a random order each time (as a PIT network
    may): only chunk matching can keep them on one output each."""

    ordered_sources = False

    def __init__(self):
        self.rng = np.random.default_rng(1)

    def __call__(self, piece, rate, references=None):
        names = list(references)
        order = self.rng.permutation(len(names))
        return Separation({names[k]: references[names[j]] for k, j in enumerate(order)}, rate)


def test_pit_losses_ignore_the_order_of_the_references():
    torch.manual_seed(0)
    est, refs = torch.rand(3, 2, 1, 65, 20), torch.rand(3, 2, 1, 65, 20)
    pit = PIT(PAIRWISE_PARTS["magnitude_discriminative"],
              total=MAGNITUDE_LOSSES["magnitude_discriminative"])
    a, _ = pit(est, refs)
    b, _ = pit(est, refs.flip(1))
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_chunks_keep_each_talker_on_one_output():
    talkers = alternating_talkers()
    mixture = talkers.sum(0)
    refs = {"a": talkers[0], "b": talkers[1]}
    out = separate_in_chunks(ShuffledOracle(), mixture, RATE, chunk_seconds=2.0,
                             overlap_seconds=0.5, references=refs)
    assert out.info["chunks"] > 10
    for name in refs:
        np.testing.assert_allclose(out[name], refs[name], atol=1e-5)


def test_block_wise_files_keep_each_talker_on_one_output(tmp_path):
    talkers = alternating_talkers()
    path = tmp_path / "talk.wav"
    sf.write(path, talkers.sum(0).T, RATE, subtype="FLOAT")
    oracle = ShuffledOracle()
    position = {"start": 0}
    chunk = int(2.0 * RATE)

    def separator(piece, rate):  # a separator that finds its chunk's true talkers
        start = position["start"]
        position["start"] += chunk - int(0.5 * RATE)
        refs = {"a": talkers[0][:, start: start + piece.shape[1]],
                "b": talkers[1][:, start: start + piece.shape[1]]}
        return oracle(piece, rate, references=refs)

    separator.ordered_sources = False
    with open_blocks(path) as blocks:
        files = separate_blockwise(separator, blocks, path, tmp_path / "out", "wav", 32, 2.0,
                                   0.5, False, lambda names: names)
    for f, truth in zip(sorted(files), talkers):
        np.testing.assert_allclose(sf.read(f)[0], truth[0], atol=1e-5)


def test_network_segments_are_matched_to_each_other():
    """A 'network' that swaps its outputs in every other segment: apply_model puts them back."""

    class Swapper(torch.nn.Module):
        sources, sample_rate, audio_channels = ("t1", "t2"), RATE, 1
        permutation_invariant = True

        def __init__(self, talkers):
            super().__init__()
            self.talkers, self.calls = talkers, 0

        def forward(self, x):
            out = []
            for seg in x:  # segments come in order, every 1.5 s (2 s with 0.5 s overlap)
                start = self.calls * int(1.5 * RATE)
                t = self.talkers[:, :, start: start + seg.shape[-1]]
                self.calls += 1
                out.append(t[::-1].copy() if self.calls % 2 else t)
            return torch.from_numpy(np.stack(out))

    talkers = alternating_talkers(seconds=12)
    est = apply_model(Swapper(talkers), talkers.sum(0), segment_seconds=2.0,
                      overlap_seconds=0.5, batch_size=1)
    first = 0 if np.dot(est[0, 0, :RATE], talkers[0, 0, :RATE]) > 0 else 1
    np.testing.assert_allclose(est[first], talkers[0], atol=1e-4)
    np.testing.assert_allclose(est[1 - first], talkers[1], atol=1e-4)


def turns_with_pauses(periods=6, rate=RATE, seed=0):
    """Two synthetic voices (different pitch and timbre) taking 3 s turns with 1 s pauses;
    every 7.5 s period ends in a pause, where the chunks below overlap: nothing to match."""
    rng = np.random.default_rng(seed)
    n = int(periods * 7.5 * rate)
    t = np.arange(n) / rate
    voices = np.zeros((2, 1, n), np.float32)
    for k, (f0, tilt) in enumerate(((120.0, 1.0), (230.0, 0.4))):
        v = sum(np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 6)) * tilt ** h
                for h in range(1, 12))
        for p in range(periods):
            a = int((p * 7.5 + 0.75 + 3.5 * k) * rate)
            voices[k, 0, a : a + 3 * rate] = 0.1 * v[a : a + 3 * rate]
    return voices


def test_voices_keep_talkers_apart_across_pauses():
    """Chunks that meet in a pause: the overlap says nothing, the talkers' voice profiles
    (chunks.Voices) decide, in the in-memory engine and inside a network's segments."""
    talkers = turns_with_pauses()
    refs = {"a": talkers[0], "b": talkers[1]}
    out = separate_in_chunks(ShuffledOracle(), talkers.sum(0), RATE, chunk_seconds=8.0,
                             overlap_seconds=0.5, references=refs)
    for name in refs:
        np.testing.assert_allclose(out[name], refs[name], atol=1e-5)

    class Shuffler(torch.nn.Module):  # the true talkers of each segment, in a random order
        sources, sample_rate, audio_channels = ("t1", "t2"), RATE, 1
        permutation_invariant = True

        def __init__(self):
            super().__init__()
            self.calls, self.rng = 0, np.random.default_rng(3)

        def forward(self, x):
            start = self.calls * int(7.5 * RATE)
            self.calls += 1
            t = talkers[:, :, start: start + x.shape[-1]]
            return torch.from_numpy(t[self.rng.permutation(2)].copy()[None])

    est = apply_model(Shuffler(), talkers.sum(0), segment_seconds=8.0, overlap_seconds=0.5,
                      batch_size=1)
    first = 0 if np.dot(est[0, 0], talkers[0, 0]) > np.dot(est[1, 0], talkers[0, 0]) else 1
    np.testing.assert_allclose(est[first], talkers[0], atol=1e-4)
    np.testing.assert_allclose(est[1 - first], talkers[1], atol=1e-4)


def test_tracing_puts_back_a_talker_moved_in_the_middle_of_a_turn():
    """A separator that moves a talker to the other output in the middle of a turn (no
    pause: chunk matching cannot see it) and that swaps a whole turn after a pause: tracing
    puts both back; talkers who speak at once all the time are left as they are."""
    from unweave.tracing import trace_talkers

    talkers = turns_with_pauses()  # (2, 1, T): turns of 3 s, a turn of talker 0 at 0.75 s
    moved = talkers.copy()
    for a, b in ((1.9, 3.75), (4.25, 7.25), (9.0, 9.6)):  # mid-turn; a whole turn; mid-turn
        moved[:, :, int(a * RATE) : int(b * RATE)] = talkers[::-1, :, int(a * RATE) : int(b * RATE)]
    traced = trace_talkers(moved, RATE)
    for k in range(2):
        right = float(np.sum(traced[k] * talkers[k]))
        assert right > 0.97 * float(np.sum(talkers[k] ** 2))
    t = np.arange(12 * RATE) / RATE
    both = np.stack([sum(np.sin(2 * np.pi * h * f0 * t) * tilt**h for h in range(1, 12))
                     for f0, tilt in ((120.0, 1.0), (230.0, 0.4))])[:, None]
    np.testing.assert_array_equal(trace_talkers(both, RATE), both)


@pytest.fixture(scope="module")
def tiny_talkers(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "talkers.pt"
    torch.manual_seed(0)
    model = build("convtasnet", {"filters": 16, "bottleneck": 8, "hidden": 16, "skip": 8,
                                 "blocks": 2, "repeats": 1, "kernel": 32})
    checkpoint.save(path, checkpoint.make(model, "talkers", {}))
    return path


def test_every_flag_with_a_tiny_model(tmp_path, tiny_talkers, capsys):
    talkers = alternating_talkers(seconds=6, rate=16000)
    song = tmp_path / "talk.wav"
    stereo = np.concatenate([talkers.sum(0), 0.8 * talkers.sum(0)])
    sf.write(song, stereo.T, 16000, subtype="FLOAT")
    for flags in ([], ["--no-mid"], ["--no-trace"], ["--sources", "2", "--segment-seconds", "2"],
                  ["--device", "cpu", "--batch", "2"], ["--passes", "1"], ["--passes", "4"],
                  ["--no-full-band", "--no-remask"]):
        out = tmp_path / ("o" + "".join(flags))
        assert main(["separate", str(song), "-m", "talkers", "--model", str(tiny_talkers),
                     "-o", str(out), "-q", *flags]) == 0, capsys.readouterr().err
        names = sorted(p.name for p in (out / "talk").iterdir())
        assert names == ["talker_1.wav", "talker_2.wav"]
        audio, rate = sf.read(out / "talk" / "talker_1.wav")
        assert rate == 16000 and audio.shape == (96000, 2)
    capsys.readouterr()
    assert main(["separate", str(song), "-m", "talkers", "--model", str(tiny_talkers), "-o",
                 str(tmp_path / "x"), "--sources", "3"]) == 2
    err = capsys.readouterr().err
    assert "separates 2 talkers, not 3" in err and len(err.strip().splitlines()) == 1
    assert main(["separate", str(song), "-m", "talkers", "--model", str(tiny_talkers), "-o",
                 str(tmp_path / "y"), "--passes", "5"]) == 2
    err = capsys.readouterr().err
    assert "passes" in err and len(err.strip().splitlines()) == 1


class _Swapping(torch.nn.Module):
    """Two 'talkers' (the input's positive and negative halves): for the input, in one order
    over the first 2 s and the other order after; for the negated input, in the first order
    throughout."""

    name, sources, sample_rate, audio_channels, residual = "swap", ("a", "b"), 1000, 1, None
    permutation_invariant, stride = True, 4

    def forward(self, x):
        pos, neg = x.clamp(min=0), x.clamp(max=0)
        out = torch.stack([pos, neg], dim=1)
        if float(x[..., :50].sum()) < 0:  # the negated pass: the other order throughout
            return out.flip(1)
        out[..., 2000:] = out[..., 2000:].flip(1)
        return out


def test_averaged_passes_align_each_pass_to_the_first_block_by_block():
    """Passes of a permutation-invariant model are put in the first pass's order before the
    mean, per 2 s block; one pass is the model itself."""
    from unweave.nn.tta import Averaged, pass_plan

    assert pass_plan(4, 16) == [(0, 1), (8, 1), (0, -1), (8, -1)]
    x = torch.sin(torch.arange(4000.0) / 100)[None, None] + 0.01
    model = _Swapping()
    np.testing.assert_allclose(Averaged(model, 1)(x), model(x))
    first = model(x)
    third = Averaged(model, 3)(x)
    # Pass 2 (delayed) matches pass 1 as it is; the negated pass is reordered in every block.
    assert float((third - first).abs().mean()) < 0.005  # but where the delayed pass swaps
    with pytest.raises(ValueError, match="passes must be"):
        Averaged(model, 0)


def _speakers(tmp_path, n=4):
    t = np.arange(RATE * 2) / RATE
    for s in range(n):
        d = tmp_path / "speech" / f"spk{s}"
        d.mkdir(parents=True)
        for u in range(2):
            f0 = 100 + 40 * s + 7 * u
            v = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 6))
            sf.write(d / f"u{u}.wav", 0.1 * v * (np.sin(2 * np.pi * 1.5 * t + u) > -0.3), RATE)
    return tmp_path / "speech"


@pytest.mark.parametrize("recipe, flags", [
    ("talkers", ["--filters", "32", "--bottleneck", "16", "--hidden", "32", "--skip", "16",
                 "--blocks", "3", "--repeats", "1"]),
    ("talkers-drnn", ["--hidden", "32", "--layers", "1", "--lr", "1e-2"])])
def test_short_training_lowers_the_loss(tmp_path, capsys, recipe, flags):
    speech = _speakers(tmp_path, 6)
    out = tmp_path / "m.pt"
    assert main(["train", recipe, "--speech", str(speech), "--epochs", "3", "--steps", "8",
                 "--batch", "4", "--segment", "1", "--lr", "3e-3", "--validation", "0.34",
                 "--validation-examples", "4", "-q", "--out", str(out), *flags]) == 0, \
        capsys.readouterr().err
    info = checkpoint.load(out)
    history = info["training"]["history"]
    assert history["loss"][-1] < history["loss"][0]
    assert info["model_args"]["sources"] == ["talker_1", "talker_2"]
    capsys.readouterr()
    assert main(["train", recipe, "--speech", str(speech / "spk0"), "--out",
                 str(tmp_path / "n.pt")]) == 2
    assert "need at least 2" in capsys.readouterr().err


def test_evaluate_with_the_best_permutation_and_improvement(tmp_path, capsys):
    talkers = alternating_talkers(seconds=4, rate=16000)
    (tmp_path / "ref").mkdir()
    (tmp_path / "est").mkdir()
    for name, x in zip(("anna", "ben"), talkers):
        sf.write(tmp_path / "ref" / f"{name}.wav", x[0], 16000, subtype="FLOAT")
    noisy = talkers + 0.01 * np.random.default_rng(0).standard_normal(talkers.shape)
    sf.write(tmp_path / "est" / "talker_1.wav", noisy[1, 0], 16000, subtype="FLOAT")
    sf.write(tmp_path / "est" / "talker_2.wav", noisy[0, 0], 16000, subtype="FLOAT")
    assert main(["evaluate", "--reference", str(tmp_path / "ref"), "--estimate",
                 str(tmp_path / "est"), "--metric", "si-sdr", "--permutation"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.strip()}
    assert "SI-SDRi" in out and set(rows) >= {"anna", "ben"}
    assert float(rows["anna"][1]) > 15  # ben's voice named talker_1 was matched to ben


def test_the_validation_speakers_do_not_depend_on_the_training_seed(tmp_path):
    """A fine-tune with another --seed keeps its start's validation speakers (it must never
    train on what its start was chosen by) and is scored on the same mixtures."""
    from unweave.nn.train.recipes import TalkerData, get_recipe, talkers_task

    speech = _speakers(tmp_path, 10)
    tasks = [talkers_task(get_recipe("talkers"), TalkerData([str(speech)], validation=0.2,
                                                            validation_examples=3),
                          seed, None)[0] for seed in (0, 1, 7)]
    splits = [task.info["split"] for task in tasks]
    assert splits[0]["validation"] and all(s == splits[0] for s in splits)
    torch.manual_seed(0)
    model = build("convtasnet", {"filters": 16, "bottleneck": 8, "hidden": 16, "skip": 8,
                                 "blocks": 2, "repeats": 1}).eval()
    with torch.no_grad():
        scores = [task.validate(model, "cpu") for task in tasks]
    assert np.isfinite(scores[0]) and scores == [scores[0]] * 3, scores


def test_the_band_a_network_cannot_hear_goes_to_whoever_is_talking(monkeypatch):
    """Talkers taking turns, heard only below 4 kHz (as an 8 kHz model's outputs at 16 kHz):
    the extension gives each the mixture's top band where it talks, which brings the outputs
    close to the full-band talkers; 30 s blocks give what one pass over the whole gives; a
    rate within the heard band is left alone."""
    from unweave import refine
    from unweave.audio import resample
    from unweave.metrics.si_sdr import si_sdr

    rng = np.random.default_rng(3)
    rate, n = 16000, 16000 * 12
    turns = np.repeat(np.arange(12) % 2, 16000)  # one talker a second
    noise = rng.standard_normal((2, n)).astype(np.float32)
    talkers = np.stack([noise[0] * (turns == 0), noise[1] * (turns == 1)])[:, None]
    heard = np.stack([resample(resample(t, rate, 8000), 8000, rate)[:, :n] for t in talkers])
    mixture = talkers.sum(0)
    filled = refine.extend_band(heard, mixture, rate, 4000.0)
    before = si_sdr(talkers[:, 0], heard[:, 0]).si_sdr
    after = si_sdr(talkers[:, 0], filled[:, 0]).si_sdr
    assert np.all(before < 4) and np.all(after > before + 8), (before, after)
    monkeypatch.setattr(refine, "BLOCK_SECONDS", 2.5)
    np.testing.assert_allclose(refine.extend_band(heard, mixture, rate, 4000.0), filled,
                               atol=1e-5)
    assert refine.extend_band(heard, mixture, 8000, 4000.0) is heard


def test_remask_keeps_the_shares_and_sums_to_the_mixture(monkeypatch):
    """The mixture under the outputs' ratio masks: artifacts that the mixture does not hold
    are gone, the outputs add up to the mixture, and 30 s blocks match one pass."""
    from unweave import refine
    from unweave.metrics.si_sdr import si_sdr

    talkers = alternating_talkers(seconds=8, rate=16000)  # (2, 1, n)
    mixture = talkers.sum(0)
    rng = np.random.default_rng(0)
    rough = talkers + 0.05 * rng.standard_normal(talkers.shape).astype(np.float32)
    masked = refine.remask(rough, mixture, 16000)
    np.testing.assert_allclose(masked.sum(0), mixture, atol=1e-5)
    assert np.all(si_sdr(talkers[:, 0], masked[:, 0]).si_sdr
                  > si_sdr(talkers[:, 0], rough[:, 0]).si_sdr + 3)
    monkeypatch.setattr(refine, "BLOCK_SECONDS", 3.0)
    np.testing.assert_allclose(refine.remask(rough, mixture, 16000), masked, atol=1e-5)
