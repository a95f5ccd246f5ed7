"""The interactive latent explorer (web): `aekit explore RUN` on the command line.

    import aekit
    aekit.explore("runs/fashion-ae-...")          # serves http://127.0.0.1:8765/ until Ctrl-C
    running = aekit.serve.start(model)            # from a thread: running.url, running.stop()
    asgi = aekit.serve.build(model)               # the ASGI app, for any ASGI server

docs/explorer.md describes the page and its HTTP API.
"""

from aekit.serve.server import build, explore, start

__all__ = ["build", "explore", "start"]
