"""CPU tuning (aekit/cpu.py): the OpenMP wait policy, chosen by an explicit
call before torch loads; the usable CPUs; denormal flushing on every thread."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pathlib import Path

from aekit.cpu import SPIN_COUNT, USER_SETTINGS, cgroup_cpu_quota, choose_wait_policy, cpu_name, cpuinfo_field


def test_cpuinfo_fields_and_the_cpu_name(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\n")
    assert cpuinfo_field("model name", str(info)) == "AMD EPYC 7B13"
    assert cpuinfo_field("vendor_id", str(info)) == "AuthenticAMD"
    assert cpuinfo_field("model name", str(tmp_path / "missing")) is None
    name = cpu_name()   # this machine's: /proc/cpuinfo's model name where Linux gives one
    assert name and "\n" not in name
    assert name == (cpuinfo_field("model name") or name)


def test_quiet_machine_spins_briefly():
    env: dict[str, str] = {}
    assert choose_wait_policy(env, cpus=2, busy=0.0) == "spin"
    assert env == {"GOMP_SPINCOUNT": SPIN_COUNT}


@pytest.mark.parametrize("cpus, busy", [(2, 1.0), (2, 3.0), (8, 1.0), (1, 0.0)])
def test_loaded_machine_or_single_cpu_sleeps(cpus, busy):
    env: dict[str, str] = {}
    assert choose_wait_policy(env, cpus=cpus, busy=busy) == "passive"
    assert env == {"OMP_WAIT_POLICY": "PASSIVE"}


@pytest.mark.parametrize("name", USER_SETTINGS)
def test_users_setting_wins(name):
    env = {name: "ACTIVE" if name == "OMP_WAIT_POLICY" else "5"}
    before = dict(env)
    assert choose_wait_policy(env, cpus=2, busy=0.0) == "user"
    assert choose_wait_policy(env, cpus=2, busy=9.0) == "user"
    assert env == before


def _python(code: str, extra_env: dict[str, str] | None = None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in USER_SETTINGS}
    env.update(extra_env or {})
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


WAIT_SETTINGS = "os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY')"


def test_tune_cpu_applies_the_choice_before_torch_loads():
    policy, spin, wait = _python(f"import os, aekit; print(aekit.tune_cpu(), {WAIT_SETTINGS})")
    assert policy in ("spin", "passive")
    assert (spin, wait) == ((SPIN_COUNT, "None") if policy == "spin" else ("None", "PASSIVE"))
    code = f"import os, aekit; print(aekit.tune_cpu(), {WAIT_SETTINGS})"
    assert _python(code, {"OMP_WAIT_POLICY": "ACTIVE"}) == ["user", "None", "ACTIVE"]
    # torch imported first: too late to choose, and nothing is pretended.
    assert _python(f"import os, torch, aekit; print(aekit.tune_cpu(), {WAIT_SETTINGS})") == ["late", "None", "None"]


def test_the_aekit_command_tunes_before_torch_loads():
    code = ("import os, sys; from aekit.cli.main import main; sys.argv = ['aekit', 'presets']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print('torch' in sys.modules, {WAIT_SETTINGS})")
    loaded, spin, wait = _python(code)[-3:]
    assert (spin, wait) in ((SPIN_COUNT, "None"), ("None", "PASSIVE"))


def test_importing_aekit_changes_nothing():
    # No environment writes, no sleeps, no reads of the machine's load, on
    # importing the package and the modules a user imports (torch included).
    code = """
import builtins, os, time
env = dict(os.environ)
calls = []
real_open, real_sleep = builtins.open, time.sleep
builtins.open = lambda f, *a, **k: (calls.append(str(f)), real_open(f, *a, **k))[1]
time.sleep = lambda s: (calls.append(f"sleep {s}"), real_sleep(s))[1]
import aekit, aekit.api, aekit.cli.main, aekit.cpu, aekit.models, aekit.metrics
builtins.open, time.sleep = real_open, real_sleep
print(dict(os.environ) == env, any("loadavg" in c or c.startswith("sleep") for c in calls), "torch" in dir())
"""
    unchanged, probed, _ = _python(code)
    assert unchanged == "True" and probed == "False"


def test_flushing_denormals_reaches_torchs_threads_beside_another_openmp_runtime(tmp_path):
    # scikit-learn, for one, ships a libgomp of its own; loaded after torch,
    # its pool is not the one torch's kernels run on.
    import shutil

    import torch
    torch_gomp = next((Path(torch.__file__).parent / "lib").glob("libgomp*.so*"), None)
    assert torch_gomp is not None, "torch's CPU wheel ships libgomp"
    other = tmp_path / "libgomp-other.so.1"
    shutil.copy(torch_gomp, other)
    code = f"""
import ctypes, torch
from aekit.cpu import flushing_denormals
torch.set_num_threads(2)
x = torch.full((4_000_000,), 1e-30)
(x * 2).sum()
ctypes.CDLL({str(other)!r})
with flushing_denormals(True):
    print((x * 1e-10 != 0).float().mean().item())
"""
    assert _python(code) == ["0.0"]


def test_flushing_denormals_reaches_every_thread_and_is_undone():
    # A product below fp32's smallest normal (1e-40) is 0 when flushed. The
    # array is large enough for torch to split it over both threads.
    code = """
import torch
from aekit.cpu import flushing_denormals
torch.set_num_threads(2)
x = torch.full((4_000_000,), 1e-30)
denormal = lambda: (x * 1e-10 != 0).float().mean().item()
before = denormal()
with flushing_denormals(True):
    inside = denormal()
with flushing_denormals(False):
    off = denormal()
print(before, inside, denormal(), off)
"""
    before, inside, after, off = map(float, _python(code))
    assert (before, inside, after, off) == (1.0, 0.0, 1.0, 1.0)


def test_busy_elsewhere_sees_a_busy_process():
    from aekit.cpu import busy_elsewhere
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        import time
        time.sleep(0.3)
        assert busy_elsewhere() >= 1
    finally:
        hog.kill()
        hog.wait()


@pytest.mark.parametrize("files, quota", [
    ({"cpu.max": "200000 100000\n"}, 2.0),                       # cgroup v2, docker --cpus 2
    ({"cpu.max": "150000 100000\n"}, 1.5),
    ({"cpu.max": "max 100000\n"}, None),                         # v2, no limit
    ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3.0),   # v1
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),      # v1, no limit
    ({}, None),                                                   # no cgroup files at all
])
def test_cgroup_cpu_quota(tmp_path, files, quota):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpu_quota(tmp_path) == quota
