"""A headless Chromium driven over the Chrome DevTools protocol through a pipe (no package
beyond the standard library; ``--remote-debugging-pipe``: commands on fd 3, replies on fd 4, each
message JSON ended by a NUL byte). For the report page's browser tests and screenshots.

    with Browser() as b:
        b.open(Path("report.html"))           # waits for the load event
        b.evaluate("document.title")
        b.hover(x, y); b.click(x, y)          # real mouse events at page coordinates
        b.errors                              # console errors and uncaught exceptions
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

#: The flags the tests start Chromium with: no sandbox (root in CI), nothing from the network.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-pipe"]


def chromium() -> Optional[str]:
    """The Chromium executable (Debian's ``chromium``), or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium with one page (1400 x 900 CSS pixels)."""

    def __init__(self, timeout_s: float = 60.0) -> None:
        exe = chromium()
        if exe is None:
            raise FileNotFoundError("chromium is not installed (Debian: apt-get install chromium)")
        self.timeout_s = timeout_s
        self.profile = tempfile.mkdtemp(prefix="an-chromium-")
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()

        def fds() -> None:  # in the child: the protocol's fds 3 (commands) and 4 (replies)
            high_r, high_w = os.dup(cmd_r) + 100, os.dup(resp_w) + 100  # out of the way of 3 and 4 first
            os.dup2(cmd_r, high_r)
            os.dup2(resp_w, high_w)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(resp_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []
        self.errors: list[str] = []
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 900, "deviceScaleFactor": 1,
                                                         "mobile": False})

    # --- the protocol -------------------------------------------------------------------------------
    def _write(self, message: dict) -> None:
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout_s
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._resp_r, 1 << 16)
            if not chunk:
                raise ConnectionError("chromium closed the pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "method" in message:
            self._event(message)
        return message

    def _event(self, message: dict) -> None:
        self.events.append(message)
        method, params = message["method"], message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append(str(details.get("exception", {}).get("description") or details.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.errors.append(params["entry"].get("text", ""))

    def _send(self, method: str, params: Optional[dict] = None, session: Optional[str] = None) -> dict:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write(message)
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def send(self, method: str, params: Optional[dict] = None) -> dict:
        """A command to the page."""
        return self._send(method, params, self.session)

    def wait_for(self, method: str) -> dict:
        """The next event ``method`` (events seen before this call are not waited for again)."""
        seen = len(self.events)
        while True:
            for message in self.events[seen:]:
                if message["method"] == method:
                    return message
            seen = len(self.events)
            self._read()

    # --- what the tests do ---------------------------------------------------------------------------
    def open(self, path: Path) -> None:
        """Load a file and wait for its load event."""
        self.events.clear()
        self.send("Page.navigate", {"url": Path(path).resolve().as_uri()})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def centre(self, selector: str) -> tuple[float, float]:
        """Page coordinates of the centre of the first element matching ``selector``, scrolled into view."""
        box = self.evaluate(f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
                            "e.scrollIntoView({block: 'center'}); var r = e.getBoundingClientRect();"
                            "return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        return float(box[0]), float(box[1])

    def hover(self, x: float, y: float) -> None:
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})

    def click(self, x: float, y: float) -> None:
        self.hover(x, y)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, path: Path, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size[0], "height": min(size[1], 2400), "scale": 1})
        Path(path).write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))

    def close(self) -> None:
        try:
            self._send("Browser.close")
        except (OSError, RuntimeError, ConnectionError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_w, self._resp_r):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
