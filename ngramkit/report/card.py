"""The model card of `ngramkit show`: what a model file is, in one panel. No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..errors import visible
from .tables import kv_table, num

if TYPE_CHECKING:
    from ..persist import ModelFile


def _metrics(metrics: dict[str, Any]) -> Table:
    table = Table(
        title="Metrics (at fit time)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("split")
    table.add_column("tokens", justify="right")
    table.add_column("NLL\nnats/tok", justify="right")
    table.add_column("ppl", justify="right")
    table.add_column("bits/tok", justify="right")
    for split, m in metrics.items():
        if isinstance(m, dict):
            table.add_row(
                split,
                f"{m.get('tokens', 0):,}",
                num(m.get("nll")),
                num(m.get("perplexity"), 3),
                num(m.get("bits")),
            )
    return table


def _changed(counts: Any) -> str:
    """'form 0, case 12, accents 3' from the header's per-part counts; '?' if not known."""
    if not isinstance(counts, dict):
        return "?"
    parts = [(p, counts.get(p)) for p in ("form", "case", "accents")]
    return ", ".join(f"{p} {n:,}" for p, n in parts if isinstance(n, int)) or "?"


def card_rows(mf: ModelFile, file_bytes: int) -> dict[str, list[tuple[str, Any]]]:
    """The card's sections as (key, value) rows (shared by the JSON output)."""
    model, h = mf.model, mf.header
    vocab = model.require_fitted()
    prov = h.get("provider") or {}
    training = h.get("training") or {}
    data = h.get("data") or {}
    tensors = h.get("tensors") or {}
    sizes = [("file", f"{file_bytes:,} bytes")]
    sizes += [_tensor_row(k, v) for k, v in sorted(tensors.items())]
    symbols = vocab.separator.join(vocab.symbols[:40]) + (" …" if len(vocab.symbols) > 40 else "")
    return {
        "Model": [
            ("path", mf.path),  # in full: the panel's title is cut to the console's width
            ("backend", model.name),
            ("provided by", f"{prov.get('distribution', '?')} {prov.get('version', '')}".strip()),
            *[(k, v) for k, v in model.hparams.items()],
            *list(model.summary().items()),
        ],
        "Vocabulary": [
            ("tokenizer", vocab.kind),
            ("size V", len(vocab)),
            ("boundary", vocab.boundary),
            ("symbols", symbols),
            *([("unknown token", f"{vocab.unk_token} (id {vocab.unk_id})")] if vocab.unk else []),
            ("text rule", vocab.normalization.describe()),
        ],
        "Training data": [
            ("source", data.get("source", "?")),
            ("items", training.get("items", "?")),
            ("predicted tokens", training.get("tokens", "?")),
            ("train / val", f"{data.get('train', '?')} / {data.get('val', '?')}"),
            ("normalized items", _changed(data.get("normalized"))),
            ("fingerprint", _fingerprint(training)),
        ],
        "Sizes": sizes,
    }


def _tensor_row(name: str, spec: Any) -> tuple[str, str]:
    """('tensor keys', '7 int64 (stored as uint8, 7 bytes)') from one index entry; the
    training items' blob is named as what it holds."""
    spec = spec if isinstance(spec, dict) else {}
    if name.startswith("__seen"):
        packed = " zlib-compressed" if name == "__seen_zlib__" else ""
        return ("training items", f"{spec.get('nbytes', '?'):,} bytes{packed}")
    shape = "x".join(map(str, spec.get("shape", []))) or "scalar"
    wide = spec.get("as")
    stored = f" (stored as {spec.get('dtype')}, {spec.get('nbytes', 0):,} bytes)" if wide else ""
    return (f"tensor {name}", f"{shape} {wide or spec.get('dtype')}{stored}")


def _fingerprint(training: dict) -> str:
    """'sha256 1a2b…', or why there is none (a model counted in shards)."""
    fp = training.get("fingerprint", "?")
    return "not known (counted in shards)" if fp is None else f"sha256 {str(fp)[:16]}…"


def model_card(
    mf: ModelFile, file_bytes: int, extra: Iterable[RenderableType] = ()
) -> RenderableType:
    sections = card_rows(mf, file_bytes)
    parts: list[RenderableType] = []
    for title, rows in sections.items():
        parts += [kv_table(rows, title), Text("")]
    if mf.metrics:
        parts.append(_metrics(mf.metrics))
    parts += list(extra)
    return Panel(Group(*parts), title=f"ngramkit model · {visible(mf.path)}", title_align="left")
