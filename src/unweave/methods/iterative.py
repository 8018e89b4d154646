"""The loop every iterative method shares: ``n_iter`` updates, an objective history, an
optional callback, and early stopping on a relative tolerance.

A method provides ``update(state) -> state`` and ``objective(state) -> float``; the state
holds the parameters (so a previous result's state is a warm start).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unweave.errors import UnweaveError

#: The most iterations a method's ``n_iter`` may ask for: past any published setting, and it
#: keeps a run's time bounded.
MAX_ITERATIONS = 10_000


def check_iterations(n_iter: int, minimum: int = 1) -> None:
    """A clear error unless ``minimum <= n_iter <= MAX_ITERATIONS``."""
    if not minimum <= n_iter <= MAX_ITERATIONS:
        raise UnweaveError(f"n_iter must be {minimum} to {MAX_ITERATIONS} (got {n_iter})")


def iterate(update: Callable[[Any], Any], objective: Callable[[Any], float], state: Any,
            n_iter: int, tol: float = 0.0, callback: Callable[[int, Any, float], None] | None
            = None, every: int = 10, converged: Callable[[Any], bool] | None = None
            ) -> tuple[Any, list[float]]:
    """Run ``update`` up to ``n_iter`` times; return the final state and the objective history
    (at the start and every ``every`` iterations, and at the end). Stops early when the
    objective's relative decrease between two checks falls below ``tol``, or as soon as
    ``converged(state)`` is true (a cheap test run after every update)."""
    history = [float(objective(state))]
    for it in range(1, n_iter + 1):
        state = update(state)
        if converged is not None and converged(state):
            value = float(objective(state))
            if callback is not None:
                callback(it, state, value)
            history.append(value)
            break
        if it % every == 0 or it == n_iter:
            value = float(objective(state))
            if callback is not None:
                callback(it, state, value)
            previous = history[-1]
            history.append(value)
            if tol > 0 and abs(previous - value) <= tol * max(abs(previous), 1e-30):
                break
    return state, history
