"""aekit's Linear: nn.Linear's maths and state, with fp32 CPU matmuls in
oneDNN where chosen; the choice rule; and the paths that must keep torch's."""

from __future__ import annotations

import subprocess
import sys
import warnings
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch.utils._python_dispatch import TorchDispatchMode

from aekit.api import resume, train
from aekit.errors import ConfigError
from aekit.nn import linear
from aekit.nn.linear import (
    Linear, choose_kernel, cpu_linear_kernel, cpu_vendor, has_onednn_linear, using_cpu_linear_kernel,
)

from helpers import StopAt

ONEDNN_OP = "aekit.onednn_linear"   # the custom op that calls oneDNN's linear (mkldnn._linear_pointwise)


class OpNames(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(str(func.overloadpacket))
        return func(*args, **(kwargs or {}))


def ops_of(fn) -> list[str]:
    with OpNames() as rec:
        fn()
    return rec.names


@pytest.fixture
def fresh_check():
    """The once-per-process check of oneDNN's op, forgotten before and after the test."""
    has_onednn_linear.cache_clear()
    linear._machine_kernel.cache_clear()
    yield
    has_onednn_linear.cache_clear()
    linear._machine_kernel.cache_clear()


def test_torch_ships_the_onednn_linear_here(fresh_check):
    # The x86 CPU wheel of torch that aekit installs has oneDNN, and its private
    # op passes the check quietly; every test below that forces the oneDNN path
    # relies on it (none is skipped).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert linear.onednn_linear_problem() is None
        assert has_onednn_linear()


def test_importing_aekit_runs_no_check():
    # The check runs on first use, never at import: importing does no work.
    code = ("import aekit, aekit.nn, aekit.models, aekit.api, aekit.training.trainer; from aekit.nn import linear; "
            "print(linear.has_onednn_linear.cache_info().misses, linear._machine_kernel.cache_info().misses)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "0"]


def _raise_type_error(*args):
    raise TypeError("_linear_pointwise() takes 4 positional arguments but 6 were given")


BROKEN_OPS = {   # how a torch release could break the private op, and the reason the notice gives
    "missing": (SimpleNamespace(), "has no torch.ops.mkldnn._linear_pointwise"),
    "new signature": (SimpleNamespace(_linear_pointwise=_raise_type_error),
                      "failed (TypeError: _linear_pointwise() takes 4"),
    "wrong values": (SimpleNamespace(_linear_pointwise=lambda x, w, b, *rest: F.linear(x, w)),   # drops the bias
                     "no longer computes x @ weight.T + bias"),
}


@pytest.mark.parametrize("broken", BROKEN_OPS)
def test_a_broken_private_op_falls_back_to_torch_with_one_notice(broken, fresh_check, monkeypatch):
    namespace, reason = BROKEN_OPS[broken]
    monkeypatch.setattr(torch.ops, "mkldnn", namespace)
    monkeypatch.setenv("AEKIT_CPU_LINEAR", "onednn")   # asked for oneDNN, which is not there
    layer = Linear(300, 200)
    x = torch.randn(8, 300, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")   # every warning recorded, not only the first of its place
        outputs = [layer(x) for _ in range(3)]   # the check runs here, on first use
        with using_cpu_linear_kernel("auto"):
            outputs.append(layer(x))
        names = ops_of(lambda: layer(x).sum().backward())
    notices = [str(w.message) for w in caught]
    assert len(notices) == 1, notices
    assert notices[0].startswith("aekit: linear layers use torch's kernels, not oneDNN's")
    assert reason in notices[0] and "AEKIT_CPU_LINEAR=torch" in notices[0]
    assert cpu_linear_kernel() == "torch" and ONEDNN_OP not in names
    for y in outputs:
        assert torch.equal(y, F.linear(x, layer.weight, layer.bias))


def test_choosing_torchs_kernel_skips_the_check_and_its_notice(fresh_check, monkeypatch):
    monkeypatch.setattr(torch.ops, "mkldnn", SimpleNamespace())
    monkeypatch.setenv("AEKIT_CPU_LINEAR", "torch")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Linear(300, 200)(torch.randn(8, 300))
    assert has_onednn_linear.cache_info().misses == 0


@pytest.mark.parametrize("setting, onednn, mkl, vendor, expected", [
    ("auto", True, True, "AuthenticAMD", "onednn"),   # MKL takes its AVX2 path on AMD
    ("auto", True, True, "HygonGenuine", "onednn"),
    ("auto", True, True, "GenuineIntel", "torch"),    # MKL is at home on Intel
    ("auto", True, True, None, "torch"),              # unknown CPU: torch's default
    ("auto", True, False, "AuthenticAMD", "torch"),   # not MKL (OpenBLAS, Accelerate...): torch's default
    ("onednn", True, True, "GenuineIntel", "onednn"),
    ("onednn", False, True, "AuthenticAMD", "torch"),  # asked for, but torch has no oneDNN
    ("torch", True, True, "AuthenticAMD", "torch"),
])
def test_kernel_choice(setting, onednn, mkl, vendor, expected):
    assert choose_kernel(setting, onednn, mkl, vendor) == expected


def test_bad_kernel_name_is_one_clear_error(monkeypatch):
    with pytest.raises(ConfigError, match="AEKIT_CPU_LINEAR='fastest'.*auto, onednn, torch"):
        choose_kernel("fastest", True, True, "AuthenticAMD")
    monkeypatch.setenv("AEKIT_CPU_LINEAR", "fastest")
    with pytest.raises(ConfigError, match="AEKIT_CPU_LINEAR"):
        Linear(100, 100)(torch.randn(2, 100))
    monkeypatch.setenv("AEKIT_CPU_LINEAR", "TORCH ")   # case and spaces forgiven
    assert cpu_linear_kernel() == "torch"


def test_cpu_vendor_reads_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\n")
    assert cpu_vendor(str(info)) == "AuthenticAMD"
    assert cpu_vendor(str(tmp_path / "missing")) is None
    info.write_text("processor\t: 0\n")   # e.g. an ARM machine's cpuinfo
    assert cpu_vendor(str(info)) is None


def twins(in_features, out_features, bias=True):
    torch.manual_seed(0)
    ours = Linear(in_features, out_features, bias=bias)
    ref = torch.nn.Linear(in_features, out_features, bias=bias)
    ref.load_state_dict(ours.state_dict())
    return ours, ref


@pytest.mark.parametrize("shape, bias, strided", [
    ((128, 784), True, False),
    ((4, 32, 300), True, False),   # leading dimensions, as F.linear takes them
    ((96, 300), False, False),
    ((96, 300), True, True),       # a non-contiguous input (every other column of a wider tensor)
])
def test_onednn_path_matches_torch_forward_and_backward(shape, bias, strided):
    ours, ref = twins(shape[-1], 200, bias)
    torch.manual_seed(1)
    base = torch.randn(*shape[:-1], 2 * shape[-1]) if strided else torch.randn(*shape)
    x1 = (base[..., ::2] if strided else base).detach().requires_grad_()
    assert x1.is_contiguous() != strided
    x2 = x1.detach().clone().requires_grad_()
    grad = torch.randn(*shape[:-1], 200)
    with using_cpu_linear_kernel("onednn"):
        names = ops_of(lambda: ours(x1).backward(grad))
    ref(x2).backward(grad)
    assert names.count(ONEDNN_OP) == 3, names   # forward, grad of input, grad of weight: all oneDNN
    assert "aten.addmm" not in names and "aten.mm" not in names
    y1 = ours(x1)
    assert y1.shape == ref(x2).shape
    torch.testing.assert_close(y1, ref(x2), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad, rtol=1e-5, atol=1e-3)
    if bias:
        torch.testing.assert_close(ours.bias.grad, ref.bias.grad, rtol=1e-5, atol=1e-3)
    assert ours.state_dict().keys() == ref.state_dict().keys()


def test_which_layers_and_modes_keep_torchs_kernels():
    wide, thin = Linear(300, 200), Linear(20, 400)
    x = torch.randn(8, 300)
    with using_cpu_linear_kernel("onednn"):
        assert ONEDNN_OP in ops_of(lambda: wide(x))
        assert ONEDNN_OP not in ops_of(lambda: thin(torch.randn(8, 20)))   # thinner than MIN_FEATURES
        with torch.inference_mode():   # no autograd node, still oneDNN
            assert ops_of(lambda: wide(x)) == [ONEDNN_OP]
        with torch.autocast("cpu", dtype=torch.bfloat16):   # autocast's own bf16 kernels
            assert ONEDNN_OP not in ops_of(lambda: wide(x))
        assert ONEDNN_OP not in ops_of(lambda: Linear(300, 200).double()(x.double()))   # fp32 only
        # Exported graphs (torch.export, which ONNX export builds on) hold a plain linear.
        exported = torch.export.export(wide, (x,))
        calls = [str(n.target) for n in exported.graph.nodes if n.op == "call_function"]
        assert calls == ["aten.linear.default"]
        torch.testing.assert_close(exported.module()(x), wide(x), rtol=1e-5, atol=1e-5)
    with using_cpu_linear_kernel("torch"):
        assert ONEDNN_OP not in ops_of(lambda: wide(x))


def test_second_derivatives_match_torchs():
    # e.g. a gradient penalty on a critic: the backward's matmuls are oneDNN's and differentiable too.
    ours, ref = twins(100, 120)
    x = torch.randn(6, 100)
    grads = []
    for layer, kernel in ((ours, "onednn"), (ref, "torch")):
        xi = x.clone().requires_grad_()
        with using_cpu_linear_kernel(kernel):
            (g,) = torch.autograd.grad(torch.tanh(layer(xi)).pow(2).sum(), xi, create_graph=True)
            g.pow(2).sum().backward()
        grads.append((xi.grad, layer.weight.grad))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_an_empty_batch_goes_through():
    with using_cpu_linear_kernel("onednn"):
        assert Linear(100, 100)(torch.randn(0, 100)).shape == (0, 100)


def final_weights(tmp_path, name):
    run = train("vae-kingma", data="digits-sample", epochs=1, seed=5, batch_size=128, out=tmp_path / name)
    return run, load_file(str(tmp_path / name / "model.safetensors"))


def test_onednn_training_repeats_bitwise_and_follows_torchs(tmp_path, monkeypatch):
    monkeypatch.setenv("AEKIT_CPU_LINEAR", "onednn")
    run_a, a = final_weights(tmp_path, "a")
    _, b = final_weights(tmp_path, "b")
    for name in a:
        assert torch.equal(a[name], b[name]), name   # a seed fixes a oneDNN run too
    monkeypatch.setenv("AEKIT_CPU_LINEAR", "torch")
    run_t, t = final_weights(tmp_path, "t")
    # The same training, rounded differently: the losses agree closely, and it learned.
    for o, r in zip(run_a.history, run_t.history):
        assert o["train_loss"] == pytest.approx(r["train_loss"], rel=2e-3)
        assert o["val_loss"] == pytest.approx(r["val_loss"], rel=2e-3)
    # One epoch of vae-kingma on the digits, measured val_loss (2-core AMD EPYC, 2026-11-30):
    # 221.2 with seed 5; 226.0 / 218.1 with seeds 0 / 1. Bound: ~4 % above the worst.
    assert run_a.history[-1]["val_loss"] < 235.0
    assert any(not torch.equal(a[n], t[n]) for n in a)   # the kernels really differed


def test_a_resumed_run_keeps_its_kernel_whatever_the_environment_says(tmp_path, monkeypatch):
    kw = dict(data="digits-sample", epochs=1, seed=6, batch_size=128)
    monkeypatch.setenv("AEKIT_CPU_LINEAR", "onednn")
    train("vae-kingma", **kw, out=tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        train("vae-kingma", **kw, out=tmp_path / "cut", callbacks=[StopAt(9)])
    monkeypatch.setenv("AEKIT_CPU_LINEAR", "torch")   # e.g. a new shell
    resume(tmp_path / "cut")
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "model.safetensors"))
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert cpu_linear_kernel() == "torch"   # the run's choice did not leak out of it
