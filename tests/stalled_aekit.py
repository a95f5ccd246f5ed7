"""`python tests/stalled_aekit.py ARGS...` runs `aekit ARGS` with one atomic
write stopped in its middle, for tests that SIGKILL a process there.

AEKIT_TEST_STALL names a file (a glob on the name, e.g. `last-*.safetensors`);
AEKIT_TEST_STALL_AT=N picks its N-th write (1 by default). That write has put
its new bytes in the temporary file beside the target; here the temporary
file is cut to half its size (as if the kill landed mid-write), its name is
written to the file AEKIT_TEST_STALL_MARK, and the process sleeps until it is
killed, before the rename. With AEKIT_TEST_STALL_RELEASE=1 the temporary
file is left whole and the process waits only until the mark file is removed,
then goes on: a process held at a known point that then finishes normally.
Test code only: the product has no such hook."""

from __future__ import annotations

import fnmatch
import os
import sys
import time
from pathlib import Path

_real_replace = os.replace
_seen = 0


def _stalling_replace(src, dst, *args, **kwargs):
    global _seen
    if fnmatch.fnmatch(Path(dst).name, os.environ["AEKIT_TEST_STALL"]):
        _seen += 1
        if _seen == int(os.environ.get("AEKIT_TEST_STALL_AT", "1")):
            mark = Path(os.environ["AEKIT_TEST_STALL_MARK"])
            if os.environ.get("AEKIT_TEST_STALL_RELEASE") == "1":
                mark.write_text(str(src))
                while mark.exists():
                    time.sleep(0.01)
            else:
                os.truncate(src, os.path.getsize(src) // 2)
                mark.write_text(str(src))
                time.sleep(3600)
    return _real_replace(src, dst, *args, **kwargs)


if __name__ == "__main__":
    os.replace = _stalling_replace
    from aekit.cli.main import main

    main(sys.argv[1:])
