"""ONNX export against torch: how far onnxruntime's outputs are from the
model's, how long the export takes and how large the graphs are.

    AEKIT_DATA_DIR=../shared/data python benchmarks/onnx_fidelity.py

The set-up of tests/test_onnx_export.py: each preset (an MLP AE, a conv AE,
a VAE) trained one epoch on 1,000 digits-sample images (seed 0), exported
with aekit.io.export_onnx, then 8 real test digits run at batch sizes 1 and
7 through encoder.onnx and decoder.onnx (the decoder fed torch's codes, so
each graph is measured alone). Prints the largest absolute difference per
graph; the test asserts 1e-5. docs/export.md holds the figures.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_family_support import train_briefly  # noqa: E402

from aekit.io import export_onnx  # noqa: E402

PRESETS = ("fashion-ae", "conv-ae-10", "vae-kingma")


def main() -> None:
    import onnxruntime as ort

    print("preset       export_s  codes_b1  images_b1  codes_b7  images_b7  encoder_kB  decoder_kB")
    for preset in PRESETS:
        brief = train_briefly(preset, n_train=1000, epochs=1, seed=0, n_val=200, sets=["data.name=digits-sample"])
        model = brief.model
        start = time.perf_counter()
        paths = export_onnx(model, tempfile.mkdtemp())
        seconds = time.perf_counter() - start
        encoder, decoder = (ort.InferenceSession(str(paths[r]), providers=["CPUExecutionProvider"])
                            for r in ("encoder", "decoder"))
        images = model.preprocess(brief.dataset.test.images[:8])
        diffs = []
        for batch in (images[:1], images[1:8]):
            with torch.no_grad():
                codes = model.encode(batch)
                recon = model.decode(codes)
            diffs.append(abs(encoder.run(None, {"images": batch.numpy()})[0] - codes.numpy()).max())
            diffs.append(abs(decoder.run(None, {"codes": codes.numpy()})[0] - recon.numpy()).max())
        sizes = [paths[r].stat().st_size / 1000 for r in ("encoder", "decoder")]
        print(f"{preset:12s} {seconds:8.1f}  " + "  ".join(f"{d:8.1e}" for d in diffs)
              + f"  {sizes[0]:10.0f}  {sizes[1]:10.0f}")


if __name__ == "__main__":
    main()
