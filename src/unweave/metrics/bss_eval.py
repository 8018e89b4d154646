"""BSS Eval: SDR, ISR, SIR and SAR, as versions 3 (mir_eval) and 4 (museval) define them.

Vincent, Gribonval & Févotte, "Performance measurement in blind audio source separation",
IEEE TASLP 14(4), 2006 (v3); Liutkus, Stöter & Ito, "The 2018 Signal Separation Evaluation
Campaign", LVA/ICA 2018 (v4).

An estimate is split into the true source image ``s``, a spatial/filtering distortion, an
interference and an artifact part, by projecting it on the references delayed by ``0..L-1``
samples (``L = filter_len``, 512):

- ``Pj``: projection on the delayed channels of its own reference; ``P``: on all references;
- images (v3 ``bss_eval_images`` and v4): ``SDR = |s|^2 / |e - s|^2``,
  ``ISR = |s|^2 / |Pj - s|^2``, ``SIR = |Pj|^2 / |P - Pj|^2``, ``SAR = |P|^2 / |e - P|^2``;
- sources (v3 ``bss_eval_sources``, single channel): ``SDR = |Pj|^2 / |e - Pj|^2``, SIR and SAR
  as above, no ISR.

v3 fits the filters on the segment it scores (the whole signal, or each window of the
framewise variants); v4 fits them once on the whole signal and applies them in every window
(1 s windows and hops by default), so its v4 SDR is exactly the framewise energy ratio.

Arrays are ``(sources, channels, samples)``; scores are ``(sources, windows)`` in dB, float64.
Silent sources (whole signal) give NaN with a warning; a window where any reference or estimate
is silent gives NaN for every source (as museval and mir_eval).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from unweave.errors import UnweaveError
from unweave.metrics.projection import (
    Projector,
    correlations,
    independent_channels,
    solve_together,
    xcorr,
)
from unweave.metrics.validate import silent, validate, warn_silent
from unweave.threads import threads_available


@dataclass
class BSSEvalResult:
    """Scores ``(sources, windows)`` in dB and how they were computed.

    ``perm[j, w]`` is the estimate matched to reference ``j``; ``isr`` is NaN for the
    sources variant. ``version`` is "v3" or "v4"; ``window``/``hop`` in samples (``None``:
    the whole signal).
    """

    sdr: np.ndarray
    isr: np.ndarray
    sir: np.ndarray
    sar: np.ndarray
    perm: np.ndarray
    version: str
    kind: str  # "images" or "sources"
    window: int | None = None
    hop: int | None = None
    filter_len: int = 512
    params: dict = field(default_factory=dict)

    def medians(self) -> dict[str, np.ndarray]:
        """Per-source medians over windows (NaN windows ignored), as SiSEC reports them."""
        import warnings

        out = {}
        for name in ("sdr", "isr", "sir", "sar"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[name] = np.nanmedian(getattr(self, name), axis=-1)
        return out

    def describe(self) -> dict:
        d = asdict(self)
        for k in ("sdr", "isr", "sir", "sar", "perm"):
            d.pop(k)
        return d


def fast_length(n: int) -> int:
    """The smallest length ``>= n`` whose only prime factors are 2, 3 and 5 (fast FFTs)."""
    best = 1 << max(0, int(n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            length = p35 << max(0, int(-(-n // p35) - 1).bit_length())
            best = min(best, length)
            p35 *= 3
        p5 *= 5
    return best


def _db(num, den) -> np.ndarray:
    num = np.asarray(num, np.float64)
    den = np.asarray(den, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, 10 * np.log10(num / np.where(den > 0, den, 1)), np.inf)


# --- v3: filters fitted on the segment that is scored -------------------------------------------

def _fit(ref: np.ndarray, est: np.ndarray, filter_len: int):
    """Right-hand sides, the basis channels and their cross-correlations.

    Returns ``d`` ``(K L, n_est * C)`` over the ``K`` independent reference channels, ``keep``
    ``(K,)``: their flat indices ``source * C + channel``, and their cross-correlations
    ``(K, K, 2 L - 1)`` (from which the Gram matrix is read, see ``projection.gram``).
    """
    n_src, n_chan, n = ref.shape
    m = n_src * n_chan
    refs_flat = ref.reshape(m, n)
    # One pass: references against references and estimates.
    xc = xcorr(refs_flat, [refs_flat, est.reshape(-1, n)], filter_len - 1)
    keep = independent_channels(xc[:, :m])
    refs_xc = xc[np.ix_(keep, keep)]
    d = correlations(xc[keep, m:], filter_len)
    return d, keep, refs_xc


def _projectors(refs_xc, keep, n_chan, filter_len):
    """The projector on all kept reference channels and, per source, on its own ones (with
    the rows of the Gram matrix that are its own)."""
    owner = keep // n_chan
    own = {}
    for j in np.unique(owner):
        idx = np.flatnonzero(owner == j)
        rows = (idx[:, None] * filter_len + np.arange(filter_len)).ravel()
        own[j] = (rows, Projector(refs_xc=refs_xc[np.ix_(idx, idx)]))
    return Projector(refs_xc=refs_xc), own


def _v3_pair_scores(ref: np.ndarray, est: np.ndarray, filter_len: int, all_pairs: bool,
                    images: bool) -> np.ndarray:
    """Scores ``(4, n_est, n_ref)`` (SDR, ISR, SIR, SAR) of every estimate against every
    reference (``all_pairs``) or of estimate j against reference j only (others NaN)."""
    n_src, n_chan, _ = ref.shape
    d, keep, refs_xc = _fit(ref, est, filter_len)
    everything, own = _projectors(refs_xc, keep, n_chan, filter_len)
    # |P|^2 per estimate: its projection on every delayed reference channel.
    p_all = everything.energies(d).reshape(n_src, n_chan).sum(axis=1)
    ee = (est**2).sum(axis=(1, 2))
    ss = (ref**2).sum(axis=(1, 2))
    out = np.full((4, n_src, n_src), np.nan)
    for jt in range(n_src):
        if jt not in own:
            continue  # silent reference: NaN
        rows, projector = own[jt]
        cols = np.arange(n_src) if all_pairs else np.array([jt])
        dj = d[rows].reshape(rows.size, n_src, n_chan)[:, cols].reshape(rows.size, -1)
        p_own = projector.energies(dj)
        p_own = p_own.reshape(len(cols), n_chan).sum(axis=1)
        pa = p_all[cols]
        if images:
            es = np.einsum("ecn,cn->e", est[cols], ref[jt])
            err = ((est[cols] - ref[jt]) ** 2).sum(axis=(1, 2))
            out[0, cols, jt] = _db(ss[jt], err)
            out[1, cols, jt] = _db(ss[jt], p_own - 2 * es + ss[jt])
        else:
            out[0, cols, jt] = _db(p_own, ee[cols] - p_own)
        out[2, cols, jt] = _db(p_own, pa - p_own)
        out[3, cols, jt] = _db(pa, ee[cols] - pa)
    return out


def _select(pair_scores: np.ndarray, compute_permutation: bool) -> tuple[np.ndarray, np.ndarray]:
    """Scores ``(4, n)`` and permutation ``(n,)``: the matching that maximises the mean SIR
    (Hungarian algorithm, so any number of sources works) or the identity."""
    n = pair_scores.shape[-1]
    if compute_permutation:
        from scipy.optimize import linear_sum_assignment  # (slow to import; rarely needed)

        sir = np.nan_to_num(pair_scores[2], nan=-1e9, posinf=1e9, neginf=-1e9)
        est_idx, ref_idx = linear_sum_assignment(-sir)
        perm = np.empty(n, int)
        perm[ref_idx] = est_idx
    else:
        perm = np.arange(n)
    return pair_scores[:, perm, np.arange(n)], perm


def _v3(ref, est, filter_len, compute_permutation, images):
    bad = warn_silent(ref, est)
    scores, perm = _select(_v3_pair_scores(ref, est, filter_len, compute_permutation, images),
                           compute_permutation)
    scores[:, bad] = np.nan
    if not images:
        scores[1] = np.nan
    return scores, perm


def _framewise(ref, est, window, hop, filter_len, compute_permutation, images):
    n = ref.shape[-1]
    n_win = int(np.floor((n - window + hop) / hop))
    if n_win < 2:  # as mir_eval: fewer than two windows -> the whole-signal scores
        scores, perm = _v3(ref, est, filter_len, compute_permutation, images)
        return scores[..., None], perm[:, None]
    scores = np.full((4, ref.shape[0], n_win), np.nan)
    perm = np.full((ref.shape[0], n_win), np.nan)
    for w in range(n_win):
        sl = slice(w * hop, w * hop + window)
        r, e = ref[..., sl], est[..., sl]
        if silent(r).any() or silent(e).any():
            continue
        scores[:, :, w], perm[:, w] = _select(
            _v3_pair_scores(r, e, filter_len, compute_permutation, images), compute_permutation)
    if not images:
        scores[1] = np.nan
    return scores, perm


def _result(scores, perm, version, kind, window=None, hop=None, filter_len=512):
    if scores.ndim == 2:
        scores, perm = scores[..., None], perm[:, None]
    return BSSEvalResult(scores[0], scores[1], scores[2], scores[3], perm, version, kind,
                         window, hop, filter_len)


def bss_eval_sources(reference, estimate, compute_permutation: bool = True,
                     filter_len: int = 512) -> BSSEvalResult:
    """BSS Eval v3 ``bss_eval_sources`` (mir_eval): single-channel ``(sources, samples)``."""
    ref, est = validate(reference, estimate)
    _single_channel(ref)
    scores, perm = _v3(ref, est, filter_len, compute_permutation, images=False)
    return _result(scores, perm, "v3", "sources", filter_len=filter_len)


def bss_eval_sources_framewise(reference, estimate, window: int, hop: int,
                               compute_permutation: bool = False,
                               filter_len: int = 512) -> BSSEvalResult:
    """BSS Eval v3 ``bss_eval_sources_framewise``: filters refitted in every window."""
    ref, est = validate(reference, estimate)
    _single_channel(ref)
    scores, perm = _framewise(ref, est, window, hop, filter_len, compute_permutation, False)
    return _result(scores, perm, "v3", "sources", window, hop, filter_len)


def bss_eval_images(reference, estimate, compute_permutation: bool = True,
                    filter_len: int = 512) -> BSSEvalResult:
    """BSS Eval v3 ``bss_eval_images`` (mir_eval) on ``(sources, channels, samples)``."""
    ref, est = validate(reference, estimate)
    scores, perm = _v3(ref, est, filter_len, compute_permutation, images=True)
    return _result(scores, perm, "v3", "images", filter_len=filter_len)


def bss_eval_images_framewise(reference, estimate, window: int, hop: int,
                              compute_permutation: bool = False,
                              filter_len: int = 512) -> BSSEvalResult:
    """BSS Eval v3 ``bss_eval_images_framewise``: filters refitted in every window."""
    ref, est = validate(reference, estimate)
    scores, perm = _framewise(ref, est, window, hop, filter_len, compute_permutation, True)
    return _result(scores, perm, "v3", "images", window, hop, filter_len)


def _single_channel(ref):
    if ref.shape[1] != 1:
        raise UnweaveError(f"bss_eval_sources takes single-channel sources; got {ref.shape[1]} "
                           "channels (use bss_eval_images, or evaluate each channel)")


# --- v4: filters fitted once, applied in every window ------------------------------------------

@dataclass
class _Windows:
    """The windows of v4, ``(S, C, W, T)`` views of the signals, and what each batch of them
    needs before the filters are known: float64 samples, spectra, energies, silence."""

    frames_r: np.ndarray
    frames_e: np.ndarray
    nfft: int
    per_batch: int = 2  # windows scored together: a few large operations, small buffers

    def buffers(self, scoring: bool = True) -> dict[str, np.ndarray]:
        """Arrays for one batch (and for scoring it), made once per thread and reused: fresh
        large arrays cost page faults, which is where an evaluation spent much of its time."""
        s, c, _, t = self.frames_r.shape
        spectra = (s, c, self.per_batch, self.nfft // 2 + 1)
        out = {"r": np.empty((s, c, self.per_batch, t)), "e": np.empty((s, c, self.per_batch, t)),
               "rf": np.empty(spectra, complex), "ef": np.empty(spectra, complex)}
        if scoring:
            out.update({"all": np.empty(spectra, complex), "own": np.empty(spectra, complex),
                        "term": np.empty(spectra[1:], complex)})
        return out

    def data(self, ws: slice, buf: dict | None = None) -> dict[str, np.ndarray]:
        """Batch ``ws``: spectra ``rf``, ``ef`` ``(S, C, W, F)``, reference energies ``ss``
        and error energies ``err`` ``(S, W)``, and ``quiet`` ``(W,)``: windows where some
        reference or estimate is silent (NaN for every source, as museval)."""
        buf = buf or self.buffers(scoring=False)
        w = ws.stop - ws.start
        r, e = buf["r"][:, :, :w], buf["e"][:, :, :w]
        np.copyto(r, self.frames_r[..., ws, :])
        np.copyto(e, self.frames_e[..., ws, :])
        quiet = silent(r).any(axis=0) | silent(e).any(axis=0)
        rf, ef = buf["rf"][:, :, :w], buf["ef"][:, :, :w]
        np.fft.rfft(r, n=self.nfft, axis=-1, out=rf)
        np.fft.rfft(e, n=self.nfft, axis=-1, out=ef)
        ss = np.einsum("scwt,scwt->sw", r, r)
        np.subtract(e, r, out=e)
        return {"rf": rf, "ef": ef, "ss": ss, "err": np.einsum("scwt,scwt->sw", e, e),
                "quiet": quiet}


def _energy(spec: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``(S, C, W, F)`` one-sided spectra -> ``(S, W)``: energy of the real signals (Parseval;
    ``weight`` counts each bin once or twice and divides by the FFT length)."""
    return np.einsum("scwf,scwf,f->sw", spec.real, spec.real, weight) + \
        np.einsum("scwf,scwf,f->sw", spec.imag, spec.imag, weight)


def bss_eval_v4(reference, estimate, window: int = 44100, hop: int = 44100,
                filter_len: int = 512) -> BSSEvalResult:
    """BSS Eval v4 as museval's ``evaluate(..., mode="v4")``.

    Time-invariant distortion filters are fitted on the whole signal; image-based SDR, ISR,
    SIR and SAR are then measured in windows of ``window`` samples every ``hop`` (museval's
    defaults: 1 s at 44.1 kHz). No permutation: estimate j is scored against reference j.
    Windows are scored in batches shared among threads; the first batches' spectra are
    computed while the filters are solved.
    """
    from concurrent.futures import ThreadPoolExecutor

    if window < 1 or hop < 1:
        raise ValueError(f"window and hop must be >= 1 sample (got {window}, {hop})")
    # float32 input stays float32 (half the memory); every sum and FFT runs in float64.
    ref, est = validate(reference, estimate, single=True)
    n_src, n_chan, n = ref.shape
    L = filter_len
    bad = warn_silent(ref, est)
    n_win = int(np.floor((n - window + hop) / hop)) if window < n else 1
    win_len = min(window, n)
    nfft = fast_length(win_len + L - 1)
    nfft += nfft % 2  # even: the last bin is the Nyquist bin
    windows = _Windows(sliding_window_view(ref, win_len, axis=-1)[..., ::hop, :][..., :n_win, :],
                       sliding_window_view(est, win_len, axis=-1)[..., ::hop, :][..., :n_win, :],
                       nfft)
    batches = [slice(w, min(w + windows.per_batch, n_win))
               for w in range(0, n_win, windows.per_batch)]
    threads = min(threads_available(), len(batches))
    d, keep, refs_xc = _fit(ref, est, L)
    with ThreadPoolExecutor(threads) as pool:
        # While the filters are solved (one core, mostly): the first batches' data, at most
        # 8 batches (bounded memory whatever the length).
        ahead = {ws.start: pool.submit(windows.data, ws) for ws in batches[:8]} \
            if threads > 1 else {}
        everything, own = _projectors(refs_xc, keep, n_chan, L)
        basis = np.array(sorted(own), int)  # sources with at least one independent channel
        chan_of = {j: keep[keep // n_chan == j] % n_chan for j in basis}
        # Filters on all references, (src_est, K, L, C), and on the own reference, per source.
        c_all = everything.solve(d).reshape(len(keep), L, n_src, n_chan).transpose(2, 0, 1, 3)
        solved = solve_together(
            [p for _, p in own.values()],
            [d[r][:, j * n_chan:(j + 1) * n_chan] for j, (r, _) in own.items()])
        # As (S, C, K, F) spectra: a batch's projections are one contraction.
        filt_all = np.ascontiguousarray(np.fft.rfft(c_all, n=nfft, axis=2).transpose(0, 3, 1, 2))
        filt_own = {j: np.ascontiguousarray(np.fft.rfft(c.reshape(-1, L, n_chan), n=nfft, axis=1)
                                            .transpose(2, 0, 1))
                    for j, c in zip(own, solved, strict=True)}
        weight = np.full(nfft // 2 + 1, 2.0 / nfft)
        weight[[0, -1]] = 1.0 / nfft  # DC and Nyquist bins count once
        every_channel = len(keep) == n_src * n_chan
        scores = np.full((4, n_src, n_win), np.nan)

        def score(mine: list[slice]) -> None:
            buf = windows.buffers()
            for ws in mine:
                w = ws.stop - ws.start
                got = ahead[ws.start].result() if ws.start in ahead else windows.data(ws, buf)
                rf, ef = got["rf"], got["ef"]
                proj_all, proj_own = buf["all"][:, :, :w], buf["own"][:, :, :w]
                flat = rf.reshape(n_src * n_chan, *rf.shape[2:])
                np.einsum("sckf,kwf->scwf", filt_all, flat if every_channel else flat[keep],
                          optimize=True, out=proj_all)
                proj_own[:] = 0
                for j in basis:  # a source's own channels are few: products summed directly
                    for k, chan in enumerate(chan_of[j]):
                        proj_own[j] += np.multiply(filt_own[j][:, k, None, :], rf[j, chan],
                                                   out=buf["term"][:, :w])
                p_own, p_all = _energy(proj_own, weight), _energy(proj_all, weight)
                ss = got["ss"]
                out = np.array([
                    _db(ss, got["err"]),
                    _db(ss, _energy(np.subtract(proj_own, rf, out=rf), weight)),
                    _db(p_own, _energy(np.subtract(proj_all, proj_own, out=proj_own), weight)),
                    _db(p_all, _energy(np.subtract(ef, proj_all, out=ef), weight))])
                out[:, :, got["quiet"]] = np.nan
                scores[:, :, ws] = out

        list(pool.map(score, [batches[i::threads] for i in range(threads)]))
    scores[:, bad] = np.nan
    perm = np.repeat(np.arange(n_src)[:, None], n_win, axis=1)
    return _result(scores, perm, "v4", "images", window, hop, filter_len)
