"""Learning's numpy statistics against scikit-learn, which the client no longer installs."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from stashtag_client.tagging.logistic import average_precision, fit_logistic, stratified_folds


@pytest.mark.parametrize("c", [0.05, 0.5, 10.0])
def test_logistic_regression_matches_sklearn(c):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 12))
    truth = rng.standard_normal(12)
    y = (x @ truth + 0.7 + rng.standard_normal(400) > 0).astype(int)
    weights = rng.uniform(0.2, 3.0, 400)
    ref = LogisticRegression(C=c, tol=1e-10, max_iter=10_000).fit(x, y, sample_weight=weights)
    coef, intercept = fit_logistic(x, y, weights, c=c)
    np.testing.assert_allclose(coef, ref.coef_[0], rtol=1e-4, atol=1e-5)
    assert intercept == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_separable_data_stays_finite():
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    coef, intercept = fit_logistic(x, np.array([0, 0, 1, 1]), np.ones(4), c=1.0)
    assert np.isfinite(coef).all() and coef[0] > 0 and abs(intercept) < 1e-6


def test_folds_are_stratified_and_cover_every_index():
    labels = np.array([1] * 7 + [0] * 23)
    seen = []
    for train, test in stratified_folds(labels, 5, seed=3):
        assert set(train).isdisjoint(test) and len(train) + len(test) == 30
        assert 1 <= labels[test].sum() <= 2  # 7 positives over 5 folds
        seen += list(test)
    assert sorted(seen) == list(range(30))
    again = [t.tolist() for _, t in stratified_folds(labels, 5, seed=3)]
    other = [t.tolist() for _, t in stratified_folds(labels, 5, seed=4)]
    assert again == [t.tolist() for _, t in stratified_folds(labels, 5, seed=3)] != other


@pytest.mark.parametrize("seed", range(5))
def test_average_precision_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 60)
    scores = np.round(rng.random(60), 1)  # ties on purpose
    assert average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )
