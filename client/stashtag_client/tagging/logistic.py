"""The few statistics learned tags need, in numpy: no scikit-learn inside Stash.

scikit-learn has no musllinux wheel (Stash's Docker image is Alpine), so the plugin could not
install it. What learning uses of it is small: an L2-regularised, sample-weighted logistic
regression (the objective of scikit-learn's ``LogisticRegression``; a test compares the two),
stratified k-fold splits and average precision.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def fit_logistic(
    x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, c: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, float]:
    """Weights and intercept minimising ``Σ sᵢ·log-loss + ‖w‖²/(2c)`` (intercept unpenalised).

    Newton's method with step halving: the objective is strictly convex, so it converges in a
    few iterations even with thousands of frames and a thousand features.
    """
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1), x.dtype)]).astype(np.float64)
    y = np.asarray(y, np.float64)
    s = np.asarray(sample_weight, np.float64)
    ridge = np.full(d + 1, 1.0 / c)
    ridge[-1] = 0.0
    theta = np.zeros(d + 1)

    def loss(t: np.ndarray) -> float:
        z = xb @ t
        # log(1 + e^z) - y·z, stable for large |z|
        return float(s @ (np.logaddexp(0.0, z) - y * z) + 0.5 * (ridge * t) @ t)

    current = loss(theta)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(xb @ theta)))
        grad = xb.T @ (s * (p - y)) + ridge * theta
        hess = (xb * (s * p * (1 - p))[:, None]).T @ xb + np.diag(ridge + 1e-10)
        step = np.linalg.solve(hess, grad)
        rate = 1.0
        while rate > 1e-6:
            candidate = theta - rate * step
            value = loss(candidate)
            if value <= current:
                break
            rate /= 2
        else:
            break
        theta, previous, current = candidate, current, value
        if previous - current <= 1e-10 * max(1.0, abs(current)):
            break
    return theta[:-1], float(theta[-1])


def stratified_folds(
    labels: np.ndarray, folds: int, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs; each class is shuffled and dealt round-robin over the folds."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), int)
    offset = 0
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        # continue the deal where the previous class stopped: fold sizes stay balanced
        fold_of[members] = (np.arange(len(members)) + offset) % folds
        offset += len(members)
    for k in range(folds):
        yield np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision–recall curve as a step function (ties count together)."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, np.float64)
    if not labels.any():
        return 0.0
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp = np.cumsum(labels)[last_of_tie]
    seen = last_of_tie + 1
    recall = tp / labels.sum()
    precision = tp / seen
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
