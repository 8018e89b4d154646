import numpy as np
import pytest
from conftest import data_path

from unweave.audio import read_audio, read_sources, read_stems, resample, write_audio
from unweave.errors import AudioReadError, UnweaveError


@pytest.mark.parametrize("suffix,bits,tol", [(".wav", 32, 0), (".wav", 16, 1 / 2**15),
                                            (".wav", 24, 1 / 2**23), (".flac", 16, 1 / 2**15),
                                            (".flac", 24, 1 / 2**23)])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_write_read_roundtrip(tmp_path, suffix, bits, tol, channels):
    x = (0.5 * np.random.default_rng(0).standard_normal((channels, 1000))).clip(-1, 1)
    x = x.astype(np.float32)
    path = write_audio(tmp_path / f"a{suffix}", x, 8000, bits=bits)
    y, rate = read_audio(path)
    assert rate == 8000 and y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=tol + 1e-7)
    assert [p.name for p in tmp_path.iterdir()] == [f"a{suffix}"]  # no temporary file left


def test_write_refuses_to_overwrite_without_permission(tmp_path):
    x = np.zeros((1, 10), np.float32)
    write_audio(tmp_path / "a.wav", x, 8000)
    with pytest.raises(UnweaveError, match="exists"):
        write_audio(tmp_path / "a.wav", x, 8000)
    write_audio(tmp_path / "a.wav", x + 0.5, 8000, overwrite=True)
    assert read_audio(tmp_path / "a.wav")[0].max() == 0.5
    with pytest.raises(UnweaveError):
        write_audio(tmp_path / "a.flac", x, 8000, bits=32)


def test_read_errors_are_clear(tmp_path):
    with pytest.raises(AudioReadError, match="no such file"):
        read_audio(tmp_path / "missing.wav")
    (tmp_path / "text.wav").write_text("not audio at all")
    with pytest.raises(AudioReadError, match="not a readable audio file"):
        read_audio(tmp_path / "text.wav")
    (tmp_path / "empty.flac").write_bytes(b"")
    with pytest.raises(AudioReadError, match="empty"):
        read_audio(tmp_path / "empty.flac")
    with pytest.raises(AudioReadError, match="directory"):
        read_audio(tmp_path)


def test_resample_keeps_channels_and_length():
    t = np.arange(44100) / 44100
    x = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 880 * t)]).astype(np.float32)
    y = resample(x, 44100, 16000)
    assert y.shape == (2, 16000) and y.dtype == np.float32
    back = resample(y, 16000, 44100)
    assert 10 * np.log10(np.sum(x**2) / np.sum((back - x)[:, 100:-100] ** 2)) > 40


def test_resample_to_a_given_length_cuts_or_pads():
    x = np.ones((2, 1000), np.float32)
    assert resample(x, 16000, 8000, 700).shape == (2, 700)
    assert not resample(x, 16000, 8000, 700)[:, 500:].any()
    np.testing.assert_array_equal(resample(x, 8000, 8000, 10), x[:, :10])
    np.testing.assert_array_equal(resample(x, 16000, 8000, 300), resample(x, 16000, 8000)[:, :300])


def test_stem_mp4_streams_match_decoded_flac():
    folder = data_path("musdb18_7s_80s_rock_museval")
    stems, rate = read_stems(next((folder / "original").glob("*.stem.mp4")))
    assert rate == 44100 and list(stems) == ["mixture", "drums", "bass", "other", "vocals"]
    for name, audio in stems.items():
        ref, _ = read_audio(folder / "decoded" / f"{name}.flac")
        assert audio.shape == ref.shape == (2, 300032)
        np.testing.assert_allclose(audio, ref, atol=2 / 2**15)
    mixture, _ = read_audio(next((folder / "original").glob("*.stem.mp4")))
    np.testing.assert_allclose(mixture, stems["mixture"])


def test_read_sources_from_folder_leaves_out_the_mixture():
    sources, rate = read_sources(data_path("musdb18_7s_80s_rock_museval", "decoded"))
    assert sorted(sources) == ["bass", "drums", "other", "vocals"] and rate == 44100


def test_header_with_too_many_channels_is_an_error_not_a_crash(tmp_path):
    """Regression (found by fuzzing): a WAV header declaring 35 channels with a 4-byte block
    made FFmpeg's resampler segfault when the file was read through PyAV."""
    import io
    import struct

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.zeros((800, 2), np.float32) + 0.1, 8000, format="WAV", subtype="PCM_16")
    data = bytearray(buf.getvalue())
    data[22:24] = struct.pack("<H", 35)  # the channel count field
    for suffix in (".m4a", ".wav"):
        path = tmp_path / f"bad{suffix}"
        path.write_bytes(bytes(data))
        try:
            audio, _ = read_audio(path)
            assert audio.ndim == 2 and np.isfinite(audio).all()
        except AudioReadError:
            pass
