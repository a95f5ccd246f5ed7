"""Running the explorer: `explore(...)` serves until Ctrl-C (what `aekit explore` calls);
`start(...)` serves from a background thread and hands back its URL (notebooks, tests).

The socket is bound before the model and data load, so a port in use is one
line at once, not after the wait. The host is 127.0.0.1 unless told otherwise:
the explorer has no authentication, and on any other address whoever reaches
the machine can use it (and is warned about).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from aekit.errors import AekitError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """The warning for a host other than the loopback, or None."""
    if is_loopback(host):
        return None
    return (f"serving on {host}: anyone who can reach this machine can use the explorer (it has no "
            f"login); the default, 127.0.0.1, keeps it to this machine")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); port 0 picks a free one."""
    if not 0 <= port <= 65535:
        raise AekitError(f"port {port} is not a TCP port: give 1-65535 (or 0 for any free port)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise AekitError(f"host {host!r} is not an address of this machine: give an IP address "
                         f"such as 127.0.0.1 (the default) or 0.0.0.0") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as uvicorn does: restart past TIME_WAIT
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise AekitError(f"port {port} on {host} is in use: choose another with --port "
                             f"(or --port 0 for any free one)") from None
        raise AekitError(f"cannot listen on {host}:{port} ({err.strerror}): choose another --host or --port") from None
    # Listening from now on: a browser that connects while the model loads waits in the
    # backlog for the page instead of being refused.
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}/"


def build(source: Any, data: str | None = None, warn: Callable[[str], None] | None = None,
          host: str = DEFAULT_HOST) -> Any:
    """The explorer's ASGI app for `source`: an `aekit.Model`, or anything `aekit.load` takes.
    `warn` gets a line when the model's own data could not be had (see state.dataset_for).
    Served on a loopback `host`, it answers only requests addressed to the loopback's names
    (limits.HostCheck); on any other, whatever name the machine is reached by."""
    from aekit.apps.model import Model, load
    from aekit.serve.app import app
    from aekit.serve.state import Explorer, dataset_for

    model = source if isinstance(source, Model) else load(source)
    dataset, note = dataset_for(model, data)
    if note is not None:
        (warn or (lambda line: print(line, file=sys.stderr)))(f"aekit: warning: {note}")
    from aekit.serve.limits import LOOPBACK_NAMES

    # The bound address itself is a name the browser may use too (127.0.0.2, 127.0.1.1, ...).
    return app(Explorer(model, dataset, note), (*LOOPBACK_NAMES, host) if is_loopback(host) else None)


@contextlib.contextmanager
def one_torch_thread():
    """torch on one thread while the explorer serves, as it was after. Each request decodes
    one image: on more threads the ops wait for each other, and on a busy machine for cores
    other processes hold (measured on the 2-core test machine under load: one decode
    p50 0.75 ms on 1 thread, 84 ms on 2)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _server(asgi: Any, sock: socket.socket, log_level: str):
    import uvicorn

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(asgi, host=host, port=port, log_level=log_level, access_log=False,
                            timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


def explore(source: Any, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, data: str | None = None,
            open_browser: bool = False, echo: Callable[[str], None] = print,
            warn: Callable[[str], None] | None = None) -> None:
    """Serve the explorer for `source` on host:port until interrupted."""
    sock = bind(host, port)
    try:
        warning = exposure_warning(host)   # once the address is known to be good
        if warning:
            (warn or echo)(f"aekit: warning: {warning}")
        asgi = build(source, data, warn or echo, host)
        url = url_of(sock)
        echo(f"aekit explorer: {url}  (Ctrl-C stops it)")
        if open_browser:
            import webbrowser

            threading.Timer(0.5, webbrowser.open, args=(url,)).start()
        with one_torch_thread():
            _server(asgi, sock, "warning").run(sockets=[sock])
    finally:
        sock.close()


@dataclass
class Running:
    """An explorer serving from a background thread; `stop()` ends it."""
    url: str
    server: Any
    thread: threading.Thread
    threads: contextlib.ExitStack

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.threads.close()


def start(source: Any, host: str = DEFAULT_HOST, port: int = 0, data: str | None = None) -> Running:
    """Serve the explorer for `source` from a daemon thread; returns once it answers.
    Until `stop()`, torch runs on one thread (see one_torch_thread)."""
    sock = bind(host, port)
    server = _server(build(source, data, host=host), sock, "error")
    threads = contextlib.ExitStack()
    threads.enter_context(one_torch_thread())
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="aekit-explorer")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            threads.close()
            raise AekitError(f"the explorer did not start on {url_of(sock)}")
        time.sleep(0.01)
    return Running(url_of(sock), server, thread, threads)
