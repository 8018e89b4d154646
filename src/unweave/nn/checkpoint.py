"""Checkpoints as plain dictionaries that load with ``torch.load(weights_only=True)``:
``model_name``, ``model_args``, ``state_dict``, ``versions`` and ``training`` (epoch, history,
the command that made it). A file carrying a pickled object is refused and nothing runs."""

from __future__ import annotations

from pathlib import Path

from unweave.errors import UnweaveError

FORMAT = 1


def save(path: str | Path, model, model_name: str, model_args: dict, training: dict,
         optimizer_state: dict | None = None) -> Path:
    import torch

    from unweave import __version__
    from unweave.atomic import atomic_path

    data = {"format": FORMAT, "model_name": model_name, "model_args": model_args,
            "state_dict": model.state_dict(),
            "versions": {"unweave": __version__, "torch": str(torch.__version__)},
            "training": training}
    if optimizer_state is not None:
        data["optimizer"] = optimizer_state
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(data, tmp)
    return path


def load(path: str | Path) -> dict:
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise UnweaveError(f"{path}: no such model file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UnweaveError(f"{path}: refused: the file holds pickled Python objects, which "
                           "unweave never loads") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise UnweaveError(f"{path}: not a model file ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not {"model_name", "model_args", "state_dict"} <= set(data):
        raise UnweaveError(f"{path}: not an unweave model checkpoint")
    return data


def load_model(path: str | Path):
    """The network of a checkpoint, in evaluation mode, and the checkpoint dict."""
    from unweave.nn.models import build

    data = load(path)
    model = build(data["model_name"], dict(data["model_args"]))
    try:
        model.load_state_dict(data["state_dict"])
    except (RuntimeError, KeyError) as exc:
        raise UnweaveError(f"{path}: weights do not fit model "
                           f"'{data['model_name']}' ({str(exc).splitlines()[0]})") from None
    return model.eval(), data
