"""Headless Chromium driven over the DevTools protocol's pipe, with no dependency beyond the browser: the tests
and benchmarks that use the book's pages as a reader does (click, type, download, time a page's loading).

Debian's ``chromium`` package provides the browser (``make test`` installs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any


class BrowserError(RuntimeError):
    """The browser is missing, died, or a page did not do what was waited for."""


def chromium() -> str | None:
    """The Chromium executable on the PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium with one tab. ``with Browser() as b: b.open(url); b.click("#id")``."""

    def __init__(self, width: int = 1366, height: int = 900, downloads: str | Path | None = None):
        executable = chromium()
        if executable is None:
            raise BrowserError("chromium not found: sudo apt-get install chromium")
        self._profile = tempfile.mkdtemp(prefix="pruning-impact-chromium-")
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def pipes() -> None:  # the protocol's pipe is fds 3 (commands) and 4 (replies) of the browser
            a, b = os.dup(to_browser), os.dup(from_browser)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-pipe",
                f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            preexec_fn=pipes,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._id = b"", 0
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=True)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )
        if downloads is not None:
            self.send(
                "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(Path(downloads).resolve())}
            )

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=30)
        for fd in (self._write, self._read):
            with contextlib.suppress(OSError):  # closed already
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)

    def send(self, method: str, params: dict | None = None, session: bool = False, timeout: float = 60) -> dict:
        """Send one protocol command and return its result (events that arrive meanwhile are dropped)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._read], [], [], left)[0]:
                    raise BrowserError(f"no answer to {method} within {timeout} s")
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise BrowserError("chromium closed its pipe (it crashed or could not start)")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Poll a JavaScript expression until it is truthy (an exception counts as false: the page may still
        be loading); return its value."""
        deadline, error = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except BrowserError as exc:
                value, error = None, f" (last error: {exc})"
            if value:
                return value
            time.sleep(0.02)
        raise BrowserError(f"still false after {timeout} s: {expression}{error}")

    def open(self, url: str, ready: str = "document.readyState === 'complete'", timeout: float = 60) -> float:
        """Load ``url`` and wait until ``ready`` holds; return the seconds that took."""
        start = time.perf_counter()
        self.send("Page.navigate", {"url": url}, session=True)
        self.wait_for(f"location.href !== 'about:blank' && ({ready})", timeout)
        return time.perf_counter() - start

    def click(self, selector: str) -> None:
        """Click the middle of the first element matching ``selector`` with the mouse, as a reader does."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        if box is None:
            raise BrowserError(f"nothing matches {selector}")
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
                session=True,
            )

    def type(self, selector: str, text: str) -> None:
        """Focus the field matching ``selector`` and type ``text`` into it."""
        self.click(selector)
        self.send("Input.insertText", {"text": text}, session=True)

    def select(self, selector: str, value: str) -> None:
        """Choose ``value`` in a ``<select>`` as a reader's choice would (the change event fires)."""
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return false;"
            f" e.value = {json.dumps(value)}; e.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }})()"
        )
        if not found:
            raise BrowserError(f"nothing matches {selector}")


def wait_for_download(folder: str | Path, timeout: float = 30) -> Path:
    """The one file a download saved into ``folder``, once it is complete."""
    folder, deadline = Path(folder), time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if not p.name.endswith(".crdownload")] if folder.is_dir() else []
        partial = list(folder.glob("*.crdownload")) if folder.is_dir() else []
        if done and not partial:
            return done[0]
        time.sleep(0.1)
    raise BrowserError(f"no download arrived in {folder} within {timeout} s")
