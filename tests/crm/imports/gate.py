"""A gate that holds a worker at a point of its work until the test has looked: progress tests move in step with
the work, never by timing."""

from __future__ import annotations

import threading


class Gate:
    """The worker calls `passage()` at each point (e.g. before each batch); the test calls `wait()` to know it is
    there, looks, then `open()` to let it go on. Either side gives up after `timeout` seconds, so a broken test
    fails instead of hanging."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self._arrived = threading.Semaphore(0)
        self._opened = threading.Semaphore(0)
        self.passages = 0

    def passage(self) -> None:
        self.passages += 1
        self._arrived.release()
        if not self._opened.acquire(timeout=self.timeout):
            raise RuntimeError("the test never opened the gate")

    def wait(self) -> None:
        assert self._arrived.acquire(timeout=self.timeout), "the worker never reached the gate"

    def open(self) -> None:
        self._opened.release()
