"""``unweave evaluate``: tracks and data sets, outputs, baselines and bad input."""

import csv
import json

import numpy as np
import pytest
import soundfile as sf
from conftest import data_path

from unweave.cli import main


def _write(folder, sources, rate=8000):
    folder.mkdir(parents=True, exist_ok=True)
    for name, audio in sources.items():
        sf.write(folder / f"{name}.wav", np.asarray(audio, np.float32).T, rate, subtype="FLOAT")


@pytest.fixture
def track(tmp_path):
    rng = np.random.default_rng(0)
    refs = {"vocals": 0.1 * rng.standard_normal((2, 16000)),
            "drums": 0.1 * rng.standard_normal((2, 16000))}
    ests = {k: v + 0.02 * rng.standard_normal(v.shape) for k, v in refs.items()}
    _write(tmp_path / "ref" / "song", refs)
    _write(tmp_path / "est" / "song", ests)
    return tmp_path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_single_track_table_json_and_csv(capsys, track):
    code, out, err = run(capsys, "evaluate", "--reference", track / "ref" / "song", "--estimate",
                         track / "est" / "song", "--json", track / "s.json", "--csv",
                         track / "s.csv")
    assert code == 0, err
    assert "BSS Eval v4" in out and "vocals" in out and "drums" in out
    doc = json.loads((track / "s.json").read_text())
    assert {t["name"] for t in doc["targets"]} == {"vocals", "drums"}
    frame = doc["targets"][0]["frames"][0]
    assert set(frame["metrics"]) == {"SDR", "ISR", "SIR", "SAR"} and frame["duration"] == 1.0
    assert doc["unweave"]["window"] == 8000 and doc["unweave"]["filter_len"] == 512
    sdr = frame["metrics"]["SDR"]
    assert 10 < sdr < 20  # noise 14 dB below the source
    rows = list(csv.DictReader((track / "s.csv").open()))
    assert len(rows) == 2 * 4 * 2  # sources x metrics x windows


@pytest.mark.parametrize("metric,column", [("v3", "SDR"), ("sisdr", "SI-SDR")])
def test_other_metrics(capsys, track, metric, column):
    code, out, err = run(capsys, "evaluate", "--reference", track / "ref" / "song", "--estimate",
                         track / "est" / "song", "--metric", metric)
    assert code == 0, err
    assert column in out


def test_data_set_summary_and_missing_tracks(capsys, track):
    rng = np.random.default_rng(1)
    refs = {"vocals": 0.1 * rng.standard_normal((2, 16000))}
    _write(track / "ref" / "other_song", refs)  # no estimate for this track
    code, out, err = run(capsys, "evaluate", "--reference", track / "ref", "--estimate",
                         track / "est")
    assert code == 2
    assert "median of per-track medians" in out
    assert "other_song" in err and "no estimates found" in err


def test_missing_and_extra_sources_are_reported(capsys, track):
    rng = np.random.default_rng(2)
    _write(track / "est" / "song", {"bass": 0.1 * rng.standard_normal((2, 16000))})
    (track / "est" / "song" / "drums.wav").unlink()
    code, out, err = run(capsys, "evaluate", "--reference", track / "ref" / "song", "--estimate",
                         track / "est" / "song")
    assert code == 0
    assert "no estimate for drums" in err and "no reference for bass" in err


def test_nothing_matches(capsys, tmp_path):
    rng = np.random.default_rng(3)
    _write(tmp_path / "r", {"a": rng.standard_normal((1, 8000))})
    _write(tmp_path / "e", {"b": rng.standard_normal((1, 8000))})
    code, _, err = run(capsys, "evaluate", "--reference", tmp_path / "r", "--estimate",
                       tmp_path / "e")
    assert code == 2 and "no estimate matches a reference" in err and "Traceback" not in err


def test_existing_json_is_kept_without_force(capsys, track):
    (track / "s.json").write_text("keep me")
    code, _, err = run(capsys, "evaluate", "--reference", track / "ref" / "song", "--estimate",
                       track / "est" / "song", "--json", track / "s.json")
    assert code == 2 and "--force" in err
    assert (track / "s.json").read_text() == "keep me"


def test_separate_then_evaluate_with_baselines_on_real_music(capsys, tmp_path):
    """The whole path on MUSDB '80s Rock': centre extraction between the bounds."""
    folder = data_path("musdb18_7s_80s_rock_museval", "decoded")
    out = tmp_path / "sep"
    assert run(capsys, "separate", folder / "mixture.flac", "-m", "center", "-o", out,
               "-q")[0] == 0
    (out / "mixture" / "center.wav").rename(out / "mixture" / "vocals.wav")
    (out / "mixture" / "sides.wav").rename(out / "mixture" / "accompaniment.wav")
    code, text, err = run(capsys, "evaluate", "--reference", folder, "--estimate",
                          out / "mixture", "--baselines", "mixture,irm")
    assert code == 0, err
    lines = text.splitlines()

    def vocals_sdr(after):
        i = lines.index(after)
        row = next(l for l in lines[i:] if l.startswith("vocals"))
        return float(row.split()[1])

    ours, low, high = (vocals_sdr("estimates"), vocals_sdr("baseline: mixture"),
                       vocals_sdr("baseline: irm"))
    assert low < ours < high


def test_a_folder_of_stem_files_is_a_data_set(tmp_path, capsys):
    """MUSDB18's test/ holds .stem.mp4 files: each is a track (not the folder as one track)."""
    import shutil

    from conftest import data_path

    from unweave.audio import read_stems, write_audio
    from unweave.cli import main

    stem = data_path("musdb18_7s_80s_rock_museval") / "original" / "Music Delta - 80s Rock.stem.mp4"
    refs = tmp_path / "test"
    refs.mkdir()
    shutil.copy(stem, refs / stem.name)
    streams, rate = read_stems(stem)
    est = tmp_path / "est" / "Music Delta - 80s Rock"
    est.mkdir(parents=True)
    for name in ("vocals", "drums"):
        write_audio(est / f"{name}.wav", streams[name], rate)
    assert main(["evaluate", "--reference", str(refs), "--estimate", str(tmp_path / "est"),
                 "-q"]) == 0
    out = capsys.readouterr().out
    assert "1 track(s)" in out and "vocals" in out
