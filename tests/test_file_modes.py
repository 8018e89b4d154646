"""Outputs get the mode a plain open() gives under the umask (not mkstemp's private 0600), and
an overwritten file keeps its own mode: whole writes, streamed audio, separate and report."""

import os
import stat

import numpy as np
import pytest
import soundfile as sf

from unweave.atomic import write_text
from unweave.audio import AudioWriter
from unweave.cli import main


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield 0o644
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_whole_and_streamed_writes_follow_the_umask(tmp_path, umask_022):
    assert mode(write_text(tmp_path / "a.txt", "x")) == umask_022
    writer = AudioWriter(tmp_path / "a.wav", 16000, 1)
    writer.write(np.zeros((1, 160)))
    assert mode(writer.commit()) == umask_022
    os.umask(0o077)
    assert mode(write_text(tmp_path / "b.txt", "x")) == 0o600


def test_an_overwritten_file_keeps_its_mode(tmp_path, umask_022):
    target = write_text(tmp_path / "a.txt", "x")
    os.chmod(target, 0o640)
    write_text(target, "y")
    assert mode(target) == 0o640 and target.read_text() == "y"


def test_separate_and_report_outputs_are_readable_by_others(tmp_path, umask_022, capsys):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "song.wav", 0.1 * rng.standard_normal((16000 * 2, 2)), 16000)
    out = tmp_path / "out"
    assert main(["separate", str(tmp_path / "song.wav"), "-m", "hpss", "-o", str(out),
                 "-q"]) == 0
    assert main(["report", str(out)]) == 0
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 5 and any(p.suffix == ".png" for p in files)
    assert {mode(p) for p in files} == {umask_022}, [(p.name, oct(mode(p))) for p in files]
