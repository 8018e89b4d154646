"""Checkpoints: plain dictionaries that load with ``torch.load(weights_only=True)``.

The checkpoint is the contract between training and use::

    format          2
    model_name      a registered architecture ("unet", "drnn", "bandgru", ...)
    model_args      the dict that rebuilds it (sources, sample_rate, audio_channels, front end,
                    architecture options)
    state_dict      the weights
    recipe          the trainer that made it ("unweave train <recipe>"): what it separates
    versions        unweave and torch
    training        command, data, split, history, epoch/step, world_size, effective batch
    resume          optimiser, scheduler, random-number and adversary states (left out of
                    shipped weights: :func:`strip`)

A file carrying a pickled object is refused and nothing runs. Files of format 1 (the first
U-Net and DRNN checkpoints) are read and upgraded on the fly (:func:`upgrade`).
"""

from __future__ import annotations

from pathlib import Path

from unweave.errors import UnweaveError

FORMAT = 2


def weights(module) -> dict:
    """``module``'s state dict, detached, on the CPU: what a checkpoint stores."""
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def make(model, recipe: str, training: dict, resume: dict | None = None) -> dict:
    """The checkpoint dictionary of ``model`` (a :class:`SeparationModel`)."""
    import torch

    from unweave import __version__

    data = {"format": FORMAT, "model_name": model.name, "model_args": model.model_args(),
            "state_dict": weights(model),
            "recipe": recipe,
            "versions": {"unweave": __version__, "torch": str(torch.__version__)},
            "training": training}
    if resume is not None:
        data["resume"] = resume
    return data


def save(path: str | Path, data: dict) -> Path:
    """Write ``data`` to ``path`` atomically (a crash never leaves half a checkpoint)."""
    import torch

    from unweave.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(data, tmp)
    return path


def strip(data: dict) -> dict:
    """``data`` without its resume state: what ships."""
    return {k: v for k, v in data.items() if k != "resume"}


def load(path: str | Path) -> dict:
    """The checkpoint at ``path`` (format 2, upgraded when older); one-line errors."""
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
    return upgrade(data)


def upgrade(data: dict) -> dict:
    """A format-1 checkpoint (a vocal-mask ``unet`` or ``drnn`` at 16 kHz, mono, STFT
    1024/256, args holding only the architecture) as format 2; newer ones unchanged."""
    if data.get("format", 1) >= FORMAT:
        return data
    name = data["model_name"]
    args = {"sources": ["vocals", "accompaniment"], "sample_rate": 16000, "audio_channels": 1,
            **{k: v for k, v in dict(data["model_args"]).items() if k != "bins"},
            "n_fft": 1024, "hop": 256}
    old = dict(data.get("training", {}))
    training = {k: v for k, v in old.items() if k not in ("train_tracks", "val_tracks")}
    if "train_tracks" in old:
        training["split"] = {"train": old["train_tracks"], "validation": old["val_tracks"]}
    training["history"] = {("validation" if k == "val_sdr" else k): v
                           for k, v in old.get("history", {}).items()}
    training["upgraded_from_format"] = 1
    state = dict(data["state_dict"])
    if name == "unet":  # its layers now live in a shared U-Net trunk
        state = {("trunk." + k if k.startswith(("down.", "up.")) else k): v
                 for k, v in state.items()}
    return {"format": FORMAT, "model_name": name, "model_args": args,
            "state_dict": state, "recipe": name,
            "versions": data.get("versions", {}), "training": training}


def mismatch(data: dict, model) -> str | None:
    """Why the checkpoint ``data`` cannot hold ``model``'s weights (another architecture or
    other settings), or None when it can."""
    saved = {**model.default_args(), **dict(data["model_args"])}  # newer options: defaults
    if data["model_name"] != model.name or saved != model.model_args():
        return (f"it holds '{data['model_name']}' {dict(data['model_args'])}; this run builds "
                f"'{model.name}' {model.model_args()}")
    return None


def start_from(model, path: str | Path) -> dict:
    """``model`` takes the weights of the checkpoint at ``path`` (fine-tuning: the same
    architecture and settings, else a one-line error). Returns what a new checkpoint records
    of it: the path, and the command and epoch that made it."""
    data = load(path)
    why = mismatch(data, model)
    if why:
        raise UnweaveError(f"{path}: --init needs the same model and the same settings ({why})")
    model.load_state_dict(data["state_dict"])
    made = data.get("training", {})
    return {"path": str(path), "command": made.get("command"), "epoch": made.get("epoch"),
            "init": made.get("init")}


def average(datas: list[dict], names: list[str]) -> dict:
    """One checkpoint whose weights are the mean of those of ``datas`` (named ``names`` in
    errors): checkpoints of one model with the same settings, fine-tuned from one start (a
    model soup, Wortsman et al., ICML 2022) or the last ones of a run. Counters (integer
    buffers) are the first's. Its ``training`` lists each one's training record."""
    import torch

    first = datas[0]
    for name, data in zip(names, datas):
        if (data["model_name"], dict(data["model_args"]), data.get("recipe")) != (
                first["model_name"], dict(first["model_args"]), first.get("recipe")) or \
                data["state_dict"].keys() != first["state_dict"].keys():
            raise UnweaveError(f"{name}: cannot be averaged with {names[0]}: another model, "
                               "recipe or settings")
    state = {}
    for key, value in first["state_dict"].items():
        if value.is_floating_point():
            total = sum(d["state_dict"][key].to(torch.float64) for d in datas)
            state[key] = (total / len(datas)).to(value.dtype)
        else:
            state[key] = value.clone()
    return {**strip(first), "state_dict": state,
            "training": _joined_training("average_of", datas, names)}


def _joined_training(kind: str, datas: list[dict], names: list[str]) -> dict:
    """The ``training`` record of a checkpoint made of ``datas``: each one's record under
    ``kind``, and the data and split they all share (a soup of one split is one split)."""
    records = [{"path": str(n), **d.get("training", {})} for n, d in zip(names, datas)]
    training = {kind: records}
    for key in ("data", "split"):
        if all(r.get(key) == records[0].get(key) for r in records) and key in records[0]:
            training[key] = records[0][key]
    return training


def ensemble(datas: list[dict], names: list[str], half: bool = False,
             source_members: list[int] | None = None) -> dict:
    """One checkpoint whose model holds the members of all of ``datas`` and averages their
    masks (``mtunet``'s ``members``): checkpoints of one model and recipe, the same settings
    but for ``members`` and ``mask_powers`` (reset: calibrate the ensemble anew), each trained
    on its own. ``half`` stores the weights as float16 (half the file; loading casts them
    back to float32). ``source_members`` takes each source's mask from one member (in the
    order given, members of an ensemble counted in turn; -1: the mean of all). Its
    ``training`` lists each one's training record."""

    from unweave.nn.models import MODELS

    first = datas[0]
    cls = MODELS.get(first["model_name"])
    if cls is None or not hasattr(cls, "member_prefix"):
        raise UnweaveError(f"{names[0]}: model '{first['model_name']}' cannot hold an "
                           "ensemble (mtunet can)")

    def settings(data: dict) -> tuple:
        args = {k: v for k, v in dict(data["model_args"]).items()
                if k not in ("members", "mask_powers", "source_members")}
        return data["model_name"], args, data.get("recipe")

    state, count = {}, 0
    for name, data in zip(names, datas):
        if settings(data) != settings(first):
            raise UnweaveError(f"{name}: cannot join an ensemble with {names[0]}: another "
                               "model, recipe or settings")
        for j in range(int(data["model_args"].get("members", 1))):
            source, target = cls.member_prefix(j), cls.member_prefix(count)
            state.update({target + key[len(source):]: value
                          for key, value in data["state_dict"].items()
                          if key.startswith(source)})
            count += 1
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    args = {**dict(first["model_args"]), "members": count, "mask_powers": [],
            "source_members": list(source_members or [])}
    try:  # the model's own checks of its settings
        cls(**args)
    except ValueError as exc:
        raise UnweaveError(f"cannot join an ensemble: {exc}") from None
    return {**strip(first), "model_args": args, "state_dict": state,
            "training": _joined_training("ensemble_of", datas, names)}


def model_from(data: dict, name: str | Path = "checkpoint"):
    """The network of the checkpoint dict ``data`` (``name`` in errors), in evaluation mode."""
    from unweave.nn.models import build

    model = build(data["model_name"], dict(data["model_args"]))
    try:
        model.load_state_dict(data["state_dict"])
    except (RuntimeError, KeyError) as exc:
        raise UnweaveError(f"{name}: weights do not fit model "
                           f"'{data['model_name']}' ({str(exc).splitlines()[0]})") from None
    return model.eval()


def load_model(path: str | Path):
    """The network of a checkpoint, in evaluation mode, and the checkpoint dict."""
    data = load(path)
    return model_from(data, path), data
