"""Score-informed separation on Bach10: MIDI reading, the DTW aligner against the ground-truth
alignment, separation quality against un-informed NMF and the oracle, and bad scores."""

import numpy as np
import pytest
from conftest import data_path

from unweave.audio import read_audio
from unweave.cli import main
from unweave.errors import UnweaveError
from unweave.methods import get_method
from unweave.metrics import framewise_sdr
from unweave.score import align_score, dtw, read_midi
from unweave.spectral import STFTConfig, stft

INSTRUMENTS = ["violin", "clarinet", "saxphone", "bassoon"]  # Bach10's channel order and names


@pytest.fixture(scope="module")
def piece():
    folder = data_path("bach10_subset", "07-HerrGott")
    refs = {i: read_audio(folder / f"07-HerrGott-{i}.flac")[0] for i in INSTRUMENTS}
    return folder, refs, sum(refs.values())


def test_midi_tracks_and_notes(piece):
    folder, _, _ = piece
    score = read_midi(folder / "07-HerrGott.mid")
    assert score.n_tracks == 4
    assert {n.track for n in score.notes} == {0, 1, 2, 3}
    assert all(n.offset > n.onset for n in score.notes)


def test_dtw_aligner_against_ground_truth(piece):
    folder, _, mixture = piece
    config = STFTConfig(4096, 1024)
    mag = np.abs(stft(mixture, config)).mean(axis=0)
    score_t, audio_t = align_score(read_midi(folder / "07-HerrGott.mid"), mag,
                                   config.freqs(44100), config.hop / 44100)
    truth = np.loadtxt(folder / "07-HerrGott.txt")
    error = np.abs(np.interp(truth[:, 1] / 1000, score_t, audio_t) - truth[:, 0] / 1000)
    assert np.median(error) < 0.1  # seconds


def test_dtw_path_follows_a_known_warp():
    rng = np.random.default_rng(0)
    a = rng.random((12, 40))
    source_of = np.repeat(np.arange(40), np.tile([2, 1], 20))  # b: a played 1.5 times slower
    b = a[:, source_of]
    cost = 1 - (a / np.linalg.norm(a, axis=0)).T @ (b / np.linalg.norm(b, axis=0))
    path = dtw(cost.T)  # rows: b frames, columns: a frames
    assert np.all(np.abs(path[:, 1] - source_of[path[:, 0]]) <= 1)


def test_score_informed_beats_uninformed_nmf(piece):
    folder, refs, mixture = piece
    sep = get_method("score")(score=str(folder / "07-HerrGott.mid"),
                              names=",".join(INSTRUMENTS))(mixture, 44100)
    assert sep.names == INSTRUMENTS

    def sdr(name, est):
        return float(np.nanmedian(framewise_sdr(refs[name][None], est[None], 44100)))

    informed = np.mean([sdr(i, sep[i]) for i in INSTRUMENTS])
    mixture_sdr = np.mean([sdr(i, mixture) for i in INSTRUMENTS])
    oracle = get_method("irm")()(mixture, 44100, references=refs)
    upper = np.mean([sdr(i, oracle[i]) for i in INSTRUMENTS])
    print(f"score-informed {informed:.2f} dB, mixture {mixture_sdr:.2f}, irm {upper:.2f}")
    assert informed > mixture_sdr + 10
    assert informed > upper - 6


def test_bad_scores_are_refused(tmp_path, piece, capsys):
    folder, _, _ = piece
    (tmp_path / "bad.mid").write_bytes(b"not a midi file")
    with pytest.raises(UnweaveError, match="not a readable MIDI"):
        get_method("score")(score=str(tmp_path / "bad.mid"))
    with pytest.raises(UnweaveError, match="no such MIDI"):
        get_method("score")(score=str(tmp_path / "missing.mid"))
    with pytest.raises(UnweaveError, match="3 names given for 4 tracks"):
        get_method("score")(score=str(folder / "07-HerrGott.mid"), names="a,b,c")
    with pytest.raises(UnweaveError, match="needs a MIDI file"):
        get_method("score")()
    code = main(["separate", str(folder / "07-HerrGott.flac"), "-m", "score", "--score",
                 str(tmp_path / "bad.mid"), "-o", str(tmp_path / "out")])
    assert code == 2 and "MIDI" in capsys.readouterr().err


def test_separate_command_names_outputs_after_instruments(tmp_path, piece):
    folder, _, mixture = piece
    import soundfile as sf

    short = tmp_path / "herrgott.wav"
    sf.write(short, mixture[0, : 44100 * 8], 44100)
    code = main(["separate", str(short), "-m", "score", "--score",
                 str(folder / "07-HerrGott.mid"), "--names", ",".join(INSTRUMENTS),
                 "--alignment", "none", "-o", str(tmp_path / "out"), "-q"])
    assert code == 0
    assert sorted(p.stem for p in (tmp_path / "out" / "herrgott").iterdir()) == \
        sorted(INSTRUMENTS)
