"""The trainer and everything around it: configs, optimisers, schedules,
checkpoints, callbacks, devices and DDP.

`aekit.train("fashion-ae", ...)` is the Python API's entry point
(`aekit.api.train`), and this package shares its name.  Python binds
`aekit.train` to this package as soon as any `aekit.train.*` module is
imported, which would shadow the function, so the package itself is made
callable and forwards to it.
"""

import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from aekit.api import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
