"""Non-negative matrix factorisation of magnitude spectrograms, unsupervised and supervised.

``V ~ W H`` (``V``: ``(freqs, frames)``, ``W``: ``(freqs, K)`` bases, ``H``: ``(K, frames)``)
by the multiplicative updates for the beta-divergence (Févotte & Idier, "Algorithms for
nonnegative matrix factorization with the beta-divergence", Neural Computation 23(9), 2011):
beta 2 = Euclidean, 1 = Kullback-Leibler, 0 = Itakura-Saito.

- ``nmf`` unsupervised: ``n_components`` bases clustered into ``n_sources`` (k-means on the
  log-spectra of the bases), outputs ``source_1..N`` from low to high spectral centroid.
- ``nmf`` supervised: bases learnt by ``unweave train nmf`` from recordings of one source are
  kept fixed, the other bases are learnt on the mixture; outputs the trained source's name and
  ``rest``. ``sharing_penalty`` > 0 adds the basis-sharing penalty of Kitamura, Saruwatari et
  al., "Robust music signal separation based on supervised nonnegative matrix factorization
  with prevention of basis sharing", ISSPIT 2013: ``mu |F^T G|^2`` keeps the free bases ``G``
  from imitating the supervised bases ``F``.

Separation uses Wiener-like masks of the model spectrograms.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unweave.errors import UnweaveError
from unweave.masking import ratio_masks
from unweave.methods.base import Assumptions, Separation, Separator, register
from unweave.methods.iterative import check_iterations, iterate
from unweave.spectral import STFTConfig, istft, stft

EPS = 1e-12
BASES_FORMAT = 1


def beta_divergence(v: np.ndarray, model: np.ndarray, beta: float) -> float:
    """Sum of the elementwise beta-divergence ``d(v | model)``."""
    v, model = np.maximum(v, EPS), np.maximum(model, EPS)
    if beta == 2:
        return float(0.5 * np.sum((v - model) ** 2))
    if beta == 1:
        return float(np.sum(v * np.log(v / model) - v + model))
    if beta == 0:
        r = v / model
        return float(np.sum(r - np.log(r) - 1))
    return float(np.sum((v**beta + (beta - 1) * model**beta - beta * v * model ** (beta - 1))
                        / (beta * (beta - 1))))


def nmf(v: np.ndarray, n_components: int, beta: float = 1.0, n_iter: int = 100,
        seed: int | np.random.Generator = 0, fixed_bases: np.ndarray | None = None,
        sharing_penalty: float = 0.0, init: tuple[np.ndarray, np.ndarray] | None = None,
        tol: float = 0.0, callback=None) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Factorise ``v`` ``(freqs, frames)``; return ``W`` ``(freqs, F + K)``, ``H`` and the
    objective history.

    ``fixed_bases`` ``(freqs, F)`` are kept fixed and come first in ``W``; ``n_components``
    more are learnt. ``sharing_penalty`` weighs ``|F^T G|^2`` (bases with unit L2 norm).
    ``init`` = ``(W, H)`` is a warm start.
    """
    rng = np.random.default_rng(seed)
    v = np.asarray(v, np.float64) + EPS
    n_freq, n_frames = v.shape
    fixed = np.zeros((n_freq, 0)) if fixed_bases is None else _unit(np.asarray(fixed_bases,
                                                                              np.float64))
    n_fixed = fixed.shape[1]
    if init is not None:
        w, h = (np.array(a, np.float64) for a in init)
    else:
        scale = np.sqrt(v.mean() / max(n_components + n_fixed, 1))
        w = np.concatenate([fixed, rng.uniform(0.5, 1.5, (n_freq, n_components)) * scale], 1)
        h = rng.uniform(0.5, 1.5, (n_fixed + n_components, n_frames)) * scale
    w[:, n_fixed:] = _unit(w[:, n_fixed:])
    gram_fixed = fixed @ fixed.T if sharing_penalty > 0 and n_fixed else None
    # The penalty is weighed against the data term's size, so mu means the same whatever the
    # loudness and length of the input (mu = 1: a fully shared basis costs as much as the
    # whole data term at its starting value, per basis pair).
    penalty_scale = sharing_penalty * float(v.sum()) / max(n_fixed, 1)

    def update(state):
        w, h = state
        model = w @ h + EPS
        h = h * (w.T @ (v * model ** (beta - 2))) / (w.T @ model ** (beta - 1) + EPS)
        model = w @ h + EPS
        free = w[:, n_fixed:]
        num = (v * model ** (beta - 2)) @ h[n_fixed:].T
        den = model ** (beta - 1) @ h[n_fixed:].T
        if gram_fixed is not None:
            den = den + 2 * penalty_scale * (gram_fixed @ free)
        free = free * num / (den + EPS)
        # Unit bases, the scale moved into the activations (keeps the penalty meaningful).
        norms = np.linalg.norm(free, axis=0) + EPS
        w = np.concatenate([w[:, :n_fixed], free / norms], axis=1)
        h = h.copy()
        h[n_fixed:] *= norms[:, None]
        return w, h

    def objective(state):
        w, h = state
        value = beta_divergence(v, w @ h, beta)
        if gram_fixed is not None:
            value += penalty_scale * float(np.sum((fixed.T @ w[:, n_fixed:]) ** 2))
        return value

    (w, h), history = iterate(update, objective, (w, h), n_iter, tol, callback)
    return w, h, history


def _unit(w: np.ndarray) -> np.ndarray:
    return w / (np.linalg.norm(w, axis=0, keepdims=True) + EPS)


def cluster_bases(w: np.ndarray, n_sources: int, seed: int = 0) -> np.ndarray:
    """Assign each basis ``(freqs, K)`` to one of ``n_sources`` groups (k-means on log-spectra),
    groups numbered from low to high spectral centroid."""
    from scipy.cluster.vq import kmeans2

    k = w.shape[1]
    if n_sources >= k:
        return np.arange(k) % n_sources
    feats = np.log(w.T + 1e-6)
    feats = feats - feats.mean(axis=1, keepdims=True)
    _, labels = kmeans2(feats, n_sources, minit="++", seed=seed)
    centroid = (w * np.arange(w.shape[0])[:, None]).sum(0) / (w.sum(0) + EPS)
    order = np.argsort([centroid[labels == c].mean() if np.any(labels == c) else np.inf
                        for c in range(n_sources)])
    rank = np.empty(n_sources, int)
    rank[order] = np.arange(n_sources)
    return rank[labels]


# --- trained bases on disk ---------------------------------------------------------------------

def save_bases(path: str | Path, bases: np.ndarray, source: str, sample_rate: int,
               config: STFTConfig, beta: float) -> Path:
    """Save bases as a plain ``.npz`` (no pickled objects)."""
    from unweave.atomic import atomic_path

    path = Path(path)
    if path.suffix != ".npz":
        raise UnweaveError(f"{path}: bases are saved as .npz")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, bases=bases.astype(np.float32), source=np.array(source),
                     sample_rate=np.array(sample_rate), n_fft=np.array(config.n_fft),
                     hop=np.array(config.hop), beta=np.array(beta),
                     format=np.array(BASES_FORMAT))
    return path


def load_bases(path: str | Path) -> dict:
    """Load bases saved by :func:`save_bases` (``allow_pickle=False``: no code can run)."""
    path = Path(path)
    if not path.is_file():
        raise UnweaveError(f"{path}: no such bases file")
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except ValueError:
        raise UnweaveError(f"{path}: refused: it holds pickled Python objects, which unweave "
                           "never loads") from None
    except (OSError, EOFError) as exc:
        raise UnweaveError(f"{path}: not a bases file ({exc})") from None
    needed = {"bases", "source", "sample_rate", "n_fft", "hop"}
    if not needed <= set(out):
        raise UnweaveError(f"{path}: not a bases file (missing {sorted(needed - set(out))})")
    return {"bases": out["bases"].astype(np.float64), "source": str(out["source"]),
            "sample_rate": int(out["sample_rate"]), "n_fft": int(out["n_fft"]),
            "hop": int(out["hop"]), "beta": float(out.get("beta", 1.0))}


def train_bases(recordings: list[np.ndarray], sample_rate: int, n_components: int = 32,
                beta: float = 1.0, n_iter: int = 200, seed: int = 0,
                config: STFTConfig | None = None) -> np.ndarray:
    """Learn ``(freqs, n_components)`` bases from recordings ``[(channels, samples)]`` of one
    source (their magnitude spectrograms, channels averaged, concatenated in time)."""
    config = config or default_stft(sample_rate)
    mags = [np.abs(stft(r, config)).mean(axis=0) for r in recordings]
    w, _, _ = nmf(np.concatenate(mags, axis=1), n_components, beta, n_iter, seed)
    return w


def default_stft(sample_rate: int) -> STFTConfig:
    """About 64 ms windows with 75% overlap."""
    n_fft = int(2 ** np.round(np.log2(0.064 * sample_rate)))
    return STFTConfig(n_fft, n_fft // 4)


@register
@dataclass
class NMF(Separator):
    """NMF separation, unsupervised (clustered bases) or with trained bases (``bases``).

    >>> NMF(n_sources=2, n_components=20, beta=1)(song, 16000)            # doctest: +SKIP
    >>> NMF(bases="vocals.npz", sharing_penalty=1.0)(song, 16000)        # doctest: +SKIP
    """

    n_sources: int = 2
    n_components: int = 20
    beta: float = 1.0
    n_iter: int = 100
    seed: int = 0
    bases: str = ""
    sharing_penalty: float = 0.0
    mask_power: float = 1.0

    name = "nmf"
    summary = "NMF (beta-divergence): clustered, or supervised with trained bases"
    reference = ("Fevotte & Idier, Neural Computation 2011; Kitamura et al., ISSPIT 2013 "
                 "(basis-sharing penalty)")
    assumptions = Assumptions(content="any")

    def __post_init__(self):
        check_iterations(self.n_iter, minimum=0)
        if not 1 <= self.n_components <= 1000 or not 1 <= self.n_sources <= 64:
            raise UnweaveError("need 1 <= n_components <= 1000 and 1 <= n_sources <= 64")
        if not 0 <= self.beta <= 2:
            raise UnweaveError(f"beta must be in [0, 2] (got {self.beta})")
        if self.sharing_penalty < 0:
            raise UnweaveError("sharing_penalty must be >= 0")
        self._trained = load_bases(self.bases) if self.bases else None

    def separate(self, mixture, sample_rate, **inputs):
        trained = self._trained
        if trained is not None and trained["sample_rate"] != sample_rate:
            raise UnweaveError(f"bases '{self.bases}' were trained at {trained['sample_rate']} "
                               f"Hz; the input is at {sample_rate} Hz (resample it)")
        config = (STFTConfig(trained["n_fft"], trained["hop"]) if trained
                  else default_stft(sample_rate))
        spec = stft(mixture, config)
        magnitude = np.abs(spec).mean(axis=0)
        fixed = trained["bases"] if trained else None
        if fixed is not None and fixed.shape[0] != magnitude.shape[0]:
            raise UnweaveError(f"bases '{self.bases}' have {fixed.shape[0]} bins; need "
                               f"{magnitude.shape[0]}")
        w, h, history = nmf(magnitude, self.n_components, self.beta, self.n_iter, self.seed,
                            fixed, self.sharing_penalty)
        if trained:
            n_fixed = fixed.shape[1]
            groups = {trained["source"]: slice(0, n_fixed), "rest": slice(n_fixed, None)}
            models = [w[:, g] @ h[g] for g in groups.values()]
            names = list(groups)
        else:
            labels = cluster_bases(w, self.n_sources, self.seed)
            names = [f"source_{i + 1}" for i in range(self.n_sources)]
            models = [w[:, labels == i] @ h[labels == i] for i in range(self.n_sources)]
        masks = ratio_masks(np.stack(models), self.mask_power).astype(np.float32)
        length = mixture.shape[-1]
        sources = {n: istft(spec * m, config, length) for n, m in zip(names, masks)}
        return Separation(sources, sample_rate, dict(zip(names, masks)),
                          {"history": history, "stft": config})
