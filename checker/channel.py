"""The channel of events from the test process to `kata`: checker.results_plugin writes one signed
line per event, checker.runner reads them back. The signature is an HMAC-SHA256 with a key only the
two of them know, over the line's JSON (which holds its sequence number), so lines written by
anything else, or replayed, are recognised and ignored."""

from __future__ import annotations

import hashlib
import hmac
import json


def sign(key: bytes, text: str) -> str:
    """The signature of one event line (its JSON text, which holds its sequence number)."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


class EventReader:
    """The events the child's plugin signed, in order; anything else in the file is ignored."""

    def __init__(self, results_file, key: bytes):
        self.file, self.key = results_file, key
        self.sequence = 0
        self.forged = 0  # lines not signed by the kata's plugin

    def read(self):
        """The complete, genuine events appended since the last call (a half-written last line waits)."""
        while True:
            position = self.file.tell()
            line = self.file.readline()
            if not line:
                return
            if not line.endswith(b"\n"):
                self.file.seek(position)
                return
            signature, _, text = line.decode("utf-8", "replace").rstrip("\n").partition(" ")
            try:
                event = json.loads(text)
                genuine = (hmac.compare_digest(signature, sign(self.key, text))
                           and event.get("seq") == self.sequence + 1)
            except (ValueError, AttributeError, TypeError):
                genuine = False
            if not genuine:
                self.forged += 1
                continue
            self.sequence += 1
            yield event
