"""Crafted model files for fuzzing the loader: what a stranger's file might hold.

`mutate(seed_file, rng)` turns the bytes of a valid model file into a damaged
or hostile one, picking one of MUTATIONS at random:

- raw damage: truncation, bit flips, appended junk, a rewritten header
  length field (0, huge, past the end of the file);
- header damage with a consistent length field: odd values (negative, huge,
  floats, strings, lists, lone surrogates) put in tensor specs, hparams,
  vocabulary, training info; tensors dropped, reshaped, given another dtype;
  deep nesting, non-UTF-8 bytes, huge integer literals, NaN literals;
- crafted payloads: tensor bytes replaced with NaN, negative, huge or random
  values, with the checksum recomputed (a stranger can always do that).

`probe(path)` loads a file the way the CLI does and, when it loads, uses the
model (scores every context it can, samples), so that damage the loader lets
through shows up as an exception here rather than later at scoring time.
Everything except ModelFileError propagates: that is the finding.

Test-only (tests/ and bench/ import it, the package does not). It uses only
`random.Random`, so a long offline run (bench/fuzz_persist.py) needs no
hypothesis; the tests drive it from hypothesis for shrinking.
It does not write files: the caller does (in a temporary folder).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ngramkit import container
from ngramkit.container import ALIGN, DTYPES, Crc32, seal
from ngramkit.errors import ModelFileError
from ngramkit.persist import MAGIC, MODEL, load
from ngramkit.testing import _all_contexts, _rows_problem

if TYPE_CHECKING:
    from ngramkit.model import LanguageModel

ODD: tuple[Any, ...] = (
    -1,
    0,
    1,
    2,
    3,
    255,
    2**31,
    2**32 + 1,
    2**53,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63),
    10**30,
    1.5,
    -0.0,
    1e308,
    "",
    "x",
    "\udc80",  # a lone surrogate: json writes it escaped and reads it back
    "\U0001f600",
    "a" * 300,
    None,
    True,
    False,
    [],
    {},
    [0, 0],
    [1, -1],
    {"a": 1},
)
"""Values a crafted header puts where a number, string or list is expected."""
SAMPLE_CONTEXTS = 4096


def unpack(data: bytes) -> tuple[dict[str, Any], bytes]:
    """(header, payload) of a well-formed model file's bytes, without validation."""
    (n,) = struct.unpack("<Q", data[len(MAGIC) : len(MAGIC) + 8])
    start = len(MAGIC) + 8
    return json.loads(data[start : start + n]), data[start + n :]


def repack(
    header: dict[str, Any], payload: bytes, *, fix_checksum: bool = True, align: bool = True
) -> bytes:
    """A file with a consistent length field (and, by default, checksums: a mapped
    file's CRC-32, else its sha256). A mapped
    file's header is padded so that the payload starts at ALIGN, as save does
    (align=False: unpadded, as another writer might leave it)."""
    if fix_checksum:
        if "payload_crc32" in header:
            digest = Crc32()
            digest.update(payload)
            header = {**header, "payload_crc32": digest.hexdigest()}
        else:
            header = {**header, "payload_sha256": hashlib.sha256(payload).hexdigest()}
        header = seal(header)
    head = json.dumps(header).encode("utf-8")
    if align and "payload_crc32" in header:
        head += b" " * (-(len(MAGIC) + 8 + len(head)) % ALIGN)
    return MAGIC + struct.pack("<Q", len(head)) + head + payload


def tensors_of(data: bytes) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(header, tensors as loaded) of a well-formed model file's bytes."""
    header, payload = unpack(data)
    return header, container.tensors(MODEL, "seed", header, payload)


def rebuilt(header: dict[str, Any], tensors: dict[str, torch.Tensor]) -> bytes:
    """A file of `header`'s format version holding `tensors` (any dtype, shape or
    value), laid out, indexed and checksummed as save writes them."""
    own = {"format", "format_version", "tensors", "payload_sha256", "payload_crc32"}
    fields = {k: v for k, v in header.items() if k not in own | {"header_sha256"}}
    parts = container.pack(MODEL, fields, sorted(tensors.items()), version=header["format_version"])
    return b"".join(bytes(p) for p in parts)


# -- raw damage ----------------------------------------------------------------


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def append_junk(data: bytes, rng: random.Random) -> bytes:
    return data + rng.randbytes(rng.randint(1, 64))


def header_length(data: bytes, rng: random.Random) -> bytes:
    """Rewrite the 8-byte header length: 0, huge, just past the end, or random."""
    n = rng.choice([0, 1, 2**63, 2**64 - 1, len(data), len(data) - 16, rng.getrandbits(64)])
    n = max(0, min(n, 2**64 - 1))
    return MAGIC + struct.pack("<Q", n) + data[len(MAGIC) + 8 :]


# -- header damage (length field kept consistent) ---------------------------------


def _paths(x: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indices) into parsed JSON, containers included."""
    out = [prefix]
    if isinstance(x, dict):
        for k, v in x.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(x, list):
        for i, v in enumerate(x[:8]):  # a few list elements are enough
            out += _paths(v, (*prefix, i))
    return out


def _set(x: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(x, dict):
        return {**x, head: _set(x[head], rest, value)}
    return [*x[:head], _set(x[head], rest, value), *x[head + 1 :]]


def odd_value(data: bytes, rng: random.Random) -> bytes:
    """One value anywhere in the header replaced by an ODD value (or deleted)."""
    header, payload = unpack(data)
    path = rng.choice(_paths(header)[1:])
    if rng.random() < 0.15 and isinstance(path[-1], str):  # delete a key instead
        parent = path[:-1]
        node = header
        for p in parent:
            node = node[p]
        header = _set(header, parent, {k: v for k, v in node.items() if k != path[-1]})
    else:
        header = _set(header, path, rng.choice(ODD))
    return repack(header, payload, fix_checksum=rng.random() < 0.9)


def tensor_spec(data: bytes, rng: random.Random) -> bytes:
    """A tensor's shape, offset, nbytes or dtype rewritten, often self-consistently."""
    header, payload = unpack(data)
    index = header["tensors"]
    key = rng.choice(sorted(index))
    spec = dict(index[key])
    choice = rng.randrange(5)
    if choice == 0:  # another dtype of the same size: the bytes are reinterpreted
        same = [d for d, n in DTYPES.items() if n == DTYPES[spec["dtype"]]]
        spec["dtype"] = rng.choice([*same, "float16", "bool", "object", "complex128"])
    elif choice == 1:  # another shape with the same number of elements
        n = math.prod(spec["shape"])
        spec["shape"] = rng.choice([[n], [1, n], [n, 1], [], [0, 2**40], [2**20] * 8])
    elif choice == 2:
        spec["offset"] = rng.choice([0, -8, len(payload), 2**63, spec["offset"] + 1])
    elif choice == 3:
        spec["nbytes"] = rng.choice([0, -8, len(payload) + 8, 2**64, spec["nbytes"] - 1])
    else:  # drop it
        header["tensors"] = {k: v for k, v in index.items() if k != key}
        return repack(header, payload)
    header["tensors"] = {**index, key: spec}
    return repack(header, payload)


def vocabulary(data: bytes, rng: random.Random) -> bytes:
    """The vocabulary changed so it no longer matches the tensors (or itself)."""
    header, payload = unpack(data)
    vocab = dict(header["config"]["vocab"])
    syms = list(vocab["symbols"])
    choice = rng.randrange(6)
    if choice == 0 and syms:
        syms.pop(rng.randrange(len(syms)))
    elif choice == 1:
        syms.append("\U0001f600")  # sorts last: a consistent, bigger vocabulary
    elif choice == 2:
        syms = syms[::-1]
    elif choice == 3:
        syms = [*syms, *syms[:1]]
    elif choice == 4:
        vocab["boundary"] = syms[0] if syms else ""
    else:
        vocab["kind"] = "word" if vocab["kind"] == "char" else "char"
    vocab["symbols"] = syms
    header["config"] = {**header["config"], "vocab": vocab}
    return repack(header, payload)


def hparams(data: bytes, rng: random.Random) -> bytes:
    """An hparam set to another plausible value (order especially), or an unknown one."""
    header, payload = unpack(data)
    hp = dict(header["config"]["hparams"])
    key = rng.choice([*hp, "no_such_option"])
    hp[key] = rng.choice([0, 1, 2, 3, 4, 5, 8, 32, 33, -1, 0.5, "auto", 10**6])
    header["config"] = {**header["config"], "hparams": hp}
    return repack(header, payload)


def deep_nesting(data: bytes, rng: random.Random) -> bytes:
    """The header's metrics replaced by lists nested 40 to 100,000 deep."""
    header, payload = unpack(data)
    depth = rng.choice([40, 1000, 100_000])
    head = json.dumps(header)[:-1] + ', "metrics": ' + "[" * depth + "]" * depth + "}"
    raw = head.encode()
    return MAGIC + struct.pack("<Q", len(raw)) + raw + payload


def bad_text(data: bytes, rng: random.Random) -> bytes:
    """A header that is not UTF-8, holds a 5000-digit integer, NaN, or is not an object."""
    header, payload = unpack(data)
    head = json.dumps(header).encode()
    raw = rng.choice(
        [
            head.replace(b'"format"', b'"f\xffrmat"'),
            head[:-1] + b', "x": ' + b"9" * 5000 + b"}",
            head[:-1] + b', "x": NaN}',
            head[:-1] + b', "x": Infinity}',
            b"[1, 2, 3]",
            b'"ngramkit-model"',
            head + b" trailing",
        ]
    )
    return MAGIC + struct.pack("<Q", len(raw)) + raw + payload


def unaligned(data: bytes, rng: random.Random) -> bytes:
    """The header rewritten unpadded: a mapped file's payload then starts off ALIGN,
    and the loader copies it instead of mapping it; half the time with a bit of the
    payload flipped too (the checksums as they were), which the copy must catch."""
    header, payload = unpack(data)
    if payload and rng.random() < 0.5:
        payload = flip_bits(payload, rng)
    return repack(header, payload, fix_checksum=False, align=False)


# -- crafted payloads (checksum recomputed) ----------------------------------------


def payload_values(data: bytes, rng: random.Random) -> bytes:
    """One tensor's bytes replaced by extreme or random values of its own dtype."""
    import torch

    header, payload = unpack(data)
    index = header["tensors"]
    key = rng.choice(sorted(index))
    spec = index[key]
    n = math.prod(spec["shape"])
    if n == 0:
        return repack(header, payload)
    dtype = getattr(torch, spec["dtype"])
    if dtype.is_floating_point:
        pool = [math.nan, math.inf, -math.inf, 0.0, 1e300, -1e300, 1e-310]
    else:
        info = torch.iinfo(dtype)
        pool = [info.min, info.max, -1, 0, 1, info.max // 2]
    g = torch.Generator().manual_seed(rng.getrandbits(32))
    if rng.random() < 0.5:  # a few cells set to extreme values
        t = torch.frombuffer(bytearray(payload[spec["offset"] :][: spec["nbytes"]]), dtype=dtype)
        for i in torch.randint(0, n, (rng.randint(1, 4),), generator=g).tolist():
            t[i] = torch.tensor(rng.choice(pool)).to(dtype)  # 1e300 -> inf in float32
        raw = bytes(t.view(torch.uint8).tolist())
    else:  # all of it random bytes
        raw = rng.randbytes(spec["nbytes"])
    start = spec["offset"]
    payload = payload[:start] + raw + payload[start + spec["nbytes"] :]
    return repack(header, payload)


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    f.__name__: f
    for f in (
        truncate,
        flip_bits,
        append_junk,
        header_length,
        odd_value,
        tensor_spec,
        vocabulary,
        hparams,
        deep_nesting,
        bad_text,
        payload_values,
        unaligned,
    )
}


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """(mutation name, damaged bytes): one or two mutations of a valid file's bytes."""
    name = rng.choice(sorted(MUTATIONS))
    out = MUTATIONS[name](data, rng)
    if rng.random() < 0.2:  # stack a second one on a file that still parses
        second = rng.choice(["odd_value", "tensor_spec", "payload_values", "hparams"])
        try:
            out = MUTATIONS[second](out, rng)
            name = f"{name}+{second}"
        except Exception:  # the first mutation left nothing the second can parse
            pass
    return name, out


# -- the probe ---------------------------------------------------------------------


def exercise(model: LanguageModel, *, check_rows: bool = True) -> None:
    """Use a loaded model as the CLI would; raise AssertionError on a broken row.

    Scores every context (up to 256 of them), the log-probability of a few
    items built from its vocabulary, and draws a few samples with a max_len
    when the model has at most SAMPLE_CONTEXTS contexts (sampling a bigger
    one costs ~0.2 s, which would dominate a long fuzz run).
    check_rows=False only asks that nothing raises (NaN rows pass).
    """
    vocab = model.require_fitted()
    V = len(vocab)
    ctx = _all_contexts(model, limit=256)
    problem = _rows_problem(model.next_logprobs(ctx), len(ctx), V)
    if problem and check_rows:  # -inf cells are fine (add-0 counts); NaN or p > 1 are not
        raise AssertionError(f"loaded model gives broken rows: {problem}")
    for item in [vocab.join(vocab.symbols[:3]), vocab.join(vocab.symbols[-2:])]:
        if item:
            lp = model.logprob(item)
            if check_rows and (math.isnan(lp) or lp > 1e-4):
                raise AssertionError(f"logprob({item!r}) = {lp}")
    model.token_logprobs(ctx, torch.zeros(len(ctx), dtype=torch.long))
    if V ** (model.order - 1) <= SAMPLE_CONTEXTS:  # the sampler tabulates every context
        model.sample(3, seed=1, cut=20)


def probe(path: str | Path, *, check_rows: bool = True) -> str:
    """'refused' (ModelFileError) or 'loaded' (and exercised); anything else raises."""
    try:
        loaded = load(path)
    except ModelFileError as e:
        if "\n" in str(e):
            raise AssertionError(f"ModelFileError over several lines: {e!r}") from None
        return "refused"
    exercise(loaded.model, check_rows=check_rows)
    return "loaded"


# -- structure-aware header variants (every key, every JSON type, resealed) ---------

HEADER_VALUES: tuple[Any, ...] = (
    *(-1, 0, 1, 2, 3, 2**63),
    *(0.5, 2.0, -1.5, 1e308),
    *("", "x", "3", "yes", "kn", "\x1b[2J\x1b[31m"),
    *(True, False, None),
    *([], [1], {}, {"a": 1}),
)
"""What a crafted header puts at a key: a value of every JSON type, plausible and not."""
DELETE = "<deleted>"
"""The variant that removes the key instead of setting it."""
SEALS = ("header_sha256", "payload_sha256", "payload_crc32")  # recomputed: not mutated


def header_paths(header: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every key and list element of a header (the first 8 of a list), seals left out."""
    return [p for p in _paths(header)[1:] if p[0] not in SEALS]


def with_field(data: bytes, path: tuple[Any, ...], value: Any) -> bytes:
    """The file with the header's `path` set to `value` (or deleted), resealed."""
    header, payload = unpack(data)
    if value == DELETE and isinstance(path[-1], str):
        node = header
        for p in path[:-1]:
            node = node[p]
        header = _set(header, path[:-1], {k: v for k, v in node.items() if k != path[-1]})
    else:
        header = _set(header, path, None if value == DELETE else value)
    return repack(header, payload)


def header_variants(data: bytes) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, value) for every path of the header and every HEADER_VALUE that differs
    from what is there (in kind or value), and the deletion of every key."""
    header, _ = unpack(data)
    out = []
    for path in header_paths(header):
        now = _get(header, path)
        out += [(path, v) for v in HEADER_VALUES if not _same(v, now)]
        if isinstance(path[-1], str):
            out.append((path, DELETE))
    return out


def _get(x: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        x = x[p]
    return x


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON: True is not 1, 2.0 is 2 (JSON has one number type)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return (type(a) is type(b) and a == b) or (_number(a) and _number(b) and a == b)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def fingerprint(model: LanguageModel) -> tuple[Any, ...]:
    """What a model computes, at token-id level: order, V, and every row it gives for up
    to 256 contexts (a relabelled but consistent vocabulary computes the same)."""
    ctx = _all_contexts(model, limit=256)
    rows = model.next_logprobs(ctx).double()
    return model.order, len(model.require_fitted()), rows.nan_to_num(nan=7.0).numpy().tobytes()


def render_show(loaded: Any) -> None:
    """Everything `ngramkit show` draws from a header, rendered to a string (80 columns)."""
    import io

    from rich.console import Console

    from ngramkit.cli.show import _json
    from ngramkit.report.card import model_card
    from ngramkit.transitions import strongest

    rows = strongest(loaded.model, 5)
    Console(file=io.StringIO(), width=80).print(model_card(loaded, 1000))
    json.dumps(_json(loaded, None, rows))


def descriptive_problem(h: dict[str, Any]) -> str | None:
    """Why a header's descriptive fields are not a true description, or None: the
    test's own statement of the model-file header (docs/security.md), written apart
    from the loader's so that the two check each other."""

    def count(x: Any) -> bool:
        return _number(x) and isinstance(x, int) and x >= 0

    def real(x: Any, low: float = 0.0) -> bool:
        return _number(x) and low <= x < math.inf

    def string(x: Any) -> bool:
        return isinstance(x, str)

    sections = {"provider": h.get("provider", {}), "data": h.get("data") or {}}
    sections |= {"training": h.get("training") or {}, "metrics": h.get("metrics") or {}}
    if not string(h.get("ngramkit_version", "")) or not string(h.get("backend")):
        return "version or backend"
    if any(not isinstance(s, dict) for s in sections.values()):
        return "a section is not a mapping"
    rules = {
        ("provider", "distribution"): string,
        ("provider", "version"): string,
        ("data", "source"): string,
        ("data", "format"): string,
        ("data", "items"): count,
        ("data", "train"): count,
        ("data", "val"): count,
        ("data", "seed"): lambda x: count(x) and x < 2**63,
        ("data", "val_fraction"): lambda x: real(x) and x < 1,
        ("training", "items"): count,
        ("training", "tokens"): count,
        ("training", "fingerprint"): lambda x: x is None or string(x),  # None: from shards
    }
    for (sec, key), ok in rules.items():
        if key in sections[sec] and not ok(sections[sec][key]):
            return f"{sec}.{key}"
    if h.get("training") is not None and not {"items", "tokens"} <= set(sections["training"]):
        return "training lacks a field"
    for split, m in sections["metrics"].items():
        if m is None:
            continue
        if not isinstance(m, dict):
            return f"metrics.{split}"
        nll = m.get("nll")
        if not count(m.get("tokens", 0)) or not (nll is None or real(nll)):
            return f"metrics.{split} tokens or nll"
        if not string(m.get("reason", "")):
            return f"metrics.{split}.reason"
        for key, f in (("perplexity", math.exp), ("bits", lambda x: x / math.log(2))):
            if key not in m:
                continue
            want = None if nll is None or nll > 700 else f(nll)
            got = m[key]
            close = real(got) and want is not None and math.isclose(got, want)
            if (got is None) != (want is None) or (want is not None and not close):
                return f"metrics.{split}.{key}"
    data, tr = sections["data"], sections["training"]
    train = sections["metrics"].get("train") or {}
    if {"items", "train", "val"} <= set(data) and data["items"] != data["train"] + data["val"]:
        return "data.items"
    for a, b in ((data.get("train"), tr.get("items")), (train.get("tokens"), tr.get("tokens"))):
        if a is not None and b is not None and a != b:
            return "counts disagree"
    return None


def config_problem(h: dict[str, Any], original: dict[str, Any], cls: type) -> str | None:
    """Why a header's config and tensor index are not what `cls` writes, or None:
    hyperparameters of their declared JSON type and range, every other config key
    and tensor spec of the kind it had (the scores are compared apart)."""
    config, before = h.get("config"), original["config"]
    if not isinstance(config, dict) or not isinstance(config.get("hparams"), dict):
        return "config"
    declared = {o.name: o for o in cls.options}
    for name, value in config["hparams"].items():
        opt = declared.get(name)
        if opt is None:
            return f"unknown hparam {name}"
        if not _hparam_ok(opt, value, before["hparams"].get(name)):
            return f"hparam {name}"
    for path in _paths(before)[1:]:
        if path[0] == "hparams":
            continue
        try:
            now = _get(config, path)
        except (KeyError, IndexError, TypeError):
            continue  # removed: the scores say whether it mattered
        was = _get(before, path)
        if _kind(now) != _kind(was):
            return f"config.{'.'.join(map(str, path))} changed kind"
    now, was = h.get("tensors"), dict(original["tensors"])
    for seen in ("__seen__", "__seen_zlib__"):
        if isinstance(now, dict) and seen not in now:
            was.pop(seen, None)  # optional: left out past SEEN_LIMIT or for items with \n
    if _kinds(now) != _kinds(was):
        return "tensor index changed kind"
    return None


def _hparam_ok(opt: Any, value: Any, was: Any) -> bool:
    """A stored hyperparameter as the backend would write it: its declared type (an
    integer for a float), within min and max; one with a parser must equal what was."""
    if value is None:
        return opt.default is None
    if opt.parse is not None:
        return _same(value, was)
    kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}[opt.type]
    if not isinstance(value, kinds) or (opt.type is not bool and isinstance(value, bool)):
        return False
    if opt.choices and value not in opt.choices:
        return False
    if opt.type in (int, float):
        if not math.isfinite(value):
            return False
        low = opt.min is not None and (value <= opt.min if opt.min_exclusive else value < opt.min)
        return not (low or (opt.max is not None and value > opt.max))
    return True


def _kind(x: Any) -> str:
    return "number" if _number(x) else type(x).__name__


def _kinds(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _kinds(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_kinds(v) for v in x]
    return _kind(x)


def judge(data: bytes, variant: bytes, path: Path, cls: type, reference: tuple[Any, ...]) -> str:
    """'refused', or 'accepted' (a consistent file computing what the original does);
    'WRONG: why' for a file accepted though inconsistent; anything else raises."""
    path.write_bytes(variant)
    try:
        loaded = load(path)
    except ModelFileError as e:
        if "\n" in str(e) or not str(e).strip():
            raise AssertionError(f"ModelFileError not one line: {e!r}") from None
        return "refused"
    # an unk model's rows over V sum to 1 - p(<unk>): the fingerprint compares them
    exercise(loaded.model, check_rows=not loaded.model.hparams.get("unk"))
    render_show(loaded)
    original, _ = unpack(data)
    header = loaded.header
    why = descriptive_problem(header) or config_problem(header, original, cls)
    if why is None and type(loaded.model) is not cls:
        why = "another backend"
    if why is None and fingerprint(loaded.model) != reference:
        why = "computes other numbers"
    return "accepted" if why is None else f"WRONG: {why}"
