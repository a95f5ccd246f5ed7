"""ONNX export: a model's encoder and decoder as two ONNX graphs, for use
without aekit or torch (onnxruntime, other languages, other runtimes).

- encoder.onnx: input "images" float32 [N, C, H, W] in the model's data
  range -> output "codes" float32 [N, D]: the deterministic code (a VAE's
  posterior mean; nothing is sampled, so the graph holds no random op).
- decoder.onnx: input "codes" float32 [N, D] -> output "images" float32
  [N, C, H, W]: the likelihood's mean, in the model's data range.
- onnx.json: the shapes, the data range and the pre/post-processing in
  words, the opset, and the content hash of the weights the graphs hold.
N is a dynamic axis: any batch size runs.

The exporter is torch's own (torch.onnx.export with dynamo=True, the default
since torch 2.9; it needs the `onnxscript` package and works offline). The
older TorchScript exporter (dynamo=False) still runs on torch 2.13 but warns
that it is deprecated and will be removed, and it traces through Python, so
a value read from a tensor would be frozen into the graph silently.

aekit's own oneDNN linear op (aekit/nn/linear.py) is not an ONNX operator:
export runs under torch's kernels (`using_cpu_linear_kernel("torch")`),
which compute the same function. Weights are kept inside each .onnx file
(no external .data file): aekit's models are far below ONNX's 2 GB limit.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from aekit import __version__
from aekit.errors import AekitError
from aekit.fs import atomic_write_text, atomic_write_with
from aekit.io.weights_hash import model_hash
from aekit.models.autoencoder import Autoencoder
from aekit.nn.linear import using_cpu_linear_kernel

FORMAT = "aekit.onnx"
VERSION = 1
ENCODER_FILE, DECODER_FILE, META_FILE = "encoder.onnx", "decoder.onnx", "onnx.json"
INSTALL = "pip install 'aekit[onnx]'"


class _EncoderGraph(nn.Module):
    def __init__(self, model: Autoencoder):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.encode(images)


class _DecoderGraph(nn.Module):
    def __init__(self, model: Autoencoder):
        super().__init__()
        self.model = model

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.model.decode(codes)


def require_onnx() -> None:
    """One line naming the install command where a package export needs is missing."""
    for name in ("onnx", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            raise AekitError(f"ONNX export needs the {name!r} package, which is not installed: "
                             f"{INSTALL}") from None


def export_onnx(model: Autoencoder, folder: str | Path) -> dict[str, Path]:
    """Write `folder/encoder.onnx`, `folder/decoder.onnx` and `folder/onnx.json`
    (each atomically); return their paths by role ("encoder", "decoder",
    "meta"). The caller's model is not touched (a CPU copy is exported)."""
    require_onnx()
    import onnx

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise AekitError(f"{folder} is a file: give a folder for the ONNX files")
    try:   # before the export's seconds: a folder that cannot be made fails now
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise AekitError(f"cannot create the folder {folder} ({err.strerror or err}): "
                         "choose a writable folder") from None
    copy_ = copy.deepcopy(model).to("cpu").eval()
    low, high = copy_.data_range
    c, h, w = copy_.input_shape
    example_images = torch.full((2, c, h, w), (low + high) / 2)   # batch 2: a batch of 1 would be specialised
    example_codes = torch.zeros(2, copy_.code_dim)
    paths = {"encoder": folder / ENCODER_FILE, "decoder": folder / DECODER_FILE, "meta": folder / META_FILE}
    _export(_EncoderGraph(copy_), example_images, "images", "codes", paths["encoder"], "encoder")
    _export(_DecoderGraph(copy_), example_codes, "codes", "images", paths["decoder"], "decoder")
    opset = max((o.version for o in onnx.load(str(paths["encoder"])).opset_import if o.domain in ("", "ai.onnx")),
                default=None)
    meta = export_description(copy_, opset)
    atomic_write_text(paths["meta"], json.dumps(meta, indent=2) + "\n")
    return paths


def export_description(model: Autoencoder, opset: int | None) -> dict:
    """onnx.json: what the graphs take and give, and how to get there from pixels."""
    low, high = model.data_range
    c, h, w = model.input_shape
    scale = "" if (low, high) == (0.0, 1.0) else f", then x * {high - low:g} + {low:g}"
    return {
        "format": FORMAT, "version": VERSION, "aekit_version": __version__, "opset": opset,
        "model_sha256": model_hash(model), "code_dim": model.code_dim,
        "input_shape": [c, h, w], "data_range": [low, high],
        "encoder": {"file": ENCODER_FILE, "input": {"name": "images", "dtype": "float32", "shape": ["N", c, h, w]},
                    "output": {"name": "codes", "dtype": "float32", "shape": ["N", model.code_dim]},
                    "computes": "the deterministic code (a VAE's posterior mean; no sampling)"},
        "decoder": {"file": DECODER_FILE,
                    "input": {"name": "codes", "dtype": "float32", "shape": ["N", model.code_dim]},
                    "output": {"name": "images", "dtype": "float32", "shape": ["N", c, h, w]},
                    "computes": "the likelihood's mean: images in the data range"},
        "preprocess": f"uint8 pixels [N, {c}, {h}, {w}] (channels first) -> float32 / 255 -> [0, 1]{scale}",
        "postprocess": (f"(y - {low:g}) / {high - low:g}, clipped to [0, 1]" if (low, high) != (0.0, 1.0)
                        else "clip to [0, 1]") + "; for uint8 pixels: * 255, round",
    }


def _export(graph: nn.Module, example: torch.Tensor, input_name: str, output_name: str, path: Path, part: str) -> None:
    import onnx

    graph.eval()
    log = io.StringIO()

    def write(tmp: str) -> None:
        torch.onnx.export(graph, (example,), tmp, dynamo=True, external_data=False, verbose=False,
                          input_names=[input_name], output_names=[output_name],
                          dynamic_shapes={input_name: {0: torch.export.Dim("batch", min=1)}})
        onnx.checker.check_model(tmp)

    try:
        with using_cpu_linear_kernel("torch"), torch.no_grad(), _quiet_exporter(log):
            atomic_write_with(path, write)
    except AekitError:
        raise
    except OSError as err:
        raise AekitError(f"cannot write {path} ({err.strerror or err}): choose a writable folder "
                         "with room for the graphs") from None
    except Exception as err:   # an operator the exporter cannot translate: a limit of the part, named
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise AekitError(f"ONNX export of the {part} failed ({type(err).__name__}: {first[:300]}): this model's "
                         "parts use an operation torch's ONNX exporter cannot translate; please report it") from None


@contextlib.contextmanager
def _quiet_exporter(log: io.StringIO):
    """The exporter's progress lines (stdout), its warnings and its log
    messages about optional packages (torchvision) go to `log`, not the
    user's terminal; the logger's level is restored after."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(log), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
