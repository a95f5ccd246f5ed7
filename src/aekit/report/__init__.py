"""What a run leaves for people to look at: the run folder, plots, reports.

`aekit.report(run, out=None)` writes RUN/report.html (aekit/report/run_page.py):
this package is itself callable, because `aekit.report` names both the
package and that function (a submodule, once imported, would otherwise
shadow a function of the same name on the `aekit` module). Loading the
package loads nothing else."""

import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, run, out=None, data=None):
        """aekit.report(run, out=None, data=None) -> the report's path (aekit.report.run_page.report)."""
        from aekit.report.run_page import report

        return report(run, out=out, data=data)


sys.modules[__name__].__class__ = _CallablePackage
