"""The epoch tally (aekit/training/tally.py): steps filed, summed per chunk,
and a checkpoint taken between chunk ends resumes to the very same sums."""

import torch

from aekit.training.tally import EpochTally


def _steps(seed: int, count: int, batch: int = 7):
    g = torch.Generator().manual_seed(seed)
    for _ in range(count):
        recon = torch.rand(batch, generator=g, dtype=torch.float32) * 100
        kl = torch.rand(batch, generator=g, dtype=torch.float32) * 1e-3
        yield (recon + kl).mean(), batch, {"recon": recon, "kl": kl}


def test_sums_equal_a_direct_computation():
    steps = list(_steps(0, 23))
    tally = EpochTally()
    for i, step in enumerate(steps):
        tally.add(*step)
        if (i + 1) % 5 == 0:
            tally.fold()
    tally.fold()
    direct = {"loss": sum(float(t) * n for t, n, _ in steps),
              "recon": sum(float(d["recon"].double().sum()) for _, _, d in steps),
              "kl": sum(float(d["kl"].double().sum()) for _, _, d in steps)}
    for name, value in direct.items():
        assert abs(float(tally.sums[name]) - value) <= 1e-5 * abs(value), name


def test_a_checkpoint_between_chunk_ends_resumes_bitwise():
    steps = list(_steps(1, 17))

    def run(stop_at=None):
        tally = EpochTally()
        for i, step in enumerate(steps):
            if i == stop_at:   # checkpoint and restore mid-chunk, as a resumed run does
                saved, names = tally.state(), sorted(tally.sums)
                tally = EpochTally()
                tally.load_state(saved, names, "cpu")
            tally.add(*step)
            if (i + 1) % 6 == 0:
                tally.fold()
        tally.fold()
        return {k: v.item() for k, v in tally.sums.items()}

    reference = run()
    for stop_at in (3, 6, 8, 13):
        assert run(stop_at) == reference, stop_at


def test_first_non_finite_names_the_step_and_progress_sees_pending_steps():
    tally = EpochTally()
    for total in (1.0, 2.0, float("nan"), 3.0, float("inf")):
        tally.add(torch.tensor(total), 2, {"recon": torch.full((2,), total)})
    assert tally.first_non_finite() == 2
    fine = EpochTally()
    for total in (1.0, 2.0):
        fine.add(torch.tensor(total), 2, {"recon": torch.full((2,), total)})
    assert fine.first_non_finite() == -1
    assert float(fine.loss_so_far()) == 6.0 and fine.pending == 2   # looking does not fold
    fine.fold()
    assert fine.pending == 0 and float(fine.sums["loss"]) == 6.0


def test_bf16_steps_are_summed_in_fp32():
    # An epoch of 600 bf16 losses near 92 (a VAE's under bf16 autocast): summed
    # in bf16 the running sum stops growing past ~256 x 92 and the epoch's mean
    # froze at the same value epoch after epoch; in fp32 it is the direct sum.
    g = torch.Generator().manual_seed(3)
    losses = (92 + torch.rand(600, generator=g)).to(torch.bfloat16)
    tally = EpochTally()
    for i, value in enumerate(losses):
        tally.add(value, 100, {"iw_bound": value.expand(100)})
        if (i + 1) % 50 == 0:
            tally.fold()
    direct = float(losses.double().sum()) * 100
    for name in ("loss", "iw_bound"):
        assert tally.sums[name].dtype == torch.float32
        assert abs(float(tally.sums[name]) - direct) <= 1e-6 * direct, name
