"""The fully connected layer every part uses: torch's nn.Linear, with its
fp32 CPU matmuls run by oneDNN where torch's own BLAS is slow.

Why: torch's CPU builds send fp32 matmuls to Intel MKL, and MKL runs its
AVX2 code on CPUs that are not Intel's, even where they have AVX-512. Measured
with benchmarks/linear_kernels.py (the three matmuls of a layer's training
step) and trainer_speed.py:
- AMD EPYC Zen 5, 2 cores (2026-11-25): a 2048^2 fp32 matmul ~216 GFLOP/s
  through MKL, ~470 through oneDNN (which torch also ships, and already uses
  for convolutions and bf16); the MLP layers 1.9-2.3x, whole steps 1.4-1.6x.
- AMD EPYC Zen 4 (family 25, model 17), 2 cores (2026-11-30): 2048^2 fp32
  126 vs 171 GFLOP/s (1.36x); the MLP presets' layers 1.00-1.25x, except
  fashion-ae's 256->784 at batch 512 (0.70x).
- bf16: torch's own kernels (oneDNN underneath) beat the custom op at every
  MLP shape on Zen 4 (0.60-0.90x), so autocast keeps torch's kernels.
- Intel (Xeon Sapphire Rapids): not measured here yet (no such machine in
  the sessions that wrote this); MKL's own code path is kept there.
Layers thinner than MIN_FEATURES (a 20-d code's 20x400) stay with torch:
oneDNN measured slower there.

The parameters, the state dict and the maths are nn.Linear's: only the
summation order inside a matmul differs, so results match torch's to fp32
rounding, not bitwise. The choice is fixed per machine (and per
AEKIT_CPU_LINEAR), so a seeded run repeats bitwise on the same machine.

AEKIT_CPU_LINEAR=auto (default): oneDNN where torch's BLAS is MKL and the
CPU's vendor is not Intel; `onednn`: wherever torch has oneDNN; `torch`:
never (torch's own kernels everywhere, as a plain PyTorch script has them).

oneDNN's linear is reached through a private torch op
(torch.ops.mkldnn._linear_pointwise), which a torch release may drop or
change. So it is used only after a check, once per process and on first use
(never at import): the op must exist and compute F.linear on a small input.
Where it fails, every layer keeps torch's kernel and one warning says why.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from aekit.cpu import cpuinfo_field
from aekit.errors import ConfigError

KERNELS = ("auto", "onednn", "torch")
MIN_FEATURES = 64
_override: list[str] = []   # set by using_cpu_linear_kernel (innermost last)


def cpu_vendor(cpuinfo: str = "/proc/cpuinfo") -> str | None:
    """The CPU's vendor id ('GenuineIntel', 'AuthenticAMD', ...), None where unknown."""
    return cpuinfo_field("vendor_id", cpuinfo)


def onednn_linear_problem() -> str | None:
    """Why oneDNN's linear cannot be used here, or None when it works: the
    private op must exist, accept our call and match F.linear on a small
    input, as given and as the transposed views the backward pass hands it."""
    if not torch.backends.mkldnn.is_available():
        return "this torch build has no oneDNN"
    if not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        return f"torch {torch.__version__} has no torch.ops.mkldnn._linear_pointwise"
    gen = torch.Generator().manual_seed(0)   # the process's RNG stays untouched: seeded runs are unaffected
    x, weight, bias, grad = (torch.randn(*shape, generator=gen) for shape in ((3, 70), (65, 70), (65,), (3, 65)))
    # As the forward calls it, and with the transposed (strided) views that _backward passes.
    cases = [(x, weight, bias), (grad, weight.t(), None), (grad.t(), x.t(), None)]
    for a, w, b in cases:
        try:
            with torch.no_grad():
                y = onednn_linear(a, w, b)
        except Exception as err:   # e.g. a changed signature: TypeError, RuntimeError from the dispatcher
            return f"torch.ops.mkldnn._linear_pointwise failed ({type(err).__name__}: {err})"
        expected = F.linear(a, w, b)
        if not (isinstance(y, torch.Tensor) and y.shape == expected.shape
                and torch.allclose(y, expected, rtol=1e-4, atol=1e-4)):
            return "torch.ops.mkldnn._linear_pointwise no longer computes x @ weight.T + bias"
    return None


@functools.cache
def has_onednn_linear() -> bool:
    """Whether oneDNN's linear works in this process (checked once, on first
    call); when it does not, one warning says why."""
    problem = onednn_linear_problem()
    if problem is not None:
        warnings.warn(f"aekit: linear layers use torch's kernels, not oneDNN's: {problem} "
                      "(AEKIT_CPU_LINEAR=torch chooses them and silences this warning)", RuntimeWarning)
    return problem is None


def choose_kernel(setting: str, onednn: bool, blas_is_mkl: bool, vendor: str | None) -> str:
    """'onednn' or 'torch' for fp32 CPU linear layers (a pure function: tested on its own)."""
    if setting not in KERNELS:
        raise ConfigError(f"AEKIT_CPU_LINEAR={setting!r} is not a kernel choice: use one of {', '.join(KERNELS)}")
    if not onednn or setting == "torch":
        return "torch"
    if setting == "onednn":
        return "onednn"
    # auto: MKL dispatches its AVX2 code to every CPU that is not Intel's.
    return "onednn" if blas_is_mkl and vendor is not None and vendor != "GenuineIntel" else "torch"


@functools.lru_cache(maxsize=None)
def _machine_kernel(setting: str) -> str:
    chosen = choose_kernel(setting, True, torch.backends.mkl.is_available(), cpu_vendor())
    # Check oneDNN's op only where it would be used: no check and no warning
    # where torch's kernel is chosen anyway (AEKIT_CPU_LINEAR=torch, Intel CPUs).
    return "onednn" if chosen == "onednn" and has_onednn_linear() else "torch"


def cpu_linear_kernel() -> str:
    """The kernel fp32 CPU linear layers use now: 'onednn' or 'torch'."""
    setting = _override[-1] if _override else os.environ.get("AEKIT_CPU_LINEAR", "auto").strip().lower() or "auto"
    return _machine_kernel(setting)


def compile_kernel_choice_as_constant() -> None:
    """Before torch.compile: graphs read the kernel choice once, when they are
    compiled, instead of breaking at the lookup. Marks `cpu_linear_kernel` in
    place (documented: the same function is returned). Not done at import:
    it loads torch._dynamo (~1 s, and it writes os.environ)."""
    torch.compiler.assume_constant_result(cpu_linear_kernel)


@contextlib.contextmanager
def using_cpu_linear_kernel(setting: str):
    """Within the block, linear layers use `setting` (auto | onednn | torch)."""
    _machine_kernel(setting)   # a bad name fails here, before the block
    _override.append(setting)
    try:
        yield
    finally:
        _override.pop()


@torch.library.custom_op("aekit::onednn_linear", mutates_args=())
def onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x @ weight.T (+ bias) for 2-D x by oneDNN; strided views are read as
    they are. A custom op, not an autograd.Function: torch.compile keeps it
    as one opaque call (inductor cannot lower oneDNN's linear in a training
    graph) and fuses the elementwise work around it."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


@onednn_linear.register_fake
def _(x, weight, bias=None):
    return x.new_empty(x.shape[0], weight.shape[0])


def _save_inputs(ctx, inputs, output):
    x, weight, bias = inputs
    ctx.save_for_backward(x, weight)
    ctx.has_bias = bias is not None


def _backward(ctx, grad):
    # The gradients are oneDNN matmuls too (and differentiable in turn).
    x, weight = ctx.saved_tensors
    grad_x = onednn_linear(grad, weight.t()) if ctx.needs_input_grad[0] else None        # grad @ W
    grad_w = onednn_linear(grad.t(), x.t()) if ctx.needs_input_grad[1] else None         # grad^T @ x
    grad_b = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
    return grad_x, grad_w, grad_b


onednn_linear.register_autograd(_backward, setup_context=_save_inputs)


class Linear(nn.Linear):
    """nn.Linear (same parameters, same state dict) whose fp32 CPU matmuls go
    through oneDNN when `cpu_linear_kernel()` says so (see the module's doc)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._use_onednn(x):
            return F.linear(x, self.weight, self.bias)
        if x.dim() == 2:
            return onednn_linear(x, self.weight, self.bias)
        y = onednn_linear(x.reshape(-1, self.in_features), self.weight, self.bias)
        return y.view(*x.shape[:-1], self.out_features)

    def _use_onednn(self, x: torch.Tensor) -> bool:
        return (
            x.device.type == "cpu" and x.dtype == torch.float32 and self.weight.dtype == torch.float32
            and min(self.in_features, self.out_features) >= MIN_FEATURES
            and not torch.is_autocast_enabled("cpu")      # autocast picks its own (bf16) kernels
            and x.numel() > 0                              # oneDNN refuses empty batches
            and not torch.jit.is_tracing() and not torch.onnx.is_in_onnx_export()
            and not torch.compiler.is_exporting()         # exported graphs hold a plain linear
            and cpu_linear_kernel() == "onednn"
        )
