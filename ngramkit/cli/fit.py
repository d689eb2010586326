"""`ngramkit fit DATA`: train, report, save.

General flags are declared here; every backend's own options are added at
parse time from the backends' `options` declarations (so a plugin's options
appear in `ngramkit fit --help` without touching this file), all parsed as
strings and coerced by the backend's own declaration.
"""

from __future__ import annotations

from typing import Any

import click

from .. import registry
from ..config import backend_options, fit_settings
from ..options import LECTURE_SEED, ORDER
from ..report import fit_report
from .common import (
    ProgressBar,
    check_html,
    console,
    emit_json,
    engine_options,
    html_option,
    list_options,
    rule_options,
    write_html,
)


def _range(opt: Any) -> str:
    """'; >= 1' for --help, or nothing when any value of the type is allowed."""
    text = opt.describe_range()
    return "" if text == opt.type.__name__ else f"; {text}"


def _help(opt: Any) -> str:
    """An option's --help line under its backend: 'learning rate [default: 0.1; > 0]';
    an option off by default (None) shows its range alone: 'budget [> 0]'."""
    if opt.default is None:
        rule = _range(opt).removeprefix("; ")
        return f"{opt.help} [{rule}]" if rule else opt.help
    return f"{opt.help} [default: {opt.default}{_range(opt)}]"


def _click_option(name: str, owners: list[tuple[str, Any]]) -> click.Option:
    opt = owners[0][1]
    who = ", ".join(b for b, _ in owners)
    helps = "; ".join(f"{b}: {o.help} (default {o.default}{_range(o)})" for b, o in owners)
    if opt.type is bool:  # --tune/--no-tune
        return click.Option([_flag_text(opt), name], default=None, help=f"[{who}] {helps}")
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

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # --help is eager: it runs before --backend is processed, so note the
        # backend asked for here, and `fit --backend X --help` shows X's options only.
        ctx.meta["fit.backend"] = _backend_arg(args)
        return super().parse_args(ctx, args)

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
                by_backend.setdefault(backend, []).append((_flag_text(opt), _help(opt)))
        chosen = ctx.meta.get("fit.backend")
        for backend, rows in sorted(by_backend.items()):
            if chosen in (None, backend) or chosen not in by_backend:
                with formatter.section(f"Options of backend '{backend}'"):
                    formatter.write_dl(rows)


def _flag_text(opt: Any) -> str:
    """How --help spells an option: '--lr FLOAT', '--tune/--no-tune'."""
    if opt.type is bool:
        return f"{opt.flag}/--no-{opt.flag[2:]}"
    return f"{opt.flag} {opt.metavar or opt.type.__name__.upper()}"


def _backend_arg(args: list[str]) -> str | None:
    """The value of --backend in raw arguments: ['--backend', 'x'] or ['--backend=x']."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--backend" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--backend="):
            return arg.partition("=")[2]
    return None


def _order_rows() -> dict[str, list[tuple[str, str]]]:
    """An `--order` row for each backend whose order default is not the usual 2."""
    rows: dict[str, list[tuple[str, str]]] = {}
    for name, entry in registry.installed().items():
        order = next((o for o in getattr(entry.cls, "options", ()) if o.name == "order"), None)
        if order is not None and order != ORDER:
            rows[name] = [("--order N", _help(order))]
    return rows


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
    "--seed",
    default=None,
    metavar="S",
    help=f"Seed of the split and samples [default: {LECTURE_SEED}].",
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
@rule_options
@click.option(
    "--min-count",
    default=None,
    metavar="N",
    help="Symbols seen fewer than N times become the unknown token at training "
    "(implies --unk) [default: 1; 2 for neural backends under --unk].",
)
@list_options
@click.option(
    "--dedup",
    is_flag=True,
    default=None,
    help="Train on each distinct item once (types, not tokens); the report counts both.",
)
@engine_options
@click.option(
    "--memory",
    default=None,
    metavar="SIZE",
    help="Fit within SIZE of resident memory (500M, 2G, 50%): counting spills sorted "
    "runs to --temp-dir and merges them (the model is the same); a budget the "
    "estimate would pass is refused [default: no limit].",
)
@click.option(
    "--temp-dir",
    default=None,
    metavar="DIR",
    help="Folder for --memory's sorted runs, removed after [default: the system's].",
)
@click.option(
    "--from-counts", is_flag=True, help="DATA are count tables (ngramkit count): merge, fit."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object instead of the report."
)
@html_option
def command(as_json: bool, html_path: str | None, **flags: Any) -> None:
    """Train a model on DATA (one item per line, "-" for stdin) and save it.

    Several files, --workers, --shards or --dask count DATA in shards; with
    --from-counts, DATA are count tables from `ngramkit count`. Both train on
    every item (no validation split); see docs/distributed.md.
    """
    from .. import fitting

    check_html(html_path)
    settings = fit_settings(flags)
    label = "count" if settings.counted else f"fit {settings.backend}"
    with ProgressBar(label, enabled=False if as_json else None) as bar:
        result = fitting.run(settings, progress=bar)
    if as_json:
        emit_json(result.to_json())
    else:
        console().print(fit_report(result))
    if html_path is not None:
        write_html(html_path, _page(result))


def _page(result: Any) -> Any:
    """fit's HTML report, from the saved model file (its card) and the fit's result."""
    from pathlib import Path

    from ..persist import load
    from ..report.pages import fit_page
    from ..transitions import strongest, transition_matrix

    mf = load(result.output)
    matrix, rows = transition_matrix(mf.model), strongest(mf.model, 20)
    return fit_page(result, mf, Path(mf.path).stat().st_size, matrix, rows)
