"""A run's network evaluated by the learner's own forward functions, one image at a time, in a child
process with the kata's limits: the notebook's canvas asks it after every stroke, and an endless loop
or a crash in exercises/ stops that process, never the kernel.

The child is started as the test process is (checker.sandbox: isolated, memory-limited, in its own
process group, killed with whatever it started), imports the kata's packages from the clone's root,
loads the run's weights (checker.runs) and builds their forward pass in evaluation mode from the
package's functions (checker.models.evaluation_forward). Each question is one JSON line over a socket
pair; an answer that does not come within the kata's time limit (KATA_TIMEOUT, 30 s by default) ends
the child, and the next question starts a fresh one.

    forward = LearnerForward(run_dir)     started at once, so that the first stroke is answered quickly
    answer = forward(image)               Answer(probs or None, problem: "" or what went wrong, in words)
    forward.close()
"""

from __future__ import annotations

import json
import math
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import sandbox
from .project import FINDER, ROOT

STARTUP_SECONDS = 60.0  # for the child to start Python, import NumPy and the learner's modules, load the weights
CPU_SECONDS = 24 * 3600.0  # the child lives as long as the canvas: its CPU time is bounded per question instead
MAX_REPLY_BYTES = 1 << 16

CHILD = FINDER + """
import json, socket, sys
root, impl, run_dir, fd = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
_serve_kata_packages(root, ("checker", "exercises", "solutions", impl.split(".")[0]))
stream = socket.socket(fileno=fd).makefile("rwb")


def reply(message):
    stream.write((json.dumps(message) + "\\n").encode())
    stream.flush()


try:
    import numpy as np
    from checker import models, runs
    from checker.live_forward import described
    params = runs.load_network(run_dir)
    forward = models.evaluation_forward(impl, params)
except BaseException as error:
    from checker.live_forward import described
    reply({"error": described(error, impl)})
    sys.exit(0)
reply({"ready": True})
for line in stream:
    try:
        image = np.asarray(json.loads(line)["pixels"], dtype=np.float32).reshape(1, -1)
        probs = np.asarray(forward(params, image)[0], dtype=np.float64).reshape(-1)
        reply({"probs": [float(p) for p in probs]})
    except BaseException as error:
        reply({"error": described(error, impl)})
"""


@dataclass(frozen=True)
class Answer:
    probs: list[float] | None  # the ten probabilities, or None when the functions gave none
    problem: str = ""  # what went wrong, in words for the learner


def described(error: BaseException, impl: str = "exercises") -> str:
    """An exception of the child in words: its type and message, and the learner's line it came from."""
    from .errors import KataError
    from .teach import learner_frame

    if isinstance(error, KataError):
        return str(error)
    message = " ".join(str(error).split())[:300]
    frame = learner_frame(error, impl)
    where = f" ({impl}/{Path(frame.filename).name} line {frame.lineno}, in {frame.name})" if frame else ""
    return f"{type(error).__name__}: {message}{where}"


class LearnerForward:
    """The learner's forward pass of run_dir's network, in a child process (see the module's docstring)."""

    def __init__(self, run_dir: Path, impl: str = "exercises", root: Path = ROOT):
        self.run_dir, self.impl, self.root = Path(run_dir), impl, Path(root)
        self.process: subprocess.Popen | None = None
        self.stream = None
        self.channel: socket.socket | None = None
        self.token = ""
        self.failed = ""  # why the child could not start its forward pass (it then answers nothing else)
        self._start()

    def _start(self) -> None:
        self.close()
        mine, theirs = socket.socketpair()
        self.token = secrets.token_hex(16)
        env = sandbox.child_environment({sandbox.TOKEN_VARIABLE: self.token, "KATA_IMPL": self.impl})
        command = [sys.executable, "-I", "-c", CHILD, str(self.root), self.impl, str(self.run_dir), str(theirs.fileno())]
        try:
            self.process = sandbox.start_child(command, cwd=self.root, env=env, stdout=subprocess.DEVNULL,
                                               cpu_seconds=CPU_SECONDS, pass_fds=(theirs.fileno(),))
        finally:
            theirs.close()
        self.channel, self.stream, self.failed, self.ready = mine, mine.makefile("rwb"), "", False

    def __call__(self, pixels) -> Answer:
        """The learner's probabilities for one image (784 values in [0, 1])."""
        limit = sandbox.time_limit()
        if self.process is None or self.process.poll() is not None or self.failed:
            self._start()
        if not self.ready:
            started = self._read(STARTUP_SECONDS + limit)
            if "error" in started or not started.get("ready"):
                self.failed = started.get("error", "it did not start")
                return Answer(None, f"your functions cannot read it: {self.failed}")
            self.ready = True
        try:
            self.stream.write((json.dumps({"pixels": [float(v) for v in pixels]}) + "\n").encode())
            self.stream.flush()
        except OSError:
            self._start()
            return Answer(None, "the process running your functions ended; draw again to start it afresh")
        reply = self._read(limit)
        if reply.get("timeout"):
            return Answer(None, f"your forward functions did not answer within {limit:g} s: is there an endless "
                                "loop in them? They were stopped; the next stroke starts them again.")
        if "error" in reply:
            return Answer(None, f"your functions raised {reply['error']}")
        probs = reply.get("probs")
        if not (isinstance(probs, list) and probs and all(isinstance(p, (int, float)) for p in probs)):
            return Answer(None, "your functions gave no probabilities")
        if not all(math.isfinite(p) for p in probs):
            return Answer(None, "your functions gave probabilities that are not finite (nan or inf)")
        return Answer([float(p) for p in probs])

    def _read(self, seconds: float) -> dict:
        """One reply, or {"timeout": True} (the child is then ended) or {"error": ...}."""
        try:
            self.channel.settimeout(seconds)
            line = self.stream.readline(MAX_REPLY_BYTES)
        except (socket.timeout, TimeoutError):
            self.close()
            return {"timeout": True}
        except OSError as error:
            self.close()
            return {"error": f"the process running your functions failed ({error.strerror or error})"}
        if not line:
            code = self.process.wait() if self.process else None
            self.close()
            ended = f"it ended with exit code {code}" if code is not None and code >= 0 else \
                f"it was ended by {sandbox.signal_name(-code)}" if code is not None else "it ended"
            return {"error": f"the process running your functions stopped ({ended}: a crash of Python, os._exit(), "
                             "or more memory than the kata's limit)"}
        try:
            reply = json.loads(line)
        except ValueError:
            return {"error": "the process running your functions answered something else than the kata's reply"}
        return reply if isinstance(reply, dict) else {"error": "an unreadable reply"}

    def close(self) -> None:
        """End the child and whatever it started."""
        for closing in (self.stream, self.channel):
            try:
                if closing is not None:
                    closing.close()
            except OSError:
                pass
        self.stream = self.channel = None
        if self.process is not None:
            if self.process.poll() is None:
                sandbox.kill(self.process)
            sandbox.end_leftovers(self.process, self.token)
            self.process = None
