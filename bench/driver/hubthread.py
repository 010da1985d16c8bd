"""greenpsyco's hub on a thread of its own, so cooperative batches run beside blocking ones.

Twisted's reactor runs once per process, so one hub serves the whole benchmark. The benchmark's main
thread hands a batch over (``spawn`` + ``join``: one thread hand-off per batch, not per operation);
inside, the batch runs in a request greenlet and every query waits on the reactor like a request's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from greenpsyco import hub


class HubThread:
    _shared: ClassVar[HubThread | None] = None

    def __init__(self) -> None:
        self.hub = hub.start_hub()
        self.thread = threading.Thread(
            target=self.hub.run_forever, kwargs={"install_signal_handlers": False}, daemon=True
        )
        self.thread.start()

    @classmethod
    def shared(cls) -> HubThread:
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def call(self, fn: Callable[..., int], *args: Any) -> int:
        """Run ``fn(*args)`` in a new request greenlet of the hub; wait for it here."""
        task = self.hub.spawn(fn, *args)
        task.join()
        return task.result()

    @classmethod
    def stop_shared(cls) -> None:
        shared, cls._shared = cls._shared, None
        if shared is not None:
            shared.hub.stop()
            shared.thread.join(30)
