"""The adversarial autoencoder: after a short run, the codes of test images
match its 10-component Gaussian-mixture prior better than at initialisation,
by two statistics: the RBF-kernel MMD² between codes and prior samples, and
the occupancy of the mixture's components (the share of codes nearest each
centre; the prior puts 10% in each). The preset's own settings, seeds 0 and 1."""

from __future__ import annotations

import torch

from aekit.metrics import mmd_rbf
from test_family_support import N_EVAL, each_seed, train_briefly

# preset: (train images, epochs)
CASES = {"aae": (20000, 3)}


def _codes(model, images):
    with torch.no_grad():
        return model.encode(model.preprocess(images))


def _match(model, images):
    prior = model.critics()[0].prior
    z = _codes(model, images)
    torch.manual_seed(123)
    reference = prior.sample(len(z))
    shares = torch.bincount(prior.component(z), minlength=prior.k).float() / len(z)
    return {"mmd": mmd_rbf(z, reference), "shares": shares}


@each_seed
def test_aae_codes_move_to_the_mixture_prior(seed):
    n_train, epochs = CASES["aae"]
    run = train_briefly("aae", n_train, epochs, seed, before=lambda m, d: _match(m, d.test.images[:N_EVAL]))
    after = _match(run.model, run.test_images)
    before = run.before
    val = run.history[-1]
    print(f"aae seed {seed}: val_loss {val['val_loss']:.2f} (recon {val['val_recon']:.2f}, adversarial "
          f"{val['val_adversarial']:.3f}); MMD² {before['mmd']:.4f} -> {after['mmd']:.4f}; "
          f"occupied components {int((before['shares'] > 0.02).sum())} -> {int((after['shares'] > 0.02).sum())}; "
          f"shares after {[round(s, 3) for s in after['shares'].tolist()]}")
    # Measured (20k images, 3 epochs): MMD² 3.285 at initialisation (codes huddle near 0) ->
    # 0.213; components holding over 2% of test codes 3 -> 10 (shares 0.05 to 0.15, prior 0.10);
    # val recon 160.3 nats; SSE 37.21 vs PCA-2 42.22. Seeds 0 / 1 with aekit's validation split:
    # MMD² 3.285 -> 0.162 / 0.180; 10 / 10 components over 2%; val recon 159.7 / 161.0;
    # SSE 36.96 / 37.35 vs PCA-2 42.32.
    assert after["mmd"] < 0.5 * before["mmd"]
    assert (after["shares"] > 0.02).sum() >= 8
    assert val["val_recon"] < 180.0
    sse, baseline = run.squared_error(), run.pca_squared_error()
    print(f"aae: SSE {sse:.2f} vs PCA-2 {baseline:.2f}")
    assert sse < baseline
