"""The OpenMP wait policy chosen at `import aekit`, before torch loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from aekit.openmp import SPIN_COUNT, USER_SETTINGS, cgroup_cpu_quota, choose_wait_policy


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


def _import_aekit(extra_env: dict[str, str], first: str = "aekit, torch") -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in USER_SETTINGS}
    env.update(extra_env)
    code = (f"import os, {first}; "
            "print(aekit.OPENMP_WAIT, os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_import_applies_the_choice_before_torch_loads():
    policy, spin, wait = _import_aekit({})
    assert policy in ("spin", "passive")
    assert (spin, wait) == ((SPIN_COUNT, "None") if policy == "spin" else ("None", "PASSIVE"))
    assert _import_aekit({"OMP_WAIT_POLICY": "ACTIVE"}) == ["user", "None", "ACTIVE"]
    # torch imported first: too late to choose, and nothing is pretended.
    assert _import_aekit({}, first="torch, aekit") == ["late", "None", "None"]


def test_busy_elsewhere_sees_a_busy_process():
    from aekit.openmp import busy_elsewhere
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
