"""A headless Chromium driven over the DevTools protocol, with the standard library only.

Chromium is started with --remote-debugging-pipe: it reads commands on fd 3 and
writes answers and events on fd 4, each one JSON message ended by a NUL byte.
`Browser.open(path, width)` loads a local file in a fresh tab of that width and
returns a `Tab`, which records what a test asks about: uncaught exceptions,
console errors, log entries (a Content-Security-Policy violation lands there)
and every network request. No selenium or playwright: Debian's chromium is all
it needs, and tests skip where it is absent (`find_chromium`).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import struct
import subprocess
import tempfile
import threading
import zlib
from pathlib import Path
from typing import Any

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 30.0  # seconds one command may take


def find_chromium() -> str | None:
    """The first Chromium on PATH, or None."""
    return next((p for p in map(shutil.which, NAMES) if p), None)


class Browser:
    """One Chromium process; tabs are opened and closed in it."""

    def __init__(self, exe: str) -> None:
        self.profile = tempfile.TemporaryDirectory(prefix="ngramkit-chromium-")
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def fds() -> None:  # in the child: the pipe ends at the fds Chromium expects
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)  # above 3 and 4: no clash
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)  # inheritable, so they survive the exec
            os.dup2(b, 4)

        args = [
            exe,
            "--headless",
            "--no-sandbox",  # tests run as root in containers
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            "--mute-audio",
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile.name}",
            "about:blank",
        ]
        self.proc = subprocess.Popen(
            args,
            preexec_fn=fds,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next = 0
        self._answers: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._events: dict[str, list[dict[str, Any]]] = {}  # sessionId -> events
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        """Split fd 4's stream into messages: answers to their queue, events to a list."""
        buf = b""
        with os.fdopen(self._r, "rb", buffering=0) as f:
            while chunk := f.read(1 << 16):
                buf += chunk
                *msgs, buf = buf.split(b"\0")
                for raw in msgs:
                    msg = json.loads(raw)
                    with self._lock:
                        if "id" in msg:
                            self._answers.setdefault(msg["id"], queue.Queue()).put(msg)
                        else:
                            self._events.setdefault(msg.get("sessionId", ""), []).append(msg)

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """One command; its result, or RuntimeError with the protocol's error."""
        with self._lock:
            self._next += 1
            n = self._next
            box = self._answers.setdefault(n, queue.Queue())
        msg: dict[str, Any] = {"id": n, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        answer = box.get(timeout=TIMEOUT)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def events(self, session: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events.get(session, []))

    def open(self, path: Path, width: int, height: int = 900) -> Tab:
        """Load `path` in a new tab `width` CSS pixels wide; returns once it has loaded."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable", session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        tab = Tab(self, target, session)
        self.send("Page.navigate", session, url=path.resolve().as_uri())
        tab.wait("Page.loadEventFired")
        return tab

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError, queue.Empty):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        self.profile.cleanup()


class Tab:
    """One loaded page: evaluate JavaScript, read what went wrong, take a screenshot."""

    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser, self.target, self.session = browser, target, session

    def wait(self, method: str) -> None:
        import time

        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            if any(e["method"] == method for e in self.browser.events(self.session)):
                return
            time.sleep(0.02)
        raise TimeoutError(f"no {method} within {TIMEOUT} s")

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression (JSON-able); RuntimeError if it throws."""
        r = self.browser.send(
            "Runtime.evaluate", self.session, expression=expression, returnByValue=True
        )
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def problems(self) -> list[str]:
        """Uncaught exceptions, console errors and warnings, error log entries."""
        out = []
        for e in self.browser.events(self.session):
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('text')}")
            elif e["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "warning"):
                out.append(f"console.{p['type']}: {p['args']}")
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append(f"log: {p['entry']['text']}")
        return out

    def requests(self) -> list[str]:
        """Every URL the page asked for (the file itself included)."""
        return [
            e["params"]["request"]["url"]
            for e in self.browser.events(self.session)
            if e["method"] == "Network.requestWillBeSent"
        ]

    def screenshot(self, path: Path | None = None, scale: float = 1.0, height: int = 0) -> bytes:
        """A PNG of the page (beyond the viewport; its top `height` CSS pixels when given)
        at `scale`; saved to `path` when given."""
        size = self.js(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        tall = min(size[1], height) if height else size[1]
        clip = {"x": 0, "y": 0, "width": size[0], "height": tall, "scale": scale}
        r = self.browser.send(
            "Page.captureScreenshot",
            self.session,
            format="png",
            clip=clip,
            captureBeyondViewport=True,
        )
        png = base64.b64decode(r["data"])
        if path is not None:
            path.write_bytes(png)
        return png

    def close(self) -> None:
        self.browser.send("Target.closeTarget", targetId=self.target)


def ink(png: bytes) -> float:
    """The fraction of a PNG's pixels that are not near-white (8-bit RGB or RGBA).

    A blank page gives 0.0. Decodes the PNG with zlib and the five row filters.
    """
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        (n,), kind = struct.unpack(">I", png[pos : pos + 4]), png[pos + 4 : pos + 8]
        body = png[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6), "8-bit RGB(A) PNGs only"
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride = zlib.decompress(idat), width * channels
    prev, dark = bytearray(stride), 0
    for y in range(height):
        f, row = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        _unfilter(f, row, prev, channels)
        r, g, b = row[0::channels], row[1::channels], row[2::channels]
        dark += sum(1 for px in zip(r, g, b) if min(px) < 235)
        prev = row
    return dark / max(width * height, 1)


def _unfilter(f: int, row: bytearray, prev: bytearray, bpp: int) -> None:
    """Undo one PNG row filter in place (0 none, 1 sub, 2 up, 3 average, 4 Paeth)."""
    for i in range(len(row)):
        a = row[i - bpp] if i >= bpp else 0
        b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
        if f == 1:
            row[i] = (row[i] + a) & 255
        elif f == 2:
            row[i] = (row[i] + b) & 255
        elif f == 3:
            row[i] = (row[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
