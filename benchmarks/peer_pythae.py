"""aekit against pythae (the VAE library) on the same MLP VAE, in one process.

The model is aekit's preset `vae-kingma` at batch 128: 784-400-(20 mean,
20 log-variance), decoder 20-400-784, Bernoulli likelihood + KL, Adam at
lr 1e-3 with L2 weight decay 1e-5 (Adam's own `weight_decay`, on both sides),
trained on binarized MNIST (50k train / 10k validation / 10k test).

Two measurements, both interleaved so that machine noise hits both sides alike:

1. training loops: epoch k of pythae's trainer (`BaseTrainer.train_step`),
   of aekit's (`Trainer.fit` one epoch further) and of a minimal hand-written
   loop (the floor: torch's nn.Linear and default Adam, as a user writes
   it), who goes first rotating every epoch, for each of several seeds
   (3 by default); samples/s per epoch, the median per-epoch ratios, and
   pythae's and aekit's test loss (negative ELBO per image, nats, one sample
   of z, computed by the same function for both) after each seed's last
   epoch: mean and spread over the seeds, per side.
2. whole pipelines, wall clock: pythae's `TrainingPipeline` (per-epoch
   evaluation on the validation split, a checkpoint every epoch, the final
   model) against a normal `aekit.train` run (per-epoch validation,
   metrics.jsonl, model + best files, image grid, loss plot, checkpoint),
   rounds interleaved, round r seeded r on both sides; test loss per side
   over the rounds' seeds, mean and spread.

pythae is not a dependency of aekit: install it beside aekit in a venv of
its own (see benchmarks/README.md).

    python benchmarks/peer_pythae.py --epochs 10 --seeds 3 --pipeline-epochs 3 --rounds 3
    python benchmarks/peer_pythae.py --quick   # a smoke run on 10k-image subsets: its figures compare nothing
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import tempfile
import time
from pathlib import Path

import aekit

# Before torch loads, as the aekit command does: how OpenMP's idle threads
# wait. Process-wide: pythae and the minimal loop share it.
WAITS = aekit.tune_cpu()

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from aekit.api import build_model, seed_everything  # noqa: E402
from aekit.data import Split, load_dataset  # noqa: E402
from aekit.nn.linear import cpu_linear_kernel  # noqa: E402
from aekit.training.config import resolve_config  # noqa: E402
from aekit.training.trainer import Trainer  # noqa: E402
from compute import openmp_settings  # noqa: E402
from quick import subset  # noqa: E402

try:
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.data.preprocessors import DataProcessor
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import BaseTrainer, BaseTrainerConfig
except ImportError:
    raise SystemExit("pythae is not installed: see benchmarks/README.md (peer_pythae.py) for its venv") from None

PRESET, DATA, BATCH, LR, WEIGHT_DECAY, HIDDEN, LATENT = "vae-kingma", "binarized-mnist", 128, 1e-3, 1e-5, 400, 20


# -- pythae's side: the same networks, in its encoder/decoder interface --------
class Encoder(BaseEncoder):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(784, HIDDEN), nn.ReLU())
        self.mean, self.logvar = nn.Linear(HIDDEN, LATENT), nn.Linear(HIDDEN, LATENT)

    def forward(self, x):
        h = self.hidden(x)
        return ModelOutput(embedding=self.mean(h), log_covariance=self.logvar(h))


class Decoder(BaseDecoder):
    def __init__(self):
        super().__init__()
        self.logits = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 784))

    def forward(self, z):
        # pythae's "bce" loss takes probabilities, so the decoder ends in a sigmoid.
        return ModelOutput(reconstruction=torch.sigmoid(self.logits(z)).view(-1, 1, 28, 28))


def pythae_model(seed: int) -> VAE:
    torch.manual_seed(seed)   # pythae's trainer seeds itself only after the networks are built
    return VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=LATENT, reconstruction_loss="bce"),
               encoder=Encoder(), decoder=Decoder())


def pythae_config(out: Path, epochs: int, steps_saving: int | None, seed: int) -> BaseTrainerConfig:
    return BaseTrainerConfig(output_dir=str(out), num_epochs=epochs, learning_rate=LR,
                             per_device_train_batch_size=BATCH, per_device_eval_batch_size=BATCH,
                             optimizer_cls="Adam", optimizer_params={"weight_decay": WEIGHT_DECAY},
                             steps_saving=steps_saving, no_cuda=True, seed=seed)


def spread(values: list[float]) -> str:
    """Mean ± standard deviation over seeds (n, min-max)."""
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.2f} ± {sd:.2f} (n={len(values)}, {min(values):.2f}-{max(values):.2f})"


def loss_gap(losses: dict[str, list[float]]) -> str:
    """aekit's mean test loss less pythae's, with the difference's standard
    error from the seed-to-seed spreads: 'equal' is a gap within ~2 of them."""
    a, p = losses["aekit"], losses["pythae"]
    if min(len(a), len(p)) < 2:
        return "aekit - pythae: one seed per side, no spread to judge it by"
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(p) / len(p))
    return f"aekit - pythae {statistics.mean(a) - statistics.mean(p):+.2f} nats/image (standard error {se:.2f})"


# -- one test metric for both ---------------------------------------------------
@torch.inference_mode()
def test_loss(encode, logits, images: torch.Tensor, seed: int = 0) -> float:
    """Negative ELBO per image (nats): Bernoulli NLL from logits summed over
    pixels + KL(q(z|x) || N(0, I)), one z per image from a fixed seed."""
    g = torch.Generator().manual_seed(seed)
    total = 0.0
    for i in range(0, len(images), 1000):
        x = images[i:i + 1000].float().div(255)
        mean, logvar = encode(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=g)
        nll = F.binary_cross_entropy_with_logits(logits(z).flatten(1), x.flatten(1), reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp())
        total += float(nll + kl)
    return total / len(images)


def aekit_test_loss(model, images):
    model.eval()
    out = test_loss(lambda x: _aekit_code(model, x), model.decoder, images)
    model.train()
    return out


def _aekit_code(model, x):
    code = model.bottleneck(model.encoder(x), sample=False)
    return code.mean, code.logvar


def pythae_test_loss(model, images):
    model.eval()
    out = test_loss(lambda x: tuple(model.encoder(x)[k] for k in ("embedding", "log_covariance")),
                    model.decoder.logits, images)
    model.train()
    return out


SPEED = {"precision": "fp32"}   # aekit's speed options, set from the command line


# -- 1. the training loops, epoch by epoch ----------------------------------------
def aekit_trainer(train: Split, seed: int) -> Trainer:
    cfg = resolve_config(PRESET, overrides={"data.name": DATA, "train.batch_size": BATCH, "train.seed": seed,
                                            "train.precision": SPEED["precision"]})
    assert (cfg.train.lr, cfg.train.weight_decay, cfg.train.optimizer) == (LR, WEIGHT_DECAY, "adam")
    seed_everything(seed)
    model = build_model(cfg, tuple(train.images.shape[1:]))
    cfg.train.epochs = 0
    # No validation split: this times the training pass alone, like pythae's train_step.
    empty = Split(train.images[:0].contiguous())
    return Trainer(model, train, empty, cfg.train)


def aekit_epoch(trainer: Trainer) -> None:
    trainer.config.epochs += 1      # fit() continues from the epochs already done
    trainer.fit()


def minimal_loop(train: Split, seed: int):
    """The floor: the same model and update as aekit, written as a bare loop
    over index slices of the uint8 tensor (no validation, metrics, checks),
    with torch's default Adam (a for-loop over the parameters on the CPU),
    as a user writes it."""
    torch.manual_seed(seed)
    enc = nn.Sequential(nn.Flatten(), nn.Linear(784, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 2 * LATENT))
    dec = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 784))
    params = [*enc.parameters(), *dec.parameters()]
    opt = torch.optim.Adam(params, lr=LR, weight_decay=WEIGHT_DECAY)
    images = train.images

    def epoch(k: int) -> None:
        order = torch.randperm(len(images))
        for i in range(0, len(images), BATCH):
            x = images[order[i:i + BATCH]].float().div_(255)
            mean, logvar = enc(x).chunk(2, dim=-1)
            z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
            nll = F.binary_cross_entropy_with_logits(dec(z), x.flatten(1), reduction="none").sum(-1)
            kl = -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp(), dim=-1)
            loss = (nll + kl).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return epoch


def pythae_trainer(train_float: torch.Tensor, out: Path, epochs: int, seed: int) -> BaseTrainer:
    dataset = DataProcessor.to_dataset(train_float)
    trainer = BaseTrainer(model=pythae_model(seed), train_dataset=dataset,
                          training_config=pythae_config(out, epochs, steps_saving=None, seed=seed))
    trainer.prepare_training()
    return trainer


def compare_loops(train: Split, test_images: torch.Tensor, epochs: int, seeds: int, tmp: Path) -> None:
    n = len(train)
    train_float = train.images.float().div(255)   # pythae's input: float images in [0, 1]
    sides = ["pythae", "aekit", "minimal"]
    rates = {side: [] for side in sides}          # images per wall second, every epoch of every seed
    cpu_rates = {side: [] for side in sides}      # images per CPU second (all threads): less swayed by neighbours
    losses = {"pythae": [], "aekit": []}
    turn = 0
    for seed in range(seeds):
        a = aekit_trainer(train, seed=seed)
        p = pythae_trainer(train_float, tmp / f"pythae-loop-{seed}", epochs, seed=seed)
        steps = {"pythae": lambda k: p.train_step(k), "aekit": lambda k: aekit_epoch(a),
                 "minimal": minimal_loop(train, seed=seed)}
        for k in range(1, epochs + 1):
            turn += 1
            for side in sides[turn % 3:] + sides[:turn % 3]:    # rotate who goes first
                start, cpu = time.perf_counter(), time.process_time()
                steps[side](k)
                rates[side].append(n / (time.perf_counter() - start))
                cpu_rates[side].append(n / (time.process_time() - cpu))
            print(f"seed {seed} epoch {k:2d}  " + "  ".join(f"{s} {rates[s][-1]:7,.0f}" for s in sides) +
                  f" img/s  aekit/pythae {rates['aekit'][-1] / rates['pythae'][-1]:.2f}", flush=True)
        losses["pythae"].append(pythae_test_loss(p.model, test_images))
        losses["aekit"].append(aekit_test_loss(a.model, test_images))
        print(f"seed {seed} test loss, nats/image: pythae {losses['pythae'][-1]:.2f}  aekit {losses['aekit'][-1]:.2f}",
              flush=True)

    def ratio(num, den, table=rates):
        r = [x / y for x, y in zip(table[num], table[den])]
        return f"{statistics.median(r):.2f} (min {min(r):.2f}, max {max(r):.2f})"
    print(f"\ntraining loops, {epochs} interleaved epochs of {n:,} images for each of {seeds} seed(s), "
          f"batch {BATCH}, {torch.get_num_threads()} threads")
    print("  samples/s (median)  " + "  ".join(f"{s} {statistics.median(rates[s]):,.0f}" for s in sides))
    print(f"  aekit / pythae samples/s, median per-epoch ratio: {ratio('aekit', 'pythae')}; "
          f"per CPU second: {ratio('aekit', 'pythae', cpu_rates)}")
    print(f"  minimal loop / pythae: {ratio('minimal', 'pythae')}; aekit / minimal loop: {ratio('aekit', 'minimal')}")
    print(f"  test loss after {epochs} epochs, nats/image ({len(test_images):,} test images), over seeds: "
          f"pythae {spread(losses['pythae'])}  aekit {spread(losses['aekit'])}; {loss_gap(losses)}", flush=True)


# -- 2. the whole pipelines -------------------------------------------------------
def compare_pipelines(aekit_data: str, train: Split, val: Split, test_images: torch.Tensor, epochs: int, rounds: int,
                      tmp: Path) -> None:
    train_float, val_float = train.images.float().div(255), val.images.float().div(255)   # pythae's input
    times = {"pythae": [], "aekit": []}
    cpu_times = {"pythae": [], "aekit": []}    # CPU seconds of this process: less swayed by neighbours
    losses = {"pythae": [], "aekit": []}
    load_times = []

    def run_pythae(r):
        model = pythae_model(seed=r)
        config = pythae_config(tmp / f"pythae-{r}", epochs, steps_saving=1, seed=r)
        TrainingPipeline(model=model, training_config=config)(train_data=train_float, eval_data=val_float)
        losses["pythae"].append(pythae_test_loss(model, test_images))   # (its final weights)

    def run_aekit(r):
        run = aekit.train(PRESET, data=aekit_data, epochs=epochs, batch_size=BATCH, seed=r, out=tmp / f"aekit-{r}",
                          precision=SPEED["precision"])
        losses["aekit"].append(aekit_test_loss(run.model, test_images))

    for r in range(rounds):
        order = (("pythae", run_pythae), ("aekit", run_aekit))
        for side, fn in (order if r % 2 == 0 else order[::-1]):
            start, cpu = time.perf_counter(), time.process_time()
            fn(r)
            times[side].append(time.perf_counter() - start)
            cpu_times[side].append(time.process_time() - cpu)
        start = time.perf_counter()
        load_dataset(aekit_data)   # the part of aekit's run that pythae is spared: it is handed tensors
        load_times.append(time.perf_counter() - start)
        print(f"round {r + 1}  pythae {times['pythae'][-1]:.1f} s  aekit {times['aekit'][-1]:.1f} s  "
              f"test loss pythae {losses['pythae'][-1]:.2f}  aekit {losses['aekit'][-1]:.2f}", flush=True)
    ratios = [p / a for p, a in zip(times["pythae"], times["aekit"])]
    cpu_ratios = [p / a for p, a in zip(cpu_times["pythae"], cpu_times["aekit"])]
    print(f"\nwhole pipelines, {epochs} epochs, {rounds} rounds (median wall seconds)")
    print(f"  pythae TrainingPipeline {statistics.median(times['pythae']):.1f} s   "
          f"aekit.train {statistics.median(times['aekit']):.1f} s "
          f"(of which loading the dataset {statistics.median(load_times):.1f} s)")
    print(f"  pythae / aekit wall time, median ratio: {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}); CPU time: {statistics.median(cpu_ratios):.2f} "
          f"(min {min(cpu_ratios):.2f}, max {max(cpu_ratios):.2f})")
    print(f"  test loss after {epochs} epochs, nats/image, over the rounds' seeds: pythae {spread(losses['pythae'])}  "
          f"aekit {spread(losses['aekit'])}; {loss_gap(losses)}", flush=True)


QUICK_IMAGES = 10_000   # --quick: training images per side (validation: a fifth as many)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=10, help="interleaved epochs of the training loops, per seed")
    ap.add_argument("--seeds", type=int, default=3, help="seeds of the training loops (test loss: mean and spread)")
    ap.add_argument("--pipeline-epochs", type=int, default=3, help="epochs of each whole pipeline (0: skip)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the whole pipelines (round r: seed r)")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="aekit's --precision (pythae has no such option and stays fp32)")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke run: {QUICK_IMAGES:,}-image subsets, 2 epochs x 3 seeds, 3 one-epoch pipeline "
                         "rounds; aekit carves its own validation images from the subset, so nothing is compared")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    SPEED["precision"] = args.precision
    for name in list(logging.root.manager.loggerDict):   # pythae sets INFO on each module's logger
        if name.startswith("pythae"):
            logging.getLogger(name).setLevel(logging.WARNING)
    data = load_dataset(DATA)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; aekit {aekit.__version__} "
          f"({SPEED['precision']}), OpenMP waits: {WAITS} ({openmp_settings()}); fp32 CPU linear layers: aekit's "
          f"{cpu_linear_kernel()} (aekit/nn/linear.py), pythae's and the minimal loop's nn.Linear: torch; "
          f"{DATA}: {len(data.train):,} / {len(data.val):,} / {len(data.test):,} images")
    with tempfile.TemporaryDirectory() as tmp:
        train, val, aekit_data = data.train, data.val, DATA
        epochs, seeds, pipeline_epochs, rounds = args.epochs, args.seeds, args.pipeline_epochs, args.rounds
        if args.quick:
            train, val = Split(data.train.images[:QUICK_IMAGES]), Split(data.val.images[:QUICK_IMAGES // 5])
            aekit_data = subset(DATA, QUICK_IMAGES, tmp)
            epochs, seeds, pipeline_epochs, rounds = 2, 3, 1, 3
        if epochs:
            compare_loops(train, data.test.images, epochs, seeds, Path(tmp))
        if pipeline_epochs:
            compare_pipelines(aekit_data, train, val, data.test.images, pipeline_epochs, rounds, Path(tmp))


if __name__ == "__main__":
    main()
