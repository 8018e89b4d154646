"""The ``unweave`` command: separate | evaluate | train | report | methods | demo.

User mistakes (missing files, bad options, unusable input) print one line ``unweave: error:
...`` and exit with status 2; nothing is written in their place.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import warnings
from pathlib import Path

from unweave.errors import UnweaveError, debugging, describe
from unweave.memory import reuse_freed_memory
from unweave.nn.device import DEVICE_HELP

EXIT_USAGE = 2


def get_method(name: str):
    """The method class ``name`` (methods are imported when a command needs one: start-up
    stays fast)."""
    from unweave.methods import get_method as lookup

    return lookup(name)

def finite_float(text: str) -> float:
    """A float option: NaN and infinity are refused (they would pass every range check)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


finite_float.__name__ = "float"  # argparse names the type in its messages and metavars
OPTION_TYPES = {"int": int, "float": finite_float, "str": str, "bool": bool}
#: Shorter flags users expect for some options (``--sources 3`` for ``n_sources``).
FLAG_ALIASES = {"n_sources": ["--sources"]}


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit status 2."""

    def error(self, message):
        raise UnweaveError(message)


def _report(message: str) -> None:
    print(f"unweave: error: {message}", file=sys.stderr)


def _skipped(message: str) -> None:
    """A training file that cannot be read: said, and left out."""
    print(f"unweave: warning: skipped {message}", file=sys.stderr)


# --- method options ---------------------------------------------------------------------------

def add_method_options(parser: argparse.ArgumentParser, cls) -> None:
    """Flags for a method's options, made from its dataclass fields (``n_fft`` -> ``--n-fft``).

    Options not given stay unset, so the method's own defaults apply.
    """
    group = parser.add_argument_group(f"options of method '{cls.name}'")
    for f in cls.options():
        kind = OPTION_TYPES.get(str(f.type), str)
        flags = ["--" + f.name.replace("_", "-")] + FLAG_ALIASES.get(f.name, [])
        if kind is bool:
            group.add_argument(*flags, dest=f"opt_{f.name}",
                               action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS)
        else:
            group.add_argument(*flags, dest=f"opt_{f.name}", type=kind,
                               default=argparse.SUPPRESS, metavar=kind.__name__.upper(),
                               help=f"default {f.default!r}")


def method_options(args: argparse.Namespace) -> dict:
    return {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_")}


def _prescan_method(argv: list[str]) -> str | None:
    """The value of -m/--method, read before the full parser is built."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("-m", "--method")
    try:
        known, _ = pre.parse_known_args(argv)
    except SystemExit:
        return None
    return known.method


def _unknown_option(extra: list[str], method: str | None) -> UnweaveError:
    flags = []
    if method:
        flags = ["--" + f.name.replace("_", "-") for f in get_method(method).options()]
    word = extra[0].split("=")[0]
    close = difflib.get_close_matches(word, flags, n=1) if word.startswith("--") else []
    hint = f"; did you mean {close[0]}?" if close else ""
    where = f" for method '{method}'" if method else ""
    return UnweaveError(f"unrecognized argument {extra[0]}{where}{hint}")


# --- separate ---------------------------------------------------------------------------------

def _prepare_outdir(outdir: Path) -> None:
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UnweaveError(f"{outdir}: cannot create output folder ({exc.strerror})") from None
    if not outdir.is_dir() or not os.access(outdir, os.W_OK | os.X_OK):
        raise UnweaveError(f"{outdir}: output folder is not writable")


def cmd_separate(args) -> int:
    from unweave.batch import Settings, Task, run_tasks

    cls = get_method(args.method)
    options = method_options(args)
    cls(**options)  # validate the options once, before any work
    if cls.assumptions.needs_references and args.reference is None:
        raise UnweaveError(f"'{cls.name}' is an oracle: give the true sources with "
                           "--reference DIR")
    if args.bits is None:
        args.bits = 32 if args.format == "wav" else 24
    if args.chunk_seconds <= 0 or args.overlap_seconds < 0:
        raise UnweaveError("--chunk-seconds must be > 0 and --overlap-seconds >= 0")
    if args.jobs < 1:
        raise UnweaveError("--jobs must be >= 1")
    reference = None
    if args.reference is not None:
        reference = Path(args.reference)
        if not reference.exists():
            raise UnweaveError(f"{reference}: no such reference folder or file")
    outdir = Path(args.out)
    from unweave.paths import expand_inputs, unique_track_names

    files = expand_inputs(args.inputs, exclude=outdir)
    _prepare_outdir(outdir)
    settings = Settings(str(outdir), args.force, args.format, args.bits,
                        str(reference) if reference else None, args.chunk_seconds,
                        args.overlap_seconds)
    tasks = [Task(str(p), t, args.method, options, settings)
             for p, t in zip(files, unique_track_names(files))]
    outcomes = run_tasks(tasks, args.jobs, quiet=args.quiet, backend=args.backend,
                         address=args.address)
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        _report(o.message)
    if len(tasks) > 1 or any(o.status == "skipped" for o in outcomes):
        counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed")}
        print(f"{counts['done']} separated, {counts['skipped']} skipped (already done), "
              f"{counts['failed']} failed", file=sys.stderr)
    if failed:
        if len(tasks) > 1:
            _report(f"{len(failed)} of {len(tasks)} inputs failed")
        return EXIT_USAGE
    return 0


# --- stream -----------------------------------------------------------------------------------

def cmd_stream(args) -> int:
    from unweave import live

    cls = get_method(args.method)
    separator = cls(**method_options(args))
    if not getattr(separator, "causal", False):
        raise UnweaveError(f"method '{cls.name}' cannot stream: it is not causal (use "
                           "'unweave separate')")
    source = args.source or separator.sources[0]
    if source not in separator.sources:
        raise UnweaveError(f"--source {source}: the model gives {', '.join(separator.sources)}")
    if not 1 <= args.block_ms <= 1000:
        raise UnweaveError("--block-ms must be between 1 and 1000")
    out_pipe = args.output == "-"
    if not out_pipe:
        target = Path(args.output)
        if target.exists() and not args.force:
            raise UnweaveError(f"{target}: exists (use --force to overwrite)")
        if target.suffix.lower() not in (".wav", ".flac"):
            raise UnweaveError(f"{target}: write a .wav or .flac file (or '-' for raw PCM)")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    if args.input == "-":
        rate, channels = live.check_pipe_format(args.rate, args.channels)
        blocks = live.pipe_blocks(stdin, channels, max(1, int(args.block_ms * rate / 1000)))
        closer = None
    else:
        if args.rate is not None or args.channels is not None:
            raise UnweaveError("--rate and --channels are for raw PCM on a pipe (IN '-'); a "
                               "file says its own")
        blocks = live.FileInput(Path(args.input), args.block_ms / 1000)
        rate, channels, closer = blocks.sample_rate, blocks.channels, blocks
    try:
        streamer = separator.streamer(rate, channels)
        if out_pipe:
            sink = live.PipeWriter(stdout)
            try:
                live.run(streamer, blocks, {source: sink})
            except BrokenPipeError:
                _silence_stdout()
                raise UnweaveError("the output pipe was closed before the end") from None
            return 0
        from unweave.audio import AudioWriter

        bits = 32 if target.suffix.lower() == ".wav" else 24
        with AudioWriter(target, rate, channels, bits=bits, overwrite=args.force) as writer:
            live.run(streamer, blocks, {source: writer})
        if not args.quiet:
            print(f"written: {target}", file=sys.stderr)
        return 0
    finally:
        if closer is not None:
            closer.close()


def _silence_stdout() -> None:
    """After a broken pipe, send stdout to /dev/null so Python's exit flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


# --- evaluate ---------------------------------------------------------------------------------

class _NoBar(list):
    """What ``cmd_evaluate`` uses of a tqdm bar, for one track or --quiet: tqdm's import
    (20 ms) is then not paid."""

    def set_description(self, text: str) -> None:
        pass

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass

    @staticmethod
    def write(text: str, file=None) -> None:
        print(text, file=file or sys.stdout)


def _track_bar(pairs: list, shown: bool):
    if not shown:
        return _NoBar(pairs)
    from tqdm import tqdm

    return tqdm(pairs, unit="track", file=sys.stderr)


def cmd_evaluate(args) -> int:
    from unweave.atomic import write_text
    from unweave.evaluation import evaluate_pair, find_tracks
    from unweave.metrics.results import format_table, parse_metrics, summarize, to_csv, to_json

    parse_metrics(args.metric)  # a bad name is one line before any work
    pairs = find_tracks(Path(args.reference), Path(args.estimate))
    for target in (args.json, args.csv):
        if target and Path(target).exists() and not args.force:
            raise UnweaveError(f"{target}: exists (use --force to overwrite)")
    baselines = tuple(args.baselines.split(",")) if args.baselines else ()
    for b in baselines:
        get_method(b)
    results: dict[str, list] = {}
    failed = 0
    bar = _track_bar(pairs, shown=not args.quiet and len(pairs) > 1)
    for pair in bar:
        bar.set_description(pair.name[:30])
        try:
            scores = evaluate_pair(pair, args.metric, args.window, args.hop, baselines,
                                   args.permutation)
        except Exception as exc:  # noqa: BLE001 - one failed track must not stop the others
            if debugging():
                raise
            failed += 1
            bar.clear()
            text = describe(exc)
            _report(f"{pair.name}: {text}" if pair.name not in text else text)
            continue
        for key, track in scores.items():
            results.setdefault(key, []).append(track)
        est = scores["estimate"]
        for what, names in (("no estimate for", est.missing), ("no reference for", est.extra)):
            if names:
                bar.write(f"unweave: warning: {pair.name}: {what} {', '.join(names)}",
                          file=sys.stderr)
        if len(pairs) > 1 and not args.quiet:
            bar.write(format_table(est.medians(), f"{pair.name}"), file=sys.stderr)
    bar.close()
    if not results:
        raise UnweaveError("no track could be evaluated")
    tracks = results["estimate"]
    params = tracks[0].params()
    where = "median of per-track medians" if len(pairs) > 1 else "median over windows"
    print(f"{params['version']}; window {params['window']} hop {params['hop']} samples; "
          f"{where}; {len(tracks)} track(s)")
    print(format_table(summarize(tracks), "estimates"))
    for key, rows in results.items():
        if key != "estimate":
            print(format_table(summarize(rows), f"baseline: {key}"))
    if args.json:
        write_text(args.json, to_json(tracks))
    if args.csv:
        write_text(args.csv, to_csv(tracks))
    if failed:
        _report(f"{failed} of {len(pairs)} tracks failed")
        return EXIT_USAGE
    return 0


# --- train ------------------------------------------------------------------------------------

def cmd_train(args) -> int:
    if args.trainer is None:
        from unweave.nn.train.recipes import RECIPES

        raise UnweaveError("name the model to train, e.g. 'unweave train nmf ...' (trainable: "
                           f"nmf, {', '.join(RECIPES)})")
    if args.trainer == "nmf":
        return _train_nmf(args)
    return _train_network(args)


def _train_nmf(args) -> int:
    from unweave.methods.nmf import default_stft, save_bases, train_bases

    if not args.source:
        raise UnweaveError("--source NAME is required: the source the bases describe")
    out = Path(args.out)
    if out.exists() and not args.force:
        raise UnweaveError(f"{out}: exists (use --force to overwrite)")
    if args.components < 1 or args.iter < 1:
        raise UnweaveError("--components and --iter must be >= 1")
    from unweave.audio import read_audio
    from unweave.data.index import read_each
    from unweave.paths import expand_inputs

    files = expand_inputs(args.data)
    recordings, rates = [], set()
    for _, (audio, rate) in read_each(files, read_audio, _skipped):
        recordings.append(audio)
        rates.add(rate)
    if not recordings:
        raise UnweaveError("none of the training files could be read")
    if len(rates) != 1:
        raise UnweaveError(f"training files have different sample rates {sorted(rates)}; "
                           "resample them to one")
    rate = rates.pop()
    bases = train_bases(recordings, rate, args.components, args.beta, args.iter, args.seed)
    save_bases(out, bases, args.source, rate, default_stft(rate), args.beta)
    print(f"{out}: {args.components} bases for '{args.source}' at {rate} Hz from "
          f"{len(recordings)} file(s)")
    return 0


def _train_network(args) -> int:
    import shlex

    import torch

    from unweave.nn.models import build
    from unweave.nn.train.loop import TrainConfig, best_path, train
    from unweave.nn.train.recipes import get_recipe, music_task, speech_task, talkers_task

    recipe = get_recipe(args.trainer)
    out = Path(args.out)
    if out.exists() and not (args.force or args.resume):
        raise UnweaveError(f"{out}: exists (use --resume to continue it, --force to replace)")
    if min(args.epochs, args.steps, args.batch) < 1 or args.workers < 0 or \
            args.checkpoint_every < 0:
        raise UnweaveError("--epochs, --steps and --batch must be >= 1, --workers and "
                           "--checkpoint-every >= 0")
    if not 0.05 <= args.segment <= 600 or not 0 < args.lr <= 1 or args.clip_grad < 0:
        raise UnweaveError("need 0.05 <= --segment <= 600 seconds, 0 < --lr <= 1 and "
                           "--clip-grad >= 0")
    if not 0 <= args.ema < 1:
        raise UnweaveError("--ema must be in [0, 1)")
    from dataclasses import replace

    if recipe.data == "talkers":
        if not 2 <= args.talkers <= 8:
            raise UnweaveError("--talkers must be between 2 and 8")
        recipe = replace(recipe, sources=tuple(f"talker_{i + 1}" for i in range(args.talkers)))
    recipe = replace(recipe, segment=args.segment)
    if args.loss:
        recipe = _with_loss(recipe, args.loss)
    model_args = {"sources": list(recipe.sources), "sample_rate": recipe.sample_rate,
                  "audio_channels": recipe.audio_channels, **recipe.model_args,
                  **{k[6:]: v for k, v in vars(args).items() if k.startswith("model_")}}
    torch.manual_seed(args.seed)
    model = build(recipe.model, model_args)
    if recipe.domain == "magnitude" and not hasattr(model, "magnitudes"):
        raise UnweaveError(f"--loss {recipe.loss}: '{recipe.model}' gives no masked magnitudes "
                           "to score; take a waveform loss")
    init = None
    if args.init and not (args.resume and out.exists()):
        from unweave.nn.checkpoint import start_from

        init = start_from(model, args.init)
    main_rank = os.environ.get("RANK", "0") == "0"
    progress = main_rank and not args.quiet
    if recipe.data == "music":
        task, adversary = music_task(recipe, _music_options(args), args.seed, _skipped,
                                     progress)
    elif recipe.data == "speech_noise":
        task, adversary = speech_task(recipe, _speech_options(args), args.seed, _skipped,
                                      progress)
    else:
        task, adversary = talkers_task(recipe, _talker_options(args), args.seed, _skipped,
                                       progress)
    task.info["command"] = "unweave " + shlex.join(args.argv)
    task.info["loss"] = recipe.loss
    if init is not None:
        task.info["init"] = init
    config = TrainConfig(args.epochs, args.steps, args.batch, args.lr, args.weight_decay,
                         args.clip_grad, args.scheduler, args.patience, args.seed, args.device,
                         args.workers, args.checkpoint_every, not args.no_amp,
                         args.max_minutes, args.ema, ema_warmup=init is None)
    split = task.info["split"]
    unit = "tracks" if recipe.data == "music" else "speakers"
    if main_rank and not args.quiet:
        print(f"training {recipe.name} ({sum(p.numel() for p in model.parameters()):,} "
              f"parameters) on {len(split['train'])} {unit}, validating on "
              f"{len(split['validation'])}"
              + (" of them (in-sample)" if split.get("validation_trained") else ""),
              file=sys.stderr)
    history = train(model, task, config, out, recipe.name, resume=args.resume,
                    adversary=adversary, progress=not args.quiet)
    if main_rank:
        best = max((v for v in history["validation"] if math.isfinite(v)), default=float("nan"))
        print(f"{out}: loss {history['loss'][-1]:.4f}, validation {history['validation'][-1]:.2f}"
              f" (best {best:.2f}: {best_path(out)})")
    return 0


def _with_loss(recipe, name: str):
    """``recipe`` trained with the loss ``name``: a waveform loss of
    :data:`unweave.nn.losses.LOSSES`, or a masked-magnitude one of ``MAGNITUDE_LOSSES``
    (:attr:`Recipe.domain`)."""
    from dataclasses import replace

    from unweave.nn.losses import LOSSES, MAGNITUDE_LOSSES

    names = {*LOSSES, *MAGNITUDE_LOSSES}
    if name not in names:
        raise UnweaveError(f"--loss {name}: unknown; choose from {', '.join(sorted(names))}")
    return replace(recipe, loss=name)  # its domain follows from the name


def _music_options(args):
    from unweave.nn.train.recipes import MusicData

    if not 0 <= args.validation < 1 or not 0 <= args.remix <= 1 or not 0 <= args.extra_p <= 1:
        raise UnweaveError("--validation must be in [0, 1), --remix and --extra-p in [0, 1]")
    if not (0 <= args.vocal_speed < 0.5 and 0 <= args.stem_speed < 0.5):
        raise UnweaveError("--vocal-speed and --stem-speed must be in [0, 0.5)")
    if not 0 <= args.wiener_iterations <= 10:
        raise UnweaveError("--wiener-iterations must be between 0 and 10")
    extra_sources = _names(args.extra_sources) or ["vocals"]
    if extra_sources != ["vocals"] and not args.extra_vocals:
        raise UnweaveError("--extra-sources names what --extra-vocals DIR gives: add it")
    return MusicData(args.data, validation=args.validation, valid=_names(args.valid),
                     train_valid=args.train_valid,
                     remix=args.remix, validation_seconds=args.validation_seconds,
                     extra_vocals=args.extra_vocals or [], extra_p=args.extra_p,
                     extra_sources=extra_sources,
                     unpaired=args.unpaired, adversarial=args.adversarial,
                     gamma=getattr(args, "gamma", None), vocal_speed=args.vocal_speed,
                     stem_speed=args.stem_speed, scored=_names(args.scored),
                     wiener_iterations=args.wiener_iterations)


def _speech_options(args):
    from unweave.nn.train.recipes import SpeechData

    try:
        low, high = (float(v) for v in args.snr.split(","))
    except ValueError:
        raise UnweaveError(f"--snr {args.snr!r}: give LOW,HIGH in dB, e.g. -5,20") from None
    if not -30 <= low <= high <= 60 or not math.isfinite(low + high):
        raise UnweaveError("--snr needs -30 <= LOW <= HIGH <= 60")
    if not 0 < args.validation < 1 or not 0 <= args.reverb <= 1 or \
            not 1 <= args.validation_examples <= 10_000:
        raise UnweaveError("--validation must be in (0, 1), --reverb in [0, 1], "
                           "--validation-examples in 1..10000")
    if not all(0 <= v <= 1 for v in (args.synthetic_noise, args.eq)) or \
            not 0 <= args.noise_speed < 0.5:
        raise UnweaveError("--synthetic-noise and --eq must be in [0, 1], --noise-speed in "
                           "[0, 0.5)")
    return SpeechData(args.speech, args.noise, args.music, args.rirs, args.exclude,
                      args.validation, (low, high), args.reverb, args.validation_examples,
                      args.synthetic_noise, args.noise_speed, args.eq,
                      args.validation_noise)


def _talker_options(args):
    from unweave.nn.train.recipes import TalkerData

    if not 0 < args.validation < 1 or not 0 <= args.noise_p <= 1 or not 0 <= args.reverb <= 1 \
            or not 0 <= args.level_db <= 40 or not 1 <= args.validation_examples <= 10_000 \
            or not 0 <= args.turns <= 1:
        raise UnweaveError("--validation must be in (0, 1), --noise-p, --reverb and --turns in "
                           "[0, 1], --level-db in [0, 40], --validation-examples in 1..10000")
    return TalkerData(args.speech, args.noise, args.rirs, args.exclude, args.validation,
                      args.level_db, args.noise_p, args.reverb, args.validation_examples,
                      args.turns)


def _names(text: str | None) -> list[str]:
    """Comma-separated names (track names may hold spaces, not commas)."""
    return [n.strip() for n in (text or "").split(",") if n.strip()]


# --- average ----------------------------------------------------------------------------------

def _join_checkpoints(args, combine, what: str) -> int:
    """Write ``combine(checkpoints, names)`` to ``--out`` (never over a file without
    ``--force``), with the command that made it."""
    import shlex

    from unweave.nn import checkpoint

    out = Path(args.out)
    if out.exists() and not args.force:
        raise UnweaveError(f"{out}: exists (use --force to replace it)")
    if len(args.models) < 2:
        raise UnweaveError(f"name at least two checkpoints to {what}")
    data = combine([checkpoint.load(m) for m in args.models], args.models)
    data["training"]["command"] = "unweave " + shlex.join(args.argv)
    checkpoint.save(out, data)
    if not args.quiet:
        print(f"{out}: {what}d {len(args.models)} checkpoints of '{data['model_name']}' "
              f"({data.get('recipe')})")
    return 0


def cmd_average(args) -> int:
    from unweave.nn import checkpoint

    return _join_checkpoints(args, checkpoint.average, "average")


# --- ensemble ---------------------------------------------------------------------------------

def cmd_ensemble(args) -> int:
    from unweave.nn import checkpoint

    return _join_checkpoints(
        args, lambda datas, names: checkpoint.ensemble(
            datas, names, half=args.half, source_members=args.source_members), "combine")


# --- report -----------------------------------------------------------------------------------

def cmd_report(args) -> int:
    from unweave.report_build import build_report

    reference = Path(args.reference) if args.reference else None
    if reference is not None and not reference.exists():
        raise UnweaveError(f"{reference}: no such reference folder")
    index = build_report(Path(args.results), reference, args.force)
    print(f"report written: {index}")
    return 0


# --- methods ----------------------------------------------------------------------------------

def cmd_methods(args) -> int:
    if args.name:
        cls = get_method(args.name)
        print(f"{cls.name}: {cls.summary}\n  reference: {cls.reference}")
        a = cls.assumptions
        print(f"  channels: {a.channels_text()}  content: {a.content}  mixing: {a.mixing}")
        if hasattr(cls, "describe"):
            try:
                for line in cls().describe():
                    print(f"  {line}")
            except UnweaveError as exc:  # no bundled model here: still list the options
                print(f"  model: {exc}")
        print("  options:")
        for f in cls.options():
            print(f"    --{f.name.replace('_', '-'):<16} {f.type!s:<6} default {f.default!r}")
        return 0
    from unweave.methods import available_methods

    rows = [("method", "channels", "mixing", "content", "needs", "what it does")]
    for name, cls in available_methods().items():
        a = cls.assumptions
        needs = [k for k, v in (("references", a.needs_references), ("training",
                 a.needs_training), ("score", a.needs_score)) if v]
        rows.append((name, a.channels_text(), a.mixing.split(" (")[0], a.content.split(" (")[0],
                     ",".join(needs) or "-", cls.summary))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[5])
    return 0


# --- serve ------------------------------------------------------------------------------------

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def cmd_serve(args) -> int:
    try:
        import uvicorn

        from unweave.serve.app import create_app, default_data_folder
    except ImportError as exc:
        raise UnweaveError(f"unweave serve needs the 'serve' extra ({exc.name} is missing): "
                           "pip install 'unweave[serve]'") from None
    if args.jobs < 1 or args.max_upload_mb <= 0 or not 0 < args.port < 65536:
        raise UnweaveError("need --jobs >= 1, --max-upload-mb > 0 and a port in 1..65535")
    data = Path(args.data) if args.data else default_data_folder()
    if args.host not in LOOPBACK:
        print(f"unweave: warning: serving on {args.host}: anyone who can reach this address "
              "can upload files and run separations", file=sys.stderr)
    app = create_app(data, args.jobs, args.max_upload_mb)
    print(f"unweave: serving on http://{args.host}:{args.port}/ (jobs in {data}; "
          "Ctrl-C stops)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


# --- demo -------------------------------------------------------------------------------------

def cmd_demo(args) -> int:
    from unweave.demo import run_demo

    data = Path(args.data) if args.data else Path("../shared/data")
    page = run_demo(Path(args.out), force=args.force, quiet=args.quiet,
                    data=data if data.is_dir() else None)
    print(f"demo written: {page}")
    return 0


# --- train parser ---------------------------------------------------------------------------

MODEL_OPTION_TYPES = {"int": int, "float": finite_float, "str": str}


def _ints(text: str) -> list[int]:
    return [int(c) for c in text.split(",")]


_ints.__name__ = "ints"


def _floats(text: str) -> list[float]:
    return [finite_float(c) for c in text.split(",")]


_floats.__name__ = "floats"
LIST_OPTION_TYPES = {"ints": _ints, "floats": _floats}


def add_train_parser(sub, trainer: str | None) -> None:
    """``train`` with one sub-command per trainer; only ``trainer``'s flags are built (a
    network's flags come from its model's definition, which imports torch)."""
    from unweave.nn.train.recipes import RECIPES

    p = sub.add_parser("train", help="learn a model: nmf bases or a network",
                       description="Learn NMF bases (unweave train nmf ...) or train a network "
                       "(unweave train unet|drnn ...); 'unweave train NAME --help' lists its "
                       "options. Networks train on one process, or on several under "
                       "'torchrun --nproc-per-node N -m unweave train ...'.")
    trainers = p.add_subparsers(dest="trainer", parser_class=OneLineParser, metavar="MODEL")
    p.set_defaults(func=cmd_train, trainer=None)
    n = trainers.add_parser("nmf", help="NMF bases of one source, for -m nmf --bases",
                            description="unweave train nmf --source vocals --data voice/*.wav "
                            "--out vocals.npz")
    if trainer == "nmf":
        n.add_argument("--source", help="name of the source the examples hold (e.g. vocals)")
        n.add_argument("--data", nargs="+", required=True, help="example files, folders, globs")
        n.add_argument("--out", required=True, help="output .npz file")
        n.add_argument("--components", type=int, default=32, help="number of bases")
        n.add_argument("--beta", type=finite_float, default=1.0, choices=[0.0, 1.0, 2.0])
        n.add_argument("--iter", type=int, default=200, help="iterations")
        n.add_argument("--seed", type=int, default=0)
        n.add_argument("--force", action="store_true")
    for name, recipe in RECIPES.items():
        r = trainers.add_parser(name, help=recipe.summary, description=recipe.summary)
        if name == trainer:
            _add_network_flags(r, recipe)


def _add_network_flags(p: argparse.ArgumentParser, recipe) -> None:
    from unweave.nn.models import MODELS
    from unweave.nn.train.loop import SCHEDULERS

    {"music": lambda: _add_music_flags(p, recipe), "speech_noise": lambda: _add_speech_flags(p),
     "talkers": lambda: _add_talker_flags(p)}[recipe.data]()
    g = p.add_argument_group("training")
    g.add_argument("--out", required=True, help="checkpoint to write (.pt)")
    g.add_argument("--force", action="store_true", help="replace --out")
    g.add_argument("--resume", action="store_true", help="continue --out where it stopped")
    g.add_argument("--init", metavar="MODEL", help="start from this checkpoint's weights "
                   "(fine-tuning: same architecture and settings; fresh optimiser)")
    g.add_argument("--epochs", type=int, default=recipe.epochs)
    g.add_argument("--steps", type=int, default=recipe.steps, help="optimiser steps per epoch")
    g.add_argument("--batch", type=int, default=recipe.batch,
                   help="examples per step (per process under torchrun)")
    g.add_argument("--segment", type=finite_float, default=recipe.segment,
                   help="seconds per example")
    g.add_argument("--lr", type=finite_float, default=recipe.lr, help="learning rate")
    g.add_argument("--weight-decay", type=finite_float, default=0.0)
    g.add_argument("--loss", help=f"training loss (default {recipe.loss}): a waveform loss "
                   "(si_sdr, snr, l1, spectral_l1, multi_resolution, si_sdr_multires...) or, "
                   "for mask networks, a masked-magnitude one (magnitude_l1, magnitude_mse...)")
    g.add_argument("--clip-grad", type=finite_float, default=recipe.clip_grad,
                   help="largest gradient norm (0: no clipping)")
    g.add_argument("--scheduler", choices=SCHEDULERS, default="none")
    g.add_argument("--patience", type=int, default=3, help="plateau: epochs before halving")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="cpu", type=_device_name, help=DEVICE_HELP)
    g.add_argument("--workers", type=int, default=0, help="data loading processes")
    g.add_argument("--checkpoint-every", type=int, default=0,
                   help="also checkpoint every N steps (0: at each epoch's end)")
    g.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    g.add_argument("--max-minutes", type=finite_float, default=0.0,
                   help="stop after the first epoch ending past this (0: no limit); "
                   "--resume continues")
    g.add_argument("--ema", type=finite_float, default=0.0, metavar="DECAY",
                   help="validate and ship a moving average of the weights, updated each step "
                   "with this decay (0.999: about the last 1000 steps), lower over the first "
                   "steps (warm-up; with --init the average starts at the initial weights at "
                   "this decay); 0: none")
    g.add_argument("-q", "--quiet", action="store_true")
    cls = MODELS[recipe.model]
    g = p.add_argument_group(f"options of model '{cls.name}' ({cls.summary})")
    defaults = {o.name: o.default for o in cls.options()} | recipe.model_args
    for o in cls.options():
        flag = "--" + o.name.replace("_", "-")
        default = defaults[o.name]
        shown = ",".join(map(str, default)) if o.kind in LIST_OPTION_TYPES else default
        if o.kind == "bool":
            g.add_argument(flag, dest=f"model_{o.name}", action=argparse.BooleanOptionalAction,
                           default=argparse.SUPPRESS)
        else:
            kind = LIST_OPTION_TYPES.get(o.kind) or MODEL_OPTION_TYPES[o.kind]
            g.add_argument(flag, dest=f"model_{o.name}", type=kind, default=argparse.SUPPRESS,
                           metavar=kind.__name__.upper(), help=f"default {shown}")


def _add_music_flags(p: argparse.ArgumentParser, recipe) -> None:
    g = p.add_argument_group("data (tracks with stems: stem folders, MUSDB18 .stem.mp4, "
                             "MUSDB18-HQ, MIR-1K stereo pairs; a folder with train/ gives "
                             "train/ only)")
    g.add_argument("--data", nargs="+", required=True, help="data folders")
    g.add_argument("--validation", type=finite_float, default=0.15,
                   help="share of groups (songs, singers) held out for validation"
                   + (" when the data has none of the recipe's validation tracks"
                      if recipe.valid else ""))
    g.add_argument("--valid", help="hold out these tracks instead (comma-separated names)")
    g.add_argument("--train-valid", action="store_true",
                   help="train on the validation tracks too, for a final model once the "
                   "settings and epoch count were chosen on them (Demucs's train_valid); "
                   "validation scores are then in-sample")
    g.add_argument("--validation-seconds", type=finite_float, default=10.0,
                   help="seconds of each validation track scored")
    g.add_argument("--remix", type=finite_float, default=recipe.remix,
                   help="chance that a source comes from another track")
    g.add_argument("--extra-vocals", nargs="+", help="more vocals: folders of tracks with a "
                   "vocals stem (MIR-1K pairs...) whose vocals join the training pool")
    g.add_argument("--extra-p", type=finite_float, default=0.25,
                   help="chance that an example's vocals come from --extra-vocals")
    g.add_argument("--extra-sources", default="vocals", metavar="NAMES",
                   help="sources drawn from --extra-vocals (comma-separated; 'vocals,other': "
                   "a MIR-1K clip's accompaniment may stand in for 'other' too, each with "
                   "chance --extra-p)")
    g.add_argument("--vocal-speed", type=finite_float, default=recipe.vocal_speed, metavar="R",
                   help="read each vocal excerpt up to R faster or slower (0.15: +-15%%; pitch "
                   "and formants shift together, as from another singer); 0: never")
    g.add_argument("--stem-speed", type=finite_float, default=0.0, metavar="R",
                   help="read each excerpt of the other sources up to R faster or slower, each "
                   "at its own speed (Demucs's pitch/tempo augmentation, per source); 0: never")
    g.add_argument("--scored", help="train and validate on these sources only (comma-"
                   "separated, e.g. vocals: a specialist for an ensemble); default: the "
                   "recipe's")
    g.add_argument("--wiener-iterations", type=int, default=0, metavar="N",
                   help="train and validate through N passes of the multichannel Wiener "
                   "filter that `separate --wiener-iterations N` applies (a waveform loss; "
                   "0: the masks alone)")
    g.add_argument("--unpaired", help="folder with mixtures/ and vocals/ (no pairs) for "
                   "adversarial semi-supervised training")
    g.add_argument("--adversarial", type=finite_float, default=0.1,
                   help="weight of the adversarial loss with --unpaired")
    if recipe.loss == "magnitude_discriminative":
        g.add_argument("--gamma", type=finite_float, default=0.05, help="weight of the "
                       "discriminative term (0: plain squared error)")


def _add_speech_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (speech and noise, mixed on the fly)")
    g.add_argument("--speech", nargs="+", required=True, help="speech: folders (a folder per "
                   "speaker) or Kaldi data folders / wav.scp lists with utt2spk")
    g.add_argument("--noise", nargs="+", default=[], help="noise recordings: files or folders")
    g.add_argument("--music", nargs="+", default=[], help="tracks whose stems other than "
                   "vocals are noise too (MIR-1K pairs, MUSDB train/)")
    g.add_argument("--rirs", nargs="+", default=[], help="room impulse responses (files or "
                   "folders; every channel is one) for reverberation")
    g.add_argument("--exclude", nargs="+", default=[], help="file-name globs left out of "
                   "speech and noise (e.g. noise types kept for testing)")
    g.add_argument("--validation", type=finite_float, default=0.1,
                   help="share of speakers held out for validation")
    g.add_argument("--snr", default="-5,20", help="SNR range in dB, LOW,HIGH")
    g.add_argument("--reverb", type=finite_float, default=0.3,
                   help="chance that an example is reverberant (with --rirs)")
    g.add_argument("--validation-examples", type=int, default=64)
    g.add_argument("--synthetic-noise", type=finite_float, default=0.3, metavar="P",
                   help="chance that a noise is procedural (colored, hum, modulated, bursts)")
    g.add_argument("--noise-speed", type=finite_float, default=0.3, metavar="R",
                   help="read each noise recording up to R faster or slower")
    g.add_argument("--eq", type=finite_float, default=0.5, metavar="P",
                   help="chance of a random equaliser on the noise")
    g.add_argument("--validation-noise", nargs="+", default=[], metavar="GLOB",
                   help="noise file names held out of training and used for validation "
                   "only (noise types never trained on)")

def _add_talker_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (utterances of different speakers, mixed on the fly)")
    g.add_argument("--speech", nargs="+", required=True, help="speech: folders (a folder per "
                   "speaker) or Kaldi data folders / wav.scp lists with utt2spk")
    g.add_argument("--talkers", type=int, default=2, help="talkers per mixture (the model's "
                   "sources: talker_1..N)")
    g.add_argument("--noise", nargs="+", default=[], help="light noise now and then")
    g.add_argument("--rirs", nargs="+", default=[], help="room impulse responses")
    g.add_argument("--exclude", nargs="+", default=[], help="file-name globs left out")
    g.add_argument("--validation", type=finite_float, default=0.1,
                   help="share of speakers held out for validation")
    g.add_argument("--level-db", type=finite_float, default=5.0,
                   help="talkers' levels within this many dB of each other")
    g.add_argument("--noise-p", type=finite_float, default=0.2, help="chance of noise")
    g.add_argument("--reverb", type=finite_float, default=0.2, help="chance of a room")
    g.add_argument("--turns", type=finite_float, default=0.0, help="chance that a training "
                   "example's talkers take turns, each heard in part of it (as in "
                   "conversations); 0: always all at once")
    g.add_argument("--validation-examples", type=int, default=64)


def _device_name(text: str) -> str:
    from unweave.nn.device import check_device_name

    try:
        return check_device_name(text)
    except UnweaveError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _prescan_trainer(argv: list[str]) -> str | None:
    """The word after ``train`` (the trainer), read before the full parser is built."""
    if "train" not in argv:
        return None
    rest = argv[argv.index("train") + 1:]
    return next((a for a in rest if not a.startswith("-")), None)


# --- parser -----------------------------------------------------------------------------------

def build_parser(method: str | None = None, trainer: str | None = None) -> OneLineParser:
    """The full parser; ``method`` adds that method's option flags to ``separate``,
    ``trainer`` the flags of ``train <trainer>`` (its model's options among them)."""
    parser = OneLineParser(prog="unweave", description="Sound source separation.")
    from unweave import __version__

    parser.add_argument("--version", action="version", version=f"unweave {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    p = sub.add_parser("separate", help="separate audio files into sources",
                       description="Separate INPUT files (files, folders or globs) with a method; "
                       "method options follow as flags, e.g. -m hpss --kernel 17 --margin 2. "
                       "'unweave methods NAME' lists a method's options.")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("-m", "--method", required=True, help="method name (see 'unweave methods')")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("--format", choices=["wav", "flac"], default="wav")
    p.add_argument("--bits", type=int, choices=[16, 24, 32], default=None,
                   help="sample format: 16/24-bit integer or 32-bit float (wav only); "
                   "default 32 for wav, 24 for flac")
    p.add_argument("--reference", default=None,
                   help="true sources for oracle methods: a folder of <source>.wav files "
                   "(or one sub-folder per input track) or a .stem.mp4")
    p.add_argument("--chunk-seconds", type=finite_float, default=60.0,
                   help="process long audio in chunks of this length (bounded memory)")
    p.add_argument("--overlap-seconds", type=finite_float, default=2.0,
                   help="cross-fade between chunks")
    p.add_argument("-j", "--jobs", type=int, default=1,
                   help="separate this many files at once (local process pool)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="ray: one task per track on a Ray cluster (--address) or a private "
                   "local Ray instance")
    p.add_argument("--address", help="address of a running Ray cluster (with --backend ray)")
    p.add_argument("-q", "--quiet", action="store_true")
    if method is not None:
        add_method_options(p, get_method(method))
    p.set_defaults(func=cmd_separate)

    p = sub.add_parser("stream", help="run a causal method on live audio (files or pipes)",
                       description="Separate IN into OUT block by block with a causal method "
                       "(e.g. -m enhance): files are read and written as the blocks go, the "
                       "output time-aligned with the input; '-' is raw 16-bit little-endian PCM "
                       "on stdin/stdout (give --rate and --channels for a pipe IN), e.g. "
                       "ffmpeg -i in.mp3 -f s16le -ar 48000 -ac 1 - | unweave stream -m "
                       "enhance - - --rate 48000 --channels 1 | ffplay -f s16le -ar 48000 "
                       "-ac 1 -")
    p.add_argument("input", metavar="IN", help="audio file, or '-' for raw PCM on stdin")
    p.add_argument("output", metavar="OUT", help=".wav/.flac file, or '-' for raw PCM")
    p.add_argument("-m", "--method", required=True, help="a causal method (enhance)")
    p.add_argument("--block-ms", type=finite_float, default=10.0,
                   help="block length in milliseconds (any; the output does not depend on it)")
    p.add_argument("--rate", type=int, help="sample rate of raw PCM on stdin")
    p.add_argument("--channels", type=int, help="channels of raw PCM on stdin")
    p.add_argument("--source", help="the source to write (default: the model's first, e.g. "
                   "speech)")
    p.add_argument("--force", action="store_true", help="overwrite OUT")
    p.add_argument("-q", "--quiet", action="store_true")
    if method is not None:
        add_method_options(p, get_method(method))
    p.set_defaults(func=cmd_stream)

    p = sub.add_parser("evaluate", help="score estimates against references (BSS Eval, SI-SDR)",
                       description="Score estimated sources against the true ones. REFERENCE and "
                       "ESTIMATE are track folders of <source>.wav files (or .stem.mp4), or data "
                       "set folders of such tracks, matched by name.")
    p.add_argument("--reference", required=True, help="reference track or data set folder")
    p.add_argument("--estimate", required=True, help="estimate track or data set folder")
    p.add_argument("--metric", default="v4",
                   help="v4: BSS Eval v4 as museval (default); v3: bss_eval_images as mir_eval; "
                   "si-sdr: scale-invariant SDR; pesq: PESQ wide-band (16 kHz) and narrow-band "
                   "(8 kHz); stoi; several with commas, e.g. si-sdr,pesq,stoi")
    p.add_argument("--permutation", action="store_true",
                   help="match estimates to references by the best SI-SDR assignment, not by "
                   "name (talkers, blind separation)")
    p.add_argument("--window", type=finite_float, default=1.0, help="v4 window in seconds")
    p.add_argument("--hop", type=finite_float, default=1.0, help="v4 hop in seconds")
    p.add_argument("--baselines", default="",
                   help="also score these methods on the same tracks, e.g. mixture,irm")
    p.add_argument("--json", help="write per-window scores (museval's JSON layout)")
    p.add_argument("--csv", help="write per-window scores as CSV")
    p.add_argument("--force", action="store_true", help="overwrite --json/--csv files")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    add_train_parser(sub, trainer)

    for name, func, help_, description in (
            ("average", cmd_average, "average the weights of checkpoints of one model",
             "Write a checkpoint whose weights are the mean of MODELs' (the same network and "
             "settings): a model soup of fine-tunes from one start (Wortsman et al. 2022), or "
             "the last checkpoints of a run."),
            ("ensemble", cmd_ensemble, "join checkpoints of one model into an ensemble",
             "Write a checkpoint whose network runs every MODEL's trunk and averages their "
             "masks (mtunet: models trained on their own, with the same settings). Calibrate "
             "its mask powers anew afterwards.")):
        p = sub.add_parser(name, help=help_, description=description)
        p.add_argument("models", nargs="+", metavar="MODEL")
        p.add_argument("--out", required=True, help="checkpoint to write (.pt)")
        if name == "ensemble":
            p.add_argument("--half", action="store_true",
                           help="store the weights as float16 (half the size; run in float32)")
            p.add_argument("--source-members", type=_ints, metavar="INTS",
                           help="per source, the member whose mask it takes (in MODEL order; "
                           "-1: the mean), e.g. 1,0,0,2 for specialists; default: the mean")
        p.add_argument("--force", action="store_true", help="replace --out")
        p.add_argument("-q", "--quiet", action="store_true")
        p.set_defaults(func=func)

    p = sub.add_parser("report", help="HTML pages with players, spectrograms and scores",
                       description="Pages for the tracks 'unweave separate' wrote into "
                       "RESULTS_DIR: players, spectrograms, and scores with --reference.")
    p.add_argument("results", metavar="RESULTS_DIR")
    p.add_argument("--reference", help="true sources: a track folder or a data set folder")
    p.add_argument("--force", action="store_true", help="replace RESULTS_DIR/report")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("methods", help="list the methods and what each assumes")
    p.add_argument("name", nargs="?", help="show one method's options")
    p.set_defaults(func=cmd_methods)

    p = sub.add_parser("serve", help="a local web page to separate, listen and download",
                       description="A web page and JSON API on this computer: drop files, "
                       "pick a method, listen to and download the sources.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: "
                   "loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data", help="folder for jobs (default: ~/.cache/unweave/serve)")
    p.add_argument("--jobs", type=int, default=1, help="separations at a time")
    p.add_argument("--max-upload-mb", type=float, default=500.0)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="separate a synthesised example and write an HTML page")
    p.add_argument("--out", default="demo_output")
    p.add_argument("--data", help="shared data folder for real talkers and rooms "
                   "(default: ../shared/data when present; else synthesised)")
    p.add_argument("--force", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_demo)
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line ``argv`` parsed (the parser built for its method or trainer); an
    unknown subcommand, flag or value raises :class:`UnweaveError`. Nothing runs."""
    method = _prescan_method(argv) if {"separate", "stream"} & set(argv) else None
    args, extra = build_parser(method, _prescan_trainer(argv)).parse_known_args(argv)
    if extra:
        raise _unknown_option(extra, method)
    args.argv = argv
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else list(argv))
        if args.command != "serve":  # a job that runs once: keep big blocks for reuse
            reuse_freed_memory()
        with warnings.catch_warnings():
            if not debugging():  # numeric warnings are not for users;
                warnings.simplefilter("ignore", RuntimeWarning)  # non-finite output is checked
            return args.func(args)
    except UnweaveError as exc:
        _report(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _report("interrupted")
        return 130
    except BrokenPipeError:
        return 1
    except MemoryError as exc:
        _report(describe(exc))
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - never a traceback unless asked for
        if debugging():
            raise
        _report(describe(exc))
        return 2 if isinstance(exc, OSError) else 1


if __name__ == "__main__":
    sys.exit(main())
