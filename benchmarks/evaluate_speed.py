"""The importance-sampled NLL: aekit's against pythae's `get_nll`, on the same weights.

A `vae-kingma` (784-400-(20, 20), 20-400-784, Bernoulli) is trained here for
`--epochs` (5) on binarized MNIST (or read from a run folder, `--run`), its
weights copied into pythae's VAE (the networks of peer_pythae.py), and the
NLL of the same test images estimated with k importance samples by:

- aekit: `aekit.metrics.importance_sampled_nll` (each image encoded once, its
  k codes decoded in large blocks);
- pythae: `VAE.get_nll(data, n_samples=k, batch_size=B)` at its default
  B = 100 and at B = k (its faster setting: one decoder call per image).

The three run interleaved in rounds (who goes first rotates), each round on
its own slice of test images, so that a busy machine slows every side alike:
images/s per side (median over rounds) and the median per-round ratios. The
two estimates (mean NLL over the same images, nats) are printed side by side,
and aekit's GFLOP/s in each round (its matmul FLOPs counted by torch's
FlopCounterMode) against the best fp32 matmul peak measured right after that
round (compute.py), and its best round against the run's best peak.

pythae is not a dependency of aekit: run this in the venv of peer_pythae.py
(benchmarks/README.md), with aekit from the source tree:

    AEKIT_DATA_DIR=../shared/data PYTHONPATH=src /tmp/bench-venv/bin/python benchmarks/evaluate_speed.py
    ... benchmarks/evaluate_speed.py --quick          # smoke run: k = 500, few images
    ... benchmarks/evaluate_speed.py --full-test      # also aekit alone on the whole test set at k
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import aekit

# Before torch loads, as the aekit command does (peer_pythae.py does the same).
WAITS = aekit.tune_cpu()

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from aekit.data import load_dataset  # noqa: E402
from aekit.io import load_model  # noqa: E402
from aekit.metrics import importance_sampled_nll  # noqa: E402
from aekit.metrics.nll import image_seed  # noqa: E402
from aekit.models import Autoencoder  # noqa: E402
from aekit.nn.linear import cpu_linear_kernel, has_onednn_linear, using_cpu_linear_kernel  # noqa: E402
from compute import matmul_peak_gflops, openmp_settings  # noqa: E402
from peer_pythae import DATA, PRESET, pythae_model  # noqa: E402  (exits with a hint where pythae is missing)

SIDES = ("aekit", "pythae B=100", "pythae B=k")
PYTHAE_SEED = 1000


def same_draws_gap(model: Autoencoder, p, images: torch.Tensor, k: int) -> float:
    """Largest |aekit - pythae| NLL per image when both draw the same codes:
    aekit draws image i's k x 20 normals from a stream seeded by
    `image_seed(0, i)`, pythae each image's from the global stream, here
    seeded the same before each image; so the draws coincide and the two
    estimators must agree to float rounding."""
    ours = importance_sampled_nll(model, images, k=k, seed=0)
    theirs = [pythae_nll(p, images[i:i + 1], k, k, image_seed(0, i)) for i in range(len(images))]
    return max(abs(float(a) - b) for a, b in zip(ours, theirs))


def trained_model(run: Path | None, epochs: int, tmp: Path) -> Autoencoder:
    if run is not None:
        return load_model(run)
    print(f"training {PRESET} on {DATA} for {epochs} epoch(s) ...", flush=True)
    start = time.perf_counter()
    model = aekit.train(PRESET, data=DATA, epochs=epochs, seed=0, out=tmp / "run").model
    print(f"  trained in {time.perf_counter() - start:.0f} s", flush=True)
    return model


def to_pythae(model: Autoencoder):
    """pythae's VAE with aekit's weights: the encoder's hidden layer, the
    bottleneck's one 400 -> 40 layer split into pythae's mean and log-variance
    layers (aekit's first 20 outputs are the mean), the decoder's two layers."""
    p = pythae_model(seed=0)
    enc, dec = model.encoder.net[1], model.decoder.net
    mean_logvar = model.bottleneck.linear
    d = model.code_dim
    pairs = [(p.encoder.hidden[1], enc.weight, enc.bias),
             (p.encoder.mean, mean_logvar.weight[:d], mean_logvar.bias[:d]),
             (p.encoder.logvar, mean_logvar.weight[d:], mean_logvar.bias[d:]),
             (p.decoder.logits[0], dec[0].weight, dec[0].bias),
             (p.decoder.logits[2], dec[2].weight, dec[2].bias)]
    with torch.no_grad():
        for layer, weight, bias in pairs:
            if layer.weight.shape != weight.shape:
                raise SystemExit(f"the model is not {PRESET}'s shape ({tuple(weight.shape)} where pythae's network "
                                 f"has {tuple(layer.weight.shape)}): train it with --preset {PRESET}")
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
    return p.eval()


def check_same_model(model: Autoencoder, p, images: torch.Tensor) -> float:
    """Largest difference between the two decoders' probabilities and the two
    encoders' means on real images: float rounding only, or the copy is wrong."""
    with torch.no_grad():
        x = model.preprocess(images)
        code = model.bottleneck(model.encoder(x), sample=False)
        out = p.encoder(x)
        probs = torch.sigmoid(model.decoder(code.mean))
        gap = max(float((out["embedding"] - code.mean).abs().max()),
                  float((out["log_covariance"] - code.logvar).abs().max()),
                  float((p.decoder(code.mean)["reconstruction"] - probs).abs().max()))
    if gap > 1e-4:
        raise SystemExit(f"pythae's copy of the model differs from aekit's by {gap:.2e}: the weight mapping is wrong")
    return gap


def nll_flops_per_image(model: Autoencoder, images: torch.Tensor, k: int) -> float:
    """Matmul FLOPs of aekit's NLL per image (2 per multiply-add, as
    FlopCounterMode counts; torch's linear kernels here, since it has no
    formula for oneDNN's, which does the same work)."""
    with using_cpu_linear_kernel("torch"), FlopCounterMode(display=False) as counter:
        importance_sampled_nll(model, images, k=k)
    return counter.get_total_flops() / len(images)


def pythae_nll(p, images: torch.Tensor, k: int, batch: int, seed: int) -> float:
    """pythae's mean NLL over `images` (its get_nll returns the mean log p(x))."""
    x = images.float().div(255)
    torch.manual_seed(seed)   # pythae draws from the global stream
    with torch.no_grad():
        return -float(p.get_nll(x, n_samples=k, batch_size=batch))


def measure(model, p, images: torch.Tensor, k: int, rounds: int, per_round: int) -> dict:
    runs = {"aekit": lambda x, r: float(importance_sampled_nll(model, x, k=k, seed=r).mean()),
            # Other seeds than aekit's: the estimates compared are independent.
            "pythae B=100": lambda x, r: pythae_nll(p, x, k, 100, PYTHAE_SEED + r),
            "pythae B=k": lambda x, r: pythae_nll(p, x, k, k, PYTHAE_SEED + r)}
    rates = {s: [] for s in SIDES}
    cpu_rates = {s: [] for s in SIDES}
    estimates = {s: [] for s in SIDES}
    peaks = {"fp32 torch a @ b": []} | ({"fp32 oneDNN": []} if has_onednn_linear() else {})
    for r in range(rounds):
        x = images[r * per_round:(r + 1) * per_round]
        for side in SIDES[r % 3:] + SIDES[:r % 3]:   # rotate who goes first
            start, cpu = time.perf_counter(), time.process_time()
            estimates[side].append(runs[side](x, r))
            rates[side].append(len(x) / (time.perf_counter() - start))
            cpu_rates[side].append(len(x) / (time.process_time() - cpu))
        peaks["fp32 torch a @ b"].append(matmul_peak_gflops())
        if "fp32 oneDNN" in peaks:
            peaks["fp32 oneDNN"].append(matmul_peak_gflops(onednn=True))
        print(f"round {r + 1}: " + "  ".join(f"{s} {rates[s][-1]:6.2f} img/s ({estimates[s][-1]:.2f} nats)"
                                            for s in SIDES), flush=True)
    return {"rates": rates, "cpu_rates": cpu_rates, "estimates": estimates, "peaks": peaks}


def report(result: dict, k: int, rounds: int, per_round: int, flops: float) -> None:
    rates, cpu_rates, estimates = result["rates"], result["cpu_rates"], result["estimates"]

    def ratio(num, den, table):
        r = [a / b for a, b in zip(table[num], table[den])]
        return f"{statistics.median(r):.2f}x (min {min(r):.2f}, max {max(r):.2f})"
    print(f"\nimportance-sampled NLL, k = {k:,}, {rounds} interleaved rounds of {per_round} test images, "
          f"{torch.get_num_threads()} threads")
    print("  images/s (median over rounds)  " + "  ".join(f"{s} {statistics.median(rates[s]):.2f}" for s in SIDES))
    for other in SIDES[1:]:
        print(f"  aekit / {other}: {ratio('aekit', other, rates)} per wall second, "
              f"{ratio('aekit', other, cpu_rates)} per CPU second")
    means = {s: statistics.mean(estimates[s]) for s in SIDES}
    print(f"  mean NLL over the same {rounds * per_round} images, nats: "
          + "  ".join(f"{s} {means[s]:.2f}" for s in SIDES)
          + f"; aekit - pythae B=k {means['aekit'] - means['pythae B=k']:+.2f}, "
            f"aekit - pythae B=100 {means['aekit'] - means['pythae B=100']:+.2f}")
    best = max((max(v), name) for name, v in result["peaks"].items())
    gflops = [flops * rate / 1e9 for rate in rates["aekit"]]
    # Each round against the peak measured right after it: a shared machine's
    # load changes between rounds, and moves both alike.
    round_peaks = [max(v[r] for v in result["peaks"].values()) for r in range(rounds)]
    shares = [100 * g / peak for g, peak in zip(gflops, round_peaks)]
    print(f"  aekit's NLL: {flops / 1e9:.2f} GFLOP per image (matmuls); GFLOP/s per round "
          + ", ".join(f"{g:.0f}" for g in gflops) + " against the best fp32 matmul peak measured after each round "
          + ", ".join(f"{p:.0f}" for p in round_peaks) + f": {statistics.median(shares):.0f}% (median; "
          f"min {min(shares):.0f}%, max {max(shares):.0f}%). Best round against the best peak in the run "
          f"({best[0]:.0f} GFLOP/s, {best[1]}, 2048x2048): {100 * max(gflops) / best[0]:.0f}% ("
          + ", ".join(f"{n} best {max(v):.0f}" for n, v in result["peaks"].items()) + ")")
    # Issue #11's targets, against pythae's faster batch setting on this run.
    faster = max(SIDES[1:], key=lambda s: statistics.median(rates[s]))
    speedup = statistics.median(a / b for a, b in zip(rates["aekit"], rates[faster]))
    gap, share = abs(means["aekit"] - means[faster]), statistics.median(shares)
    print("targets (issue #11):")
    for what, figure, met in ((f">= 5x pythae's faster setting ({faster})", f"{speedup:.2f}x", speedup >= 5),
                              ("estimates within 0.3 nats of it", f"{gap:.2f} nats", gap <= 0.3),
                              (">= 60 % of the best fp32 matmul peak", f"{share:.0f}%", share >= 60)):
        print(f"  {what}: {figure}  {'pass' if met else 'FAIL'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, help=f"a run folder of a trained {PRESET} (default: train one here)")
    ap.add_argument("--epochs", type=int, default=5, help="epochs of the model trained here")
    ap.add_argument("--k", type=int, default=5000, help="importance samples per image")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    ap.add_argument("--images", type=int, default=40, help="test images per round and side")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    ap.add_argument("--full-test", action="store_true", help="also aekit alone on the whole test split at k")
    ap.add_argument("--quick", action="store_true", help="smoke run: k = 500, 10 images x 2 rounds, 1 epoch")
    args = ap.parse_args()
    if args.quick:
        args.k, args.images, args.rounds, args.epochs = 500, 10, 2, 1
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in list(logging.root.manager.loggerDict):   # pythae sets INFO on each module's logger
        if name.startswith("pythae"):
            logging.getLogger(name).setLevel(logging.WARNING)
    test = load_dataset(DATA).test.images
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; aekit {aekit.__version__}, "
          f"OpenMP waits: {WAITS} ({openmp_settings()}); fp32 CPU linear layers: aekit's {cpu_linear_kernel()} "
          f"(aekit/nn/linear.py), pythae's nn.Linear: torch; {DATA} test: {len(test):,} images", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        model = trained_model(args.run, args.epochs, Path(tmp)).eval()
    p = to_pythae(model)
    gap = check_same_model(model, p, test[:500])
    print(f"pythae's copy of the weights: decoders and encoders agree to {gap:.1e} on 500 test images", flush=True)
    print(f"the same draws on both sides (5 images, k = {min(args.k, 500)}): the estimates differ by at most "
          f"{same_draws_gap(model, p, test[:5], min(args.k, 500)):.1e} nats", flush=True)
    flops = nll_flops_per_image(model, test[:1], args.k)
    result = measure(model, p, test, args.k, args.rounds, args.images)
    report(result, args.k, args.rounds, args.images, flops)
    if args.full_test:
        start = time.perf_counter()
        nll = importance_sampled_nll(model, test, k=args.k)
        seconds = time.perf_counter() - start
        print(f"  aekit alone, the whole test split ({len(test):,} images), k = {args.k:,}: mean NLL "
              f"{float(nll.mean()):.2f} nats in {seconds:.0f} s ({len(test) / seconds:.1f} img/s)")


if __name__ == "__main__":
    main()
