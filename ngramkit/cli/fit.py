"""`ngramkit fit DATA`: train, report, save.

General flags are declared here; every backend's own options are added at
parse time from the backends' `options` declarations (so a plugin's options
appear in `ngramkit fit --help` without touching this file), all parsed as
strings and coerced by the backend's own declaration.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import click

from .common import ProgressBar, console, emit_json
from .sharded import ENGINE_FLAGS, engine_options

RESERVED = {
    "data",
    "backend",
    "order",
    "seed",
    "val_fraction",
    "output",
    "config",
    "tokenizer",
    "samples",
    "as_json",
    "workers",
    "shards",
    "dask",
    "from_counts",
}


@lru_cache(maxsize=1)
def backend_options() -> dict[str, list[tuple[str, Any]]]:
    """option name -> [(backend, Option), ...] over the working installed backends."""
    from ..registry import installed

    found: dict[str, list[tuple[str, Any]]] = {}
    for name, entry in installed().items():
        if entry.cls is None:
            continue
        for opt in entry.cls.options:
            if opt.name not in RESERVED:
                found.setdefault(opt.name, []).append((name, opt))
    return found


def _range(opt: Any) -> str:
    """'; >= 1' for --help, or nothing when any value of the type is allowed."""
    text = opt.describe_range()
    return "" if text == opt.type.__name__ else f"; {text}"


def _click_option(name: str, owners: list[tuple[str, Any]]) -> click.Option:
    opt = owners[0][1]
    who = ", ".join(b for b, _ in owners)
    helps = "; ".join(f"{b}: {o.help} (default {o.default}{_range(o)})" for b, o in owners)
    if opt.type is bool:
        decl = f"{opt.flag}/--no-{opt.flag[2:]}"
        return click.Option([decl, name], default=None, help=f"[{who}] {helps}")
    metavar = opt.metavar or ("|".join(opt.choices) if opt.choices else opt.type.__name__.upper())
    return click.Option(
        [opt.flag, name], type=str, default=None, metavar=metavar, help=f"[{who}] {helps}"
    )


class FitCommand(click.Command):
    """`fit` with backend options added from the registry, grouped in --help."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        extra = [_click_option(n, owners) for n, owners in backend_options().items()]
        return params[:-1] + extra + params[-1:]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        dynamic = backend_options()
        general = [
            p.get_help_record(ctx)
            for p in self.get_params(ctx)
            if isinstance(p, click.Option) and p.name not in dynamic
        ]
        with formatter.section("Options"):
            formatter.write_dl([r for r in general if r])
        by_backend = _order_rows()
        for owners in dynamic.values():
            for backend, opt in owners:
                metavar = "" if opt.type is bool else f" {opt.metavar or opt.type.__name__.upper()}"
                by_backend.setdefault(backend, []).append(
                    (
                        f"{opt.flag}{metavar}",
                        f"{opt.help} [default: {opt.default}{_range(opt)}]",
                    )
                )
        for backend, rows in sorted(by_backend.items()):
            with formatter.section(f"Options of backend '{backend}'"):
                formatter.write_dl(rows)


def _order_rows() -> dict[str, list[tuple[str, str]]]:
    """An `--order` row for each backend whose order default is not the usual 2."""
    from ..options import ORDER
    from ..registry import installed

    rows: dict[str, list[tuple[str, str]]] = {}
    for name, entry in installed().items():
        order = next((o for o in getattr(entry.cls, "options", ()) if o.name == "order"), None)
        if order is not None and order != ORDER:
            help_ = f"{order.help} [default: {order.default}{_range(order)}]"
            rows[name] = [("--order N", help_)]
    return rows


def _backend_values(kwargs: dict[str, Any], cls: type, backend: str) -> dict[str, Any]:
    """The backend options given on the command line, refusing other backends' ones."""
    from ..errors import OptionError

    declared = {o.name for o in cls.options}
    given = {k: kwargs.pop(k) for k in list(kwargs) if k in backend_options()}
    out = {}
    for name, value in given.items():
        if value is None:
            continue
        if name not in declared:
            owners = ", ".join(b for b, _ in backend_options()[name])
            takes = ", ".join(o.flag for o in cls.options) or "no options"
            raise OptionError(
                f"--{name.replace('_', '-')} is an option of backend {owners}, not of "
                f"'{backend}' (it takes {takes})"
            )
        out[name] = value
    return out


@click.command("fit", cls=FitCommand)
@click.argument("data", nargs=-1, metavar="DATA...")
@click.option(
    "--backend", default=None, help="Backend name (see `ngramkit backends`) [default: count]."
)
@click.option(
    "--order", default=None, metavar="N", help="n-gram order [default: the backend's, 2 for count]."
)
@click.option(
    "-o",
    "--output",
    default=None,
    metavar="MODEL",
    help="Model file to write [default: <data>.<backend>.ngk here].",
)
@click.option(
    "--config",
    default=None,
    metavar="RUN.YAML",
    help="Read settings from a YAML file; flags override it.",
)
@click.option(
    "--seed", default=None, metavar="S", help="Seed of the split and samples [default: 2147483647]."
)
@click.option(
    "--val-fraction",
    default=None,
    metavar="F",
    help="Share of items held out for validation [default: 0.1].",
)
@click.option(
    "--tokenizer",
    default=None,
    metavar="char|word",
    help="Symbols are characters or words [default: char].",
)
@click.option(
    "--samples", default=None, metavar="N", help="Samples shown in the report [default: 10]."
)
@engine_options
@click.option(
    "--from-counts", is_flag=True, help="DATA are count tables (ngramkit count): merge, fit."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object instead of the report."
)
def command(**kwargs: Any) -> None:
    """Train a model on DATA (one item per line, "-" for stdin) and save it.

    Several files, --workers, --shards or --dask count DATA in shards; with
    --from-counts, DATA are count tables from `ngramkit count`. Both train on
    every item (no validation split); see docs/distributed.md.
    """
    from .. import fitting, registry
    from ..config import GENERAL, RunConfig, check, load_config
    from ..errors import OptionError
    from ..persist import save
    from ..reader import read_items
    from ..report import fit_report

    as_json = kwargs.pop("as_json")
    engine = {k: kwargs.pop(k) for k in ENGINE_FLAGS}
    from_counts = kwargs.pop("from_counts")
    data = list(kwargs.pop("data"))
    kwargs["data"] = data[0] if len(data) == 1 else None
    config = load_config(kwargs.pop("config")) if kwargs.get("config") else RunConfig("")
    kwargs.pop("config", None)
    backend = kwargs.pop("backend") or config.values.get("backend") or "count"
    cls = registry.get(str(backend))
    declared = {o.name: o for o in cls.options}
    from_file = check(config, declared, backend) if config.values else {}
    cli_backend = _backend_values(kwargs, cls, backend)
    settings = {k: from_file.get(k, o.default) for k, o in GENERAL.items()}
    for key, value in kwargs.items():
        if value is not None:
            settings[key] = GENERAL[key].coerce(value)
    hparams = {k: v for k, v in from_file.items() if k in declared}
    hparams.update(cli_backend)
    # --order given by flag or file goes to the backend; otherwise its own default does.
    if "order" in declared and (kwargs.get("order") is not None or "order" in from_file):
        hparams["order"] = settings["order"]
    if len(data) > 1 or from_counts or any(engine.values()):
        from .sharded import fit_sharded

        data = data or [settings["data"]] * bool(settings["data"])
        return fit_sharded(
            cls,
            backend,
            data,
            hparams,
            settings,
            engine,
            from_counts,
            as_json,
            kwargs["val_fraction"],
        )
    if not settings["data"]:
        raise OptionError("no DATA: give a word list (or `data:` in the config)")

    words = read_items(settings["data"])
    stem = "stdin" if words.source == "<stdin>" else Path(words.source).stem
    output = settings["output"] or f"{stem}.{backend}.ngk"
    if words.source != "<stdin>" and Path(output).resolve() == Path(words.source).resolve():
        raise OptionError(f"-o {output} would overwrite the training data; choose another path")
    folder = Path(output).parent
    if not folder.is_dir():
        raise OptionError(f"cannot write {output}: folder {folder} does not exist")
    with ProgressBar(f"fit {backend}", enabled=None if not as_json else False) as bar:
        result = fitting.fit(
            cls,
            words,
            hparams,
            val_fraction=settings["val_fraction"],
            seed=settings["seed"],
            kind=settings["tokenizer"],
            n_samples=settings["samples"],
            progress=bar,
        )
    metrics = {"train": result.train.to_json(), "val": result.val.to_json() if result.val else None}
    save(
        result.model,
        output,
        extra={
            "metrics": metrics,
            "data": {
                "source": words.source,
                "items": result.data.items,
                "train": result.data.train,
                "val": result.data.val,
                "val_fraction": settings["val_fraction"],
                "seed": settings["seed"],
            },
        },
    )
    if as_json:
        emit_json(
            {
                "model": output,
                "backend": backend,
                "order": result.model.order,
                "data": {
                    "items": result.data.items,  # non-blank lines read (train + val)
                    "tokens": result.data.tokens,  # predicted training tokens
                    "vocab_size": result.data.vocab_size,
                    "blank": result.data.blank,
                    "duplicates": result.data.duplicates,
                    "train_items": result.data.train,
                    "val_items": result.data.val,
                    "val_oov": result.data.val_oov,  # val items not scored: unseen symbols
                },
                "metrics": metrics,
                "samples": [s for s, _ in result.samples],
                "seconds": result.seconds,
            }
        )
    else:
        console().print(fit_report(result, output))
