"""Labelled data: one model ``p(x | y)`` per label, class priors ``p(y)``, and Bayes.

:class:`Conditional` fits any gensample estimator once per label (a KDE, a GMM, a PPCA, a
Box, ...) and is then three things at once: a sampler of "an apple" on request, the
marginal ``p(x) = sum_y p(y) p(x | y)`` (a :class:`~gensample.Distribution` whose samples
carry their labels), and a generative classifier ``p(y | x)``, computed in log space.

Rows stay pure functions of ``(seed, row)``. Row ``i`` takes its label from a uniform of
sub-stream 0 of the seed; rows are grouped in fixed blocks of ``BLOCK`` rows, and the
j-th row labelled ``y`` in block ``b`` is row ``b * BLOCK + j`` of the model of ``y`` on
sub-stream ``1 + code(y)``. Each label's rows are thus contiguous runs of its model's own
stream (no draw is wasted), and a chunk needs only the labels of its first block's head,
so any chunking gives the same rows. With one label for every row, row ``i`` is row ``i``
of that label's model.

>>> import numpy as np, gensample as gs
>>> rng = np.random.default_rng(0)
>>> X = np.concatenate([rng.normal(-2, 1, (300, 2)), rng.normal(2, 1, (100, 2))])
>>> y = np.array(["cat"] * 300 + ["dog"] * 100)
>>> cond = gs.Conditional(gs.GMM(1)).fit(X, y)
>>> cond.classes_.tolist(), cond.class_prior_.tolist()
(['cat', 'dog'], [0.75, 0.25])
>>> cond.sample(5, y="dog", rng=0).shape
(5, 2)
>>> x, labels = cond.sample(4, rng=0)            # labels drawn from the prior
>>> cond.predict([[-2.0, -2.0], [2.5, 2.0]]).tolist()
['cat', 'dog']
"""

from __future__ import annotations

import copy

import numpy as np

from . import _core
from ._typing import ArrayLike, Count, DTypeLike, RngLike
from ._validation import (
    _short,
    as_dataset,
    as_points,
    as_real_array,
    as_sample_weights,
    check_count,
    check_float_dtype,
    check_n_threads,
    empty_output,
)
from .distribution import Distribution
from .random import key_from_rng

__all__ = ["BLOCK", "Conditional"]

BLOCK = 1 << 16  # rows per labelling block: part of the stream's definition, never tuned


def _logsumexp(a: np.ndarray) -> np.ndarray:
    """log sum exp over the last axis; -inf where every term is -inf."""
    top = a.max(axis=-1, keepdims=True)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return (np.log(np.exp(a - safe).sum(axis=-1, keepdims=True)) + safe)[..., 0]


class Conditional(Distribution):
    """``p(x | y)`` for each label ``y`` by one estimator each, with class priors ``p(y)``.

    Parameters
    ----------
    model : estimator or class
        What each label is fitted with: an unfitted estimator with ``fit(X, weights=None)``
        (:class:`~gensample.KDE`, :class:`~gensample.GMM`, :class:`~gensample.PPCA`,
        :class:`~gensample.FactorAnalysis`; copied per label), or a class whose class method
        ``fit(X)`` builds a model (:class:`~gensample.Box`). Already fitted models (regions,
        loaded files) go through :meth:`from_models`.
    priors : None, array or dict
        ``p(y)``: None takes each label's share of the data (of the weights, when given);
        else one non-negative number per label, in the order of ``classes_`` or as a dict
        ``{label: prior}``, adding up to 1.

    Attributes
    ----------
    classes_ : (K,) array
        The labels, sorted (as ``numpy.unique`` sorts them).
    models_ : list of K models
        ``models_[k]`` is ``p(x | classes_[k])``; :meth:`given` finds one by its label.
    class_prior_ : (K,) array
        ``p(y)``.
    class_count_ : (K,) array
        Rows (or total weight) of each label in the data fitted on; absent after
        :meth:`from_models`.

    Notes
    -----
    With ``gs.GMM(1, covariance="full")`` per label this is scikit-learn's
    ``QuadraticDiscriminantAnalysis`` (without ``reg_param``), with ``"diag"`` its
    ``GaussianNB`` (whose ``var_smoothing`` adds a little to every variance); both are in the
    tests, from the peers' own parameters, to 1e-10.
    """

    def __init__(self, model=None, priors=None):
        self.model = model
        self.priors = priors

    # ---- fitting --------------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None) -> Conditional:
        """One model per label of ``y`` (n,) on the rows of ``X`` (n, d), with optional
        non-negative ``weights`` (n,) passed on to each fit. Returns self."""
        if self.model is None:
            raise TypeError("Conditional(model): pass the estimator to fit per label, such as gs.GMM(2)")
        X = as_dataset(X)
        labels, codes = _labels_of(y, len(X))
        w = None if weights is None else as_sample_weights(weights, len(X))
        models, counts = [], []
        for k, label in enumerate(labels.tolist()):
            rows = codes == k
            Xk, wk = X[rows], None if w is None else w[rows]
            counts.append(float(rows.sum() if wk is None else wk.sum()))
            if wk is not None and not counts[-1] > 0:
                raise ValueError(f"label {label!r} has no weight: every one of its {rows.sum()} weights is 0")
            try:
                models.append(self._fit_one(Xk, wk))
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                raise ValueError(f"cannot fit label {label!r} ({int(rows.sum())} rows): {exc}") from exc
        count = np.asarray(counts)
        self._set(labels, models, self.priors if self.priors is not None else count / count.sum())
        self.class_count_ = count
        return self

    def _fit_one(self, Xk: np.ndarray, wk):
        model = self.model
        if isinstance(model, type):
            fit = getattr(model, "fit", None)
            if not callable(fit):
                raise TypeError(f"model: the class {model.__name__} has no fit(X)")
            if wk is not None:
                raise TypeError(f"{model.__name__}.fit takes no weights")
            return fit(Xk)
        if not callable(getattr(model, "fit", None)):
            raise TypeError(
                f"model must be an estimator with fit(X, weights=None) or a class with fit(X), got "
                f"{type(model).__name__}; fitted models go through Conditional.from_models"
            )
        fresh = copy.deepcopy(model)
        return fresh.fit(Xk) if wk is None else fresh.fit(Xk, weights=wk)

    @classmethod
    def from_models(cls, models, priors=None) -> Conditional:
        """A Conditional from fitted models: ``models`` is a dict ``{label: model}`` (labels
        all numbers or all strings), ``priors`` as for the constructor (None: equal)."""
        if not isinstance(models, dict) or not models:
            raise TypeError(f"models must be a non-empty dict {{label: model}}, got {type(models).__name__}")
        labels, order = _labels_of(list(models.keys()), len(models))
        fitted = [None] * len(labels)
        for model, k in zip(models.values(), order):
            fitted[k] = model
        self = cls(None, priors)
        self._set(labels, fitted, priors if priors is not None else np.full(len(labels), 1.0 / len(labels)))
        return self

    def _set(self, labels: np.ndarray, models: list, priors) -> None:
        dims = set()
        for label, m in zip(labels.tolist(), models):
            if not isinstance(m, Distribution):
                raise TypeError(f"the model of label {label!r} must be a gensample model, got {type(m).__name__}")
            dims.add(m.dim)
        if len(dims) != 1:
            raise ValueError(f"the models of the labels differ in dimension: {sorted(dims)}")
        self.classes_ = labels
        self.models_ = list(models)
        self.class_prior_ = _priors(priors, labels)
        self._dim = dims.pop()
        cum = np.cumsum(self.class_prior_)
        self._cum = cum / cum[-1]  # the last is 1 exactly: every uniform in [0, 1) finds a label

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise RuntimeError("this Conditional is not fitted: call fit(X, y) or build it with from_models")

    @property
    def dim(self) -> int:
        self._check_fitted()
        return self._dim

    def given(self, y):
        """The fitted model ``p(x | y)`` of label ``y``."""
        return self.models_[self._code(y)]

    def _code(self, y) -> int:
        self._check_fitted()
        hit = np.flatnonzero(self.classes_ == y) if np.ndim(y) == 0 else np.empty(0, dtype=np.intp)
        if len(hit) != 1:
            raise ValueError(f"y: unknown label {_short(y)}; the labels are {self.classes_.tolist()}")
        return int(hit[0])

    def _codes(self, y, n: int, rows: str = "n") -> np.ndarray:
        """Codes of ``y``: one label for all ``n`` rows, or an array of ``n`` labels
        (``rows`` names the count in errors)."""
        if np.ndim(y) == 0:
            return np.full(n, self._code(y), dtype=np.int64)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n:
            raise ValueError(f"y must be one label or {rows} = {n} labels (one per row), got shape {y.shape}")
        codes = np.searchsorted(self.classes_, y)
        bad = (codes >= len(self.classes_)) | (self.classes_[np.minimum(codes, len(self.classes_) - 1)] != y)
        if bad.any():
            raise ValueError(
                f"y: unknown label {_short(y[np.argmax(bad)].item())} at row {int(np.argmax(bad))}; "
                f"the labels are {self.classes_.tolist()}"
            )
        return codes.astype(np.int64)

    # ---- densities and Bayes -----------------------------------------------------------------

    def joint_log_likelihood(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """``log p(x | y) + log p(y)`` for every row and label: (n, K)."""
        self._check_fitted()
        x = as_points(x, self.dim)
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_prior_)
        out = np.empty((len(x), len(self.classes_)))
        for k, m in enumerate(self.models_):
            out[:, k] = m.logpdf(x, n_threads=n_threads) + log_prior[k]
        return out

    def logpdf(self, x: ArrayLike, n_threads: int | None = None, *, y=None) -> np.ndarray:
        """``log p(x | y)`` at each row of ``x``, with ``y`` one label or one per row; with
        ``y=None`` the marginal ``log p(x) = log sum_y p(y) p(x | y)``."""
        self._check_fitted()
        if y is None:
            return _logsumexp(self.joint_log_likelihood(x, n_threads))
        x = as_points(x, self.dim)
        codes = self._codes(y, len(x), "len(x)")
        out = np.empty(len(x))
        for k in np.unique(codes):
            rows = codes == k
            out[rows] = self.models_[k].logpdf(x[rows], n_threads=n_threads)
        return out

    def predict_log_proba(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """``log p(y | x)`` by Bayes: (n, K), columns in the order of ``classes_``. A row of
        zero density under every label (outside every support, or beyond the float range)
        has no posterior: an error naming it."""
        joint = self._joint_everywhere(x, n_threads, "its posterior p(y | x) is undefined")
        return joint - _logsumexp(joint)[:, None]

    def predict_proba(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """``p(y | x)``: (n, K), each row adding up to 1 (errors as :meth:`predict_log_proba`)."""
        return np.exp(self.predict_log_proba(x, n_threads))

    def predict(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """The most probable label of each row of ``x``. A row of zero density under every
        label is an error (it has no most probable label)."""
        joint = self._joint_everywhere(x, n_threads, "no label is more probable than another")
        return self.classes_[np.argmax(joint, axis=1)]

    def _joint_everywhere(self, x, n_threads, why: str) -> np.ndarray:
        """joint_log_likelihood, refusing rows of zero density under every label."""
        joint = self.joint_log_likelihood(x, n_threads)
        lost = ~np.isfinite(joint.max(axis=1))
        if lost.any():
            raise ValueError(
                f"x[{int(np.argmax(lost))}] has zero density under every label ({int(lost.sum())} rows): {why}"
            )
        return joint

    def score(self, x: ArrayLike, y: ArrayLike, n_threads: int | None = None) -> float:
        """Accuracy of :meth:`predict` against the labels ``y``."""
        y = np.asarray(y)
        predicted = self.predict(x, n_threads)
        if y.shape != predicted.shape:
            raise ValueError(f"y must hold one label per row of x ({len(predicted)}), got shape {y.shape}")
        return float(np.mean(predicted == y))

    # ---- sampling ----------------------------------------------------------------------------

    def sample(  # type: ignore[override]  # with y=None the labels come back beside the rows
        self,
        n: Count,
        rng: RngLike = None,
        dtype: DTypeLike = np.float64,
        n_threads: int | None = None,
        *,
        y=None,
    ):
        """``n`` draws of ``p(x | y)``: ``y`` one label or ``n`` labels (one per row) -> X
        (n, d). With ``y=None`` the labels are drawn from the prior too -> ``(X, labels)``."""
        self._check_fitted()
        n = check_count(n)
        dtype = check_float_dtype(dtype)
        threads = check_n_threads(n_threads)
        given = None if y is None else self._codes(y, n)
        out, codes = empty_output(n, self.dim, dtype), np.empty(n, dtype=np.int64)
        self._fill(key_from_rng(rng), 0, out, codes, threads, given)
        return out if y is not None else (out, self.classes_[codes])

    def _sample_rows(self, key: int, r0: int, out: np.ndarray, n_threads: int, labels=None) -> None:
        """Rows ``r0 ..`` of stream ``key`` into ``out``, their label codes into ``labels``."""
        codes = np.empty(len(out), dtype=np.int64) if labels is None else labels
        self._fill(key, r0, out, codes, n_threads, None)

    def _fill(self, key: int, r0: int, out: np.ndarray, codes: np.ndarray, n_threads: int, given) -> None:
        r1 = r0 + len(out)
        for b0 in range(r0 - r0 % BLOCK, r1, BLOCK):
            a, c = max(r0, b0), min(r1, b0 + BLOCK)
            block = self._draw_labels(key, b0, c - b0, n_threads) if given is None else given[b0 - r0 : c - r0]
            head, part = block[: a - b0], block[a - b0 :]
            codes[a - r0 : c - r0] = part
            for k in np.unique(part):
                at = np.flatnonzero(part == k)
                first = b0 + int(np.count_nonzero(head == k))  # the label's rows so far in this block
                rows = np.empty((len(at), out.shape[1]), dtype=out.dtype)
                self.models_[k]._sample_rows(_core.random.subkey(key, 1 + int(k)), first, rows, n_threads)
                out[a - r0 + at] = rows

    def _draw_labels(self, key: int, r0: int, n: int, n_threads: int) -> np.ndarray:
        u = np.empty((n, 1))
        _core.random.fill_uniform(_core.random.subkey(key, 0), u, n_threads, r0)
        return np.searchsorted(self._cum, u[:, 0], side="right").astype(np.int64)

    # ---- flows ---------------------------------------------------------------------------------

    def field(self, y, guidance=None):
        """The exact velocity field toward ``p(x | y)`` (:class:`gensample.fields.GaussianMixture`;
        every label's model a GMM or a Gaussian KDE); with ``guidance=w``, classifier-free
        guidance ``u = u_uncond + w (u_y - u_uncond)`` against the marginal's exact field
        (:class:`gensample.fields.Guided`)."""
        from . import fields
        from .gmm import GMM

        conditional = fields.GaussianMixture(self.given(y))
        if guidance is None:
            return conditional
        parts = [fields.GaussianMixture(m) for m in self.models_]
        mixture = GMM.from_parameters(
            np.concatenate([p * f.weights_ for p, f in zip(self.class_prior_, parts)]),
            np.concatenate([f.means_ for f in parts]),
            np.concatenate([f.covariances_ for f in parts]),
        )
        return fields.Guided(conditional, fields.GaussianMixture(mixture), guidance)

    # ---- the protocol's rest ------------------------------------------------------------------

    def __repr__(self) -> str:
        if not hasattr(self, "models_"):
            return f"Conditional({self.model!r})"
        return f"Conditional({len(self.classes_)} labels: {self.classes_.tolist()!r}, dim={self._dim})"

    def _save_state(self):
        self._check_fitted()
        arrays = {"classes": self.classes_, "class_prior": self.class_prior_}
        if hasattr(self, "class_count_"):
            arrays["class_count"] = self.class_count_
        return {"labels": len(self.classes_)}, arrays, {f"label{k}": m for k, m in enumerate(self.models_)}

    @classmethod
    def _load_state(cls, params, arrays, children):
        k = params["labels"]
        if not isinstance(k, int) or k < 1 or len(arrays["classes"]) != k:
            raise ValueError(f"labels must be the number of classes, got {k!r}")
        labels = arrays["classes"]
        self = cls.from_models(
            {label: children[f"label{i}"] for i, label in enumerate(labels.tolist())}, arrays["class_prior"]
        )
        if "class_count" in arrays:
            self.class_count_ = as_real_array(arrays["class_count"], "class_count", (k,))
        return self


def _labels_of(y, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct labels of ``y`` (n,) and each row's code."""
    y = np.asarray(y)
    if y.dtype == object:
        try:
            y = np.asarray(y.tolist())
        except (TypeError, ValueError) as exc:
            raise TypeError(f"y: labels must be all numbers or all strings: {exc}") from exc
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y must hold one label per row of X ({n}), got shape {y.shape}")
    if y.dtype.kind not in "biuUf":
        raise TypeError(f"y: labels must be integers, strings or numbers, got {y.dtype}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("y: a label is NaN or infinite")
    labels, codes = np.unique(y, return_inverse=True)
    return labels, codes.reshape(-1).astype(np.int64)


def _priors(priors, labels: np.ndarray) -> np.ndarray:
    if isinstance(priors, dict):
        missing = [k for k in labels.tolist() if k not in priors]
        extra = [k for k in priors if k not in set(labels.tolist())]
        if missing or extra:
            raise ValueError(f"priors: the labels are {labels.tolist()}; missing {missing}, unknown {extra}")
        priors = [priors[k] for k in labels.tolist()]
    p = as_real_array(priors, "priors", (len(labels),), expected=f"one prior per label ({len(labels)})")
    if (p < 0).any() or not abs(p.sum() - 1.0) <= 1e-8:
        raise ValueError(f"priors must be non-negative and add up to 1, got {p.tolist()}")
    return p / p.sum()
