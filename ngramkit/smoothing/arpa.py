"""ARPA back-off files: write a count model as one, read one as a count model.

ARPA is the text format of KenLM, SRILM and most n-gram tools: a `\\data\\`
header with the number of n-grams of each order, then one section per order
whose lines are `log10 p <TAB> w1 ... wk [<TAB> log10 backoff]`.

How ngramkit's tokens map to ARPA words:

- the boundary (id 0) is `<s>` in a context and `</s>` when predicted: an
  ngramkit item "ab" is the ARPA sentence `<s> a b </s>`; contexts padded with
  several boundaries collapse to one `<s>` (keys.top_order);
- symbols outside the vocabulary are `<unk>`: a model with the unknown token
  (`--unk`, the vocabulary's last id) writes that token as `<unk>`, its
  unigram and every stored n-gram holding it, so KenLM scores unseen symbols
  as ngramkit does; a closed model writes `<unk>` with -99 (no mass). Reading
  a file whose `<unk>` has a probability gives a model with the unknown
  token (its n-grams kept); with -99 or none, a closed one (n-grams above
  order 1 holding `<unk>` are then skipped and counted);
- char models write one word per character, as KenLM's files on
  space-separated characters do. A space character is written `<space>` and
  any other whitespace character as `<U+XXXX>` (its code point in hex), since
  ARPA words cannot hold whitespace; reading maps them back. Word models
  write words as they are (a word spelled `<s>`, `</s>` or `<unk>` cannot be
  written).

Probabilities are natural logs inside ngramkit and log10 in the file.
`<s>` has no probability of its own (it is never predicted): it is written
with -99, as SRILM does.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, TextIO

import torch

from .. import container
from ..errors import ArpaError, NgramkitError
from ..keys import check_order, key_digits
from ..normalize import default_for
from ..tokenizer import Vocabulary, pick_boundary
from .backoff import BackoffTables


class Exportable(Protocol):
    """What ARPA needs of a model: its vocabulary and its backoff tables (CountLM)."""

    def require_fitted(self) -> Vocabulary: ...
    def backoff_tables(self) -> BackoffTables: ...


BOS, EOS, UNK = "<s>", "</s>", "<unk>"
SPACE = "<space>"
NO_PROB = -99.0  # log10 written for "no probability" (<s>, an unreserved <unk>)
LN10 = math.log(10)
_CODEPOINT = re.compile(r"<U\+([0-9A-Fa-f]{4,6})>")


# -- words ---------------------------------------------------------------------


def word_of(symbol: str, kind: str) -> str:
    """The ARPA word of a vocabulary symbol: word_of(" ", "char") == "<space>"."""
    if kind == "char" and symbol.isspace():
        return SPACE if symbol == " " else f"<U+{ord(symbol):04X}>"
    if symbol in (BOS, EOS, UNK):
        raise ArpaError(f"the word {symbol!r} is reserved in ARPA files and cannot be exported")
    return symbol


def symbol_of(word: str) -> str:
    """Inverse of word_of: symbol_of("<U+0009>") == "\\t"."""
    if word == SPACE:
        return " "
    m = _CODEPOINT.fullmatch(word)
    return chr(int(m.group(1), 16)) if m else word


# -- writing -------------------------------------------------------------------


def write(model: Exportable, out: TextIO) -> list[int]:
    """Write `model` as ARPA text to `out`; returns the n-gram count per order."""
    vocab = model.require_fitted()
    t = model.backoff_tables()
    V, N = t.vocab_size, t.order
    words = [EOS, *(word_of(s, vocab.kind) for s in vocab.symbols), *[UNK] * vocab.unk]
    ctx_words = [BOS, *words[1:]]
    sizes = [len(k) for k in t.keys]
    sizes[0] += 1 if vocab.unk else 2  # <s>, and <unk> unless it is a token
    out.write("\\data\\\n")
    for k, n in enumerate(sizes, 1):
        out.write(f"ngram {k}={n}\n")
    for k in range(1, N + 1):
        out.write(f"\n\\{k}-grams:\n")
        bows = _bow_map(t, k) if k < N else {}
        if k == 1 and not vocab.unk:  # closed: no mass (or an old file's reserve)
            unk = t.unk_logp / LN10 if math.isfinite(t.unk_logp) else NO_PROB
            out.write(f"{_num(unk)}\t{UNK}\n")
        if k == 1:
            out.write(f"{_num(NO_PROB)}\t{BOS}\t{_num(bows.get(0, 0.0))}\n")
        keys = t.keys[k - 1].tolist()
        logp = (t.logp[k - 1] / LN10).tolist()
        for key, lp, ids in zip(keys, logp, key_digits(t.keys[k - 1], V, k).tolist()):
            text = " ".join([*(ctx_words[i] for i in ids[:-1]), words[ids[-1]]])
            bow = None if (k == 1 and key == 0) or ids[-1] == 0 else bows.get(key)
            tail = "" if bow is None else f"\t{_num(bow)}"
            out.write(f"{_num(lp)}\t{text}{tail}\n")
    out.write("\n\\end\\\n")
    return sizes


def _bow_map(t: BackoffTables, k: int) -> dict[int, float]:
    """log10 backoff of each k-token context, by key."""
    keys = t.ctx_keys[k - 1].tolist()
    return dict(zip(keys, (t.log_bow[k - 1] / LN10).tolist()))


def _num(x: float) -> str:
    if not math.isfinite(x):
        return f"{NO_PROB:g}"
    return f"{max(x, NO_PROB):.8g}"


def save(model: Exportable, path: str | Path) -> list[int]:
    """Write `model` to an ARPA file, atomically and with the mode of every output file.

    The target is checked as model files' are (container.check_target: no
    folder, a directory or a device file are refused in one line), then
    written by container.atomic_write. Returns the n-gram count per order.
    """
    path = Path(path)
    container.check_target(path, ArpaError)
    sizes: list[int] = []

    def write_text(f: BinaryIO) -> None:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="\n")
        sizes.extend(write(model, text))
        text.flush()
        text.detach()  # the container closes the file itself

    container.atomic_write(path, write_text, ArpaError)
    return sizes


# -- reading -------------------------------------------------------------------


@dataclass(frozen=True)
class ArpaModel:
    """What `read` returns: the vocabulary and backoff tables, and what was left out."""

    vocab: Vocabulary
    tables: BackoffTables
    skipped_unk: int  # n-grams above order 1 that hold <unk> (never queried)


def read(path: str | Path, kind: str | None = None) -> ArpaModel:
    """Read an ARPA file; ArpaError naming the line for anything malformed.

    kind: "char" or "word"; by default "char" when every word is one
    character (after <space> / <U+XXXX>), else "word".
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a byte-order mark is no header
    except FileNotFoundError:
        raise ArpaError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ArpaError(f"{name}: is a directory, not an ARPA file") from None
    except UnicodeDecodeError as e:
        raise ArpaError(f"{name}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise ArpaError(f"{name}: cannot read ({e.strerror or e})") from None
    declared, sections = _parse(name, text.split("\n"))
    return _build(name, declared, sections, kind)


Entry = tuple[int, float, list[str], float | None]  # line number, log10 p, words, log10 bow


def _parse(name: str, lines: list[str]) -> tuple[list[int], list[list[Entry]]]:
    """Declared counts and the entries of each order, checked line by line."""
    i = 0
    while i < len(lines) and lines[i].strip() != "\\data\\":
        i += 1
    if i == len(lines):
        raise ArpaError(f"{name}: not an ARPA file (no \\data\\ line)")
    declared: list[int] = []
    i += 1
    while i < len(lines) and lines[i].strip().startswith("ngram "):
        m = re.fullmatch(r"ngram\s+(\d+)\s*=\s*(\d+)", lines[i].strip())
        if not m or int(m.group(1)) != len(declared) + 1:
            raise ArpaError(f"{name}:{i + 1}: malformed header line {lines[i].strip()!r}")
        declared.append(int(m.group(2)))
        i += 1
    if not declared:
        raise ArpaError(f"{name}:{i + 1}: no 'ngram N=COUNT' lines after \\data\\")
    sections: list[list[Entry]] = []
    order = 0
    ended = False
    for j in range(i, len(lines)):
        line = lines[j].strip()
        if not line:
            continue
        if line == "\\end\\":
            ended = True
            break
        m = re.fullmatch(r"\\(\d+)-grams:", line)
        if m:
            order = int(m.group(1))
            if order > len(declared):
                raise ArpaError(
                    f"{name}:{j + 1}: \\{order}-grams: section above the declared order "
                    f"{len(declared)}"
                )
            if order != len(sections) + 1:
                raise ArpaError(f"{name}:{j + 1}: \\{order}-grams: section out of order")
            sections.append([])
            continue
        if order == 0:
            raise ArpaError(f"{name}:{j + 1}: n-gram line before any \\N-grams: section")
        sections[-1].append(_entry(name, j + 1, line, order))
    if not ended:
        raise ArpaError(f"{name}: truncated ARPA file (no \\end\\ line)")
    for k, (want, got) in enumerate(zip(declared, sections), 1):
        if want != len(got):
            raise ArpaError(
                f"{name}: inconsistent counts: the header declares {want} {k}-grams, "
                f"the file holds {len(got)}"
            )
    if len(sections) != len(declared):
        raise ArpaError(
            f"{name}: inconsistent counts: the header declares order {len(declared)}, "
            f"the file has sections up to {len(sections)}"
        )
    return declared, sections


def _entry(name: str, lineno: int, line: str, k: int) -> Entry:
    fields = line.split()
    where = f"{name}:{lineno}"
    if len(fields) not in (k + 1, k + 2):
        raise ArpaError(f"{where}: malformed {k}-gram line (expected log10 p, {k} words, bow)")
    try:
        lp = float(fields[0])
        bow = float(fields[-1]) if len(fields) == k + 2 else None
    except ValueError:
        raise ArpaError(f"{where}: malformed {k}-gram line (not a number)") from None
    if math.isnan(lp) or lp > 0:
        raise ArpaError(f"{where}: log10 probability must be a number <= 0, got {fields[0]}")
    if bow is not None and not math.isfinite(bow):  # a backoff weight may be > 0, not nan/inf
        raise ArpaError(f"{where}: log10 backoff weight must be a finite number, got {fields[-1]}")
    return lineno, lp, fields[1 : k + 1], bow


def _build(
    name: str, declared: list[int], sections: list[list[Entry]], kind: str | None
) -> ArpaModel:
    specials = {BOS, EOS, UNK}
    raw = sorted({w for _, _, ws, _ in sections[0] for w in ws} - specials)
    chars = {w: symbol_of(w) for w in raw}  # <space>, <U+XXXX> undone (char models)
    if kind is None:
        kind = "char" if all(len(c) == 1 for c in chars.values()) else "word"
    if kind == "char" and any(len(c) != 1 for c in chars.values()):
        raise ArpaError(f"{name}: --tokenizer char, but some words are longer than one character")
    symbol = chars if kind == "char" else {w: w for w in raw}
    words = sorted(symbol.values())
    open_vocab = any(ws == [UNK] and lp > NO_PROB for _, lp, ws, _ in sections[0])
    vocab = Vocabulary(kind, tuple(words), pick_boundary(words), open_vocab, default_for(words))
    V, N = len(vocab), len(sections)
    try:
        check_order(N, V)
    except NgramkitError as e:
        raise ArpaError(f"{name}: {e}") from None
    index = {s: i + 1 for i, s in enumerate(words)}
    ids = {BOS: 0, EOS: 0, **{w: index[symbol[w]] for w in raw}}  # ARPA word -> token id
    if open_vocab:
        ids[UNK] = V - 1  # the unknown token: an ordinary id from here on
    unk_logp = -math.inf
    skipped = 0
    keys: list[list[int]] = [[] for _ in range(N)]
    logp: list[list[float]] = [[] for _ in range(N)]
    ctx: list[dict[int, float]] = [{} for _ in range(N)]  # ctx[k]: k-token contexts
    for k, section in enumerate(sections, 1):
        for lineno, lp, ws, bow in section:
            if UNK in ws and not open_vocab:
                if k == 1:
                    unk_logp = lp * LN10 if lp > NO_PROB else -math.inf
                else:
                    skipped += 1
                continue
            key = 0
            for pos, w in enumerate(ws):
                if (w == BOS and pos != 0) or (w == EOS and pos != k - 1):
                    raise ArpaError(f"{name}:{lineno}: {w} in the middle of an n-gram")
                t = ids.get(w)
                if t is None:
                    raise ArpaError(f"{name}:{lineno}: word {w!r} is not among the unigrams")
                key = key * V + t
            if bow is not None and k < N and ws[-1] != EOS:
                ctx[k][key] = bow * LN10
            if ws == [BOS]:
                continue  # <s> is context only
            keys[k - 1].append(key)
            logp[k - 1].append(lp * LN10)
    if 0 not in keys[0]:
        raise ArpaError(f"{name}: no </s> unigram: the model never ends an item")
    t_keys, t_logp, t_ctx, t_bow = [], [], [], []
    for k in range(N):
        kk = torch.tensor(keys[k], dtype=torch.long)
        vv = torch.tensor(logp[k], dtype=torch.float64)
        kk, order = torch.sort(kk)
        if bool((kk[1:] == kk[:-1]).any()):
            raise ArpaError(f"{name}: a {k + 1}-gram is listed twice")
        t_keys.append(kk)
        t_logp.append(vv[order])
        if k >= 1:
            ck = torch.tensor(sorted(ctx[k]), dtype=torch.long)
            t_ctx.append(ck)
            t_bow.append(torch.tensor([ctx[k][c] for c in ck.tolist()], dtype=torch.float64))
    tables = BackoffTables(V, tuple(t_keys), tuple(t_logp), tuple(t_ctx), tuple(t_bow), unk_logp)
    return ArpaModel(vocab, tables, skipped)
