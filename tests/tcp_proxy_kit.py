"""A TCP proxy on loopback that can misbehave like a network: for the partition tests.

``TcpProxy(host, port)`` listens on 127.0.0.1 (``proxy.port``) and forwards every
connection to ``host:port`` until told otherwise:

- ``blackhole()``: the connections open now stop forwarding without closing (nothing is
  read or sent any more, as when a firewall or NAT silently drops a flow); with
  ``new_too`` the connections opened later are accepted and stalled the same way;
- ``heal()``: connections opened from now on are forwarded again;
- ``reset()``: the connections open now are closed with a TCP reset;
- ``close()``: stop listening and close everything.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from typing import Any

from sqlalchemy.engine import make_url

_POLL = 0.1


class _Pair:
    def __init__(self, client: socket.socket, upstream: socket.socket | None, stalled: bool):
        self.client = client
        self.upstream = upstream
        self.stalled = stalled
        self.closed = False

    def shut(self, reset: bool = False) -> None:
        self.closed = True
        for sock in (self.client, self.upstream):
            if sock is None:
                continue
            try:
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            except OSError:
                pass


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``host``:``target_port`` (see the module docstring)."""

    def __init__(self, host: str, target_port: int) -> None:
        self.target = (host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._pairs: list[_Pair] = []
        self._lock = threading.Lock()
        self._stall_new = False
        self._running = True
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def url_for(self, url: str) -> str:
        """``url`` pointed at the proxy instead of its host and port."""
        return (
            make_url(url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    @property
    def connections(self) -> int:
        """Connections open through the proxy."""
        with self._lock:
            return sum(1 for p in self._pairs if not p.closed)

    def blackhole(self, new_too: bool = True) -> None:
        """Stop forwarding on every open connection, without closing any."""
        with self._lock:
            for pair in self._pairs:
                pair.stalled = True
            self._stall_new = new_too

    def heal(self) -> None:
        """Forward the connections opened from now on."""
        with self._lock:
            self._stall_new = False

    def reset(self) -> None:
        """Close every open connection with a TCP reset."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.shut(reset=True)

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._running = False
        self._listener.close()
        self.reset()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                stalled = self._stall_new
            upstream = None
            if not stalled:
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                    upstream.settimeout(None)
                except OSError:
                    client.close()
                    continue
            pair = _Pair(client, upstream, stalled)
            with self._lock:
                self._pairs.append(pair)
            if upstream is not None:
                threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _pump(self, pair: _Pair) -> None:
        assert pair.upstream is not None
        ends = {pair.client: pair.upstream, pair.upstream: pair.client}
        while not pair.closed:
            if pair.stalled:
                threading.Event().wait(_POLL)
                continue
            try:
                ready, _, _ = select.select(list(ends), [], [], _POLL)
                for sock in ready:
                    if pair.stalled:
                        break
                    data = sock.recv(65536)
                    if not data:
                        pair.shut()
                        return
                    ends[sock].sendall(data)
            except (OSError, ValueError):
                pair.shut()
                return
