"""scikit-learn's own conformance checks (`check_estimator`) on AutoencoderTransformer.

The checks feed made-up features (blobs, standardised: negative, above 1),
not pixels; the estimator refuses values outside [0, 1] unless told their
range, so it is checked as a user with such data would configure it:
`input_range` wide enough for every check's data. Every check must pass;
the only one allowed not to run is the array-API check, which scikit-learn
itself skips unless SCIPY_ARRAY_API is set (aekit takes numpy and torch).
A tiny network (8 units, code 2) and one epoch keep the ~50 checks to
seconds: they test the estimator protocol, not what the model learns
(tests/test_sklearn.py does that on MNIST).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import check_estimator

from aekit.sklearn import AutoencoderTransformer

TINY = ("model.encoder.widths=[8]", "train.threads=1")   # threads: 2 threads on a busy 2-core CI box crawl


def test_passes_scikit_learns_estimator_checks(one_thread):
    estimator = AutoencoderTransformer(code_dim=2, epochs=1, sets=TINY, input_range=(-1e3, 1e3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # SkipTestWarning for the array-API check
        results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert not failed
    assert skipped <= {"check_array_api_input"}
    assert sum(r["status"] == "passed" for r in results) >= 40   # the checks did run (47 in scikit-learn 1.9)


def test_without_input_range_made_up_features_are_refused_with_the_fix(one_thread):
    """The default estimator reads pixels: the checks' standardised data gets one clear ValueError."""
    X = np.random.default_rng(0).standard_normal((20, 5))
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*input_range=\(low, high\)"):
        AutoencoderTransformer(code_dim=2, epochs=1, sets=TINY).fit(X)
