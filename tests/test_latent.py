"""gs.PPCA and gs.FactorAnalysis against scikit-learn's PCA and FactorAnalysis (the same
numbers), against closed forms (the joint Gaussian of z and x), reproducibility of rows,
model files, and bad input."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.decomposition import FactorAnalysis as SklearnFactorAnalysis

import gensample as gs

N = 1500


def _data(seed=0, n=N, d=8, q=3):
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0.2, 1.5, d)
    return rng.normal(size=(n, q)) @ rng.normal(size=(q, d)) + rng.normal(size=(n, d)) * noise + 3.0


@pytest.mark.parametrize("q", [1, 3, 5])
def test_ppca_fit_is_scikit_learns_up_to_its_n_minus_1(q):
    """The same eigen-decomposition: scikit-learn's variances divide by n - 1, the maximum-
    likelihood ones by n, so its model covariance is ours times n / (n - 1)."""
    X = _data()
    ours, theirs = gs.PPCA(q).fit(X), PCA(q).fit(X)
    np.testing.assert_allclose(ours.explained_variance_ * N / (N - 1), theirs.explained_variance_, rtol=1e-12)
    np.testing.assert_allclose(ours.noise_variance_ * N / (N - 1), theirs.noise_variance_, rtol=1e-12)
    np.testing.assert_allclose(ours.covariance_ * N / (N - 1), theirs.get_covariance(), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-14)


@pytest.mark.parametrize("q", [1, 3, 5])
def test_ppca_from_scikit_learns_parameters_scores_as_it_does(q):
    X = _data(1)
    pca = PCA(q).fit(X)
    W = pca.components_ * np.sqrt(pca.explained_variance_ - pca.noise_variance_)[:, None]
    model = gs.PPCA.from_parameters(pca.mean_, W, pca.noise_variance_)
    queries = _data(2)[:300] * 1.5
    np.testing.assert_allclose(model.logpdf(queries), pca.score_samples(queries), rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("q", [1, 2, 4])
def test_factor_analysis_takes_scikit_learns_steps(q):
    """The same EM (Barber's SVD form, unit starting noise, its tol and max_iter, an exact
    SVD): the same iterations, log-likelihoods, loadings and density."""
    X = _data(3)
    ours, theirs = gs.FactorAnalysis(q).fit(X), SklearnFactorAnalysis(q, svd_method="lapack").fit(X)
    assert ours.n_iter_ == theirs.n_iter_ and ours.converged_
    np.testing.assert_allclose(ours.loglike_, theirs.loglike_, rtol=1e-12)
    np.testing.assert_allclose(ours.noise_variance_, theirs.noise_variance_, rtol=1e-9)
    np.testing.assert_allclose(np.abs(ours.components_), np.abs(theirs.components_), rtol=1e-8, atol=1e-10)
    queries = _data(4)[:300]
    np.testing.assert_allclose(ours.logpdf(queries), theirs.score_samples(queries), rtol=1e-11, atol=1e-10)
    signs = np.sign(np.sum(ours.components_ * theirs.components_, axis=1))  # an SVD's rows up to sign
    np.testing.assert_allclose(ours.encode(queries)[0] * signs, theirs.transform(queries), rtol=1e-8, atol=1e-10)
    model = gs.FactorAnalysis.from_parameters(theirs.mean_, theirs.components_, theirs.noise_variance_)
    np.testing.assert_allclose(model.logpdf(queries), theirs.score_samples(queries), rtol=1e-12, atol=1e-10)


def test_factor_analysis_that_stops_at_max_iter_warns():
    with pytest.warns(gs.gmm.ConvergenceWarning, match="did not converge in max_iter=2"):
        fa = gs.FactorAnalysis(2, max_iter=2, tol=0.0).fit(_data())
    assert fa.n_iter_ == 2 and not fa.converged_


@pytest.mark.parametrize("cls", [gs.PPCA, gs.FactorAnalysis])
def test_encode_is_the_posterior_of_the_joint_gaussian(cls):
    """z ~ N(0, I), x = W^T z + mu + eps: conditioning the joint Gaussian of (z, x) on x
    gives encode's mean and covariance; decode maps the latent means back."""
    X = _data(5, d=6, q=2)
    model = cls(2).fit(X)
    W, mu, C = model.components_, model.mean_, model.covariance_
    x = X[:20]
    gain = W @ np.linalg.inv(C)  # Cov(z, x) Cov(x)^-1
    means, cov = model.encode(x)
    np.testing.assert_allclose(means, (x - mu) @ gain.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cov, np.eye(2) - gain @ W.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.decode(means), means @ W + mu, rtol=1e-14)


@pytest.mark.parametrize("cls", [gs.PPCA, gs.FactorAnalysis])
def test_density_score_conditional_and_marginal_are_the_gaussians(cls):
    from scipy import stats

    X = _data(6, d=5, q=2)
    model = cls(2).fit(X)
    mu, C = model.mean_, model.covariance_
    x = _data(7, d=5, q=2)[:50]
    np.testing.assert_allclose(model.logpdf(x), stats.multivariate_normal(mu, C).logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(model.grad_logpdf(x), -(x - mu) @ np.linalg.inv(C), rtol=1e-10, atol=1e-12)
    marginal = model.marginal([0, 3])
    np.testing.assert_allclose(marginal.means_[0], mu[[0, 3]], rtol=1e-14)
    np.testing.assert_allclose(marginal.covariances_[0], C[np.ix_([0, 3], [0, 3])], rtol=1e-14)
    cond = model.condition([1.0, -2.0], dims=[1, 4])
    a, b = [0, 2, 3], [1, 4]
    gain = C[np.ix_(a, b)] @ np.linalg.inv(C[np.ix_(b, b)])
    np.testing.assert_allclose(cond.means_[0], mu[a] + gain @ (np.array([1.0, -2.0]) - mu[b]), rtol=1e-10)
    np.testing.assert_allclose(cond.covariances_[0], C[np.ix_(a, a)] - gain @ C[np.ix_(b, a)], rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("cls", [gs.PPCA, gs.FactorAnalysis])
def test_rows_are_pure_functions_of_seed_and_row(cls):
    model = cls(2).fit(_data(8, d=4, q=2))
    full = model.sample(1000, rng=5)
    np.testing.assert_array_equal(model.sample(300, rng=5), full[:300])
    np.testing.assert_array_equal(model.sample(1000, rng=5, n_threads=1), model.sample(1000, rng=5, n_threads=2))
    np.testing.assert_array_equal(model.sample(1000, rng=5, dtype=np.float32), full.astype(np.float32))
    out = np.empty((400, 4))
    model._sample_rows(gs.random.key_from_rng(5), 600, out, 2)
    np.testing.assert_array_equal(out, full[600:])


@pytest.mark.parametrize("cls", [gs.PPCA, gs.FactorAnalysis])
def test_samples_have_the_models_moments(cls):
    """200,000 draws: the sample mean within 5 standard errors of mean_ in every coordinate
    (a false alarm about once in 10^5 runs per coordinate; the seed is fixed), and the
    sample covariance within 2 % of covariance_ (Frobenius, relative)."""
    model = cls(2).fit(_data(9, d=4, q=2))
    draws = model.sample(200_000, rng=11)
    se = np.sqrt(np.diag(model.covariance_) / len(draws))
    assert (np.abs(draws.mean(axis=0) - model.mean_) < 5 * se).all()
    error = np.linalg.norm(np.cov(draws.T) - model.covariance_) / np.linalg.norm(model.covariance_)
    assert error < 0.02


@pytest.mark.parametrize("cls", [gs.PPCA, gs.FactorAnalysis])
def test_integer_weights_are_repeated_rows(cls):
    X = _data(10, n=300, d=5, q=2)
    counts = np.random.default_rng(0).integers(1, 4, len(X))
    kwargs = {"tol": 1e-10, "max_iter": 100_000} if cls is gs.FactorAnalysis else {}
    weighted = cls(2, **kwargs).fit(X, weights=counts)
    repeated = cls(2, **kwargs).fit(np.repeat(X, counts, axis=0))
    # PPCA is closed form. EM creeps along a flat ridge near its optimum, and tol measures the
    # log-likelihood of all rows (scikit-learn's convention), which the repetition doubles:
    # the two runs stop some 1e-5 apart.
    rtol = 1e-4 if cls is gs.FactorAnalysis else 1e-9
    np.testing.assert_allclose(weighted.covariance_, repeated.covariance_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(weighted.mean_, repeated.mean_, rtol=1e-12)


def test_interpolate_runs_between_the_latent_means():
    X = _data(12, d=6, q=2)
    model = gs.PPCA(2).fit(X)
    path = model.interpolate(X[0], X[1], n=5)
    (z0, z1), _ = model.encode(X[:2])
    assert path.shape == (5, 6)
    np.testing.assert_allclose(path[0], model.decode(z0[None])[0], rtol=1e-14)
    np.testing.assert_allclose(path[-1], model.decode(z1[None])[0], rtol=1e-14)
    np.testing.assert_allclose(path[2], model.decode(((z0 + z1) / 2)[None])[0], rtol=1e-12)


@pytest.mark.parametrize("cls", [gs.PPCA, gs.FactorAnalysis])
def test_model_files_pickles_and_generate(cls, tmp_path):
    model = cls(2).fit(_data(13, d=4, q=2))
    back = gs.load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(back.sample(100, rng=1), model.sample(100, rng=1))
    np.testing.assert_array_equal(back.logpdf(model.mean_[None]), model.logpdf(model.mean_[None]))
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.sample(100, rng=1), model.sample(100, rng=1))
    out = gs.generate(model, 5000, rng=3, out=str(tmp_path / "rows.npy"), chunk=700)
    np.testing.assert_array_equal(np.load(out), model.sample(5000, rng=3))


def test_bad_input():
    X = _data(14, d=4, q=2)
    with pytest.raises(ValueError, match=r"n_latent=4 must be below the dimension of X \(4\)"):
        gs.PPCA(4).fit(X)
    with pytest.raises(ValueError, match="n_latent must be a positive integer"):
        gs.FactorAnalysis(0)
    with pytest.raises(TypeError, match="n_latent must be a positive integer"):
        gs.PPCA(2.0)
    with pytest.raises(RuntimeError, match="not fitted"):
        gs.PPCA(2).sample(3)
    with pytest.raises(ValueError, match="weights must have shape"):
        gs.PPCA(2).fit(X, weights=np.ones(3))
    flat = np.c_[X[:, :2], X[:, :2] @ [[1.0, 2.0], [3.0, 4.0]]]  # rank 2 in 4 dimensions
    with pytest.raises(ValueError, match="noise variance is 0"):
        gs.PPCA(2).fit(flat)
    with pytest.raises(ValueError, match="noise_variance must be a positive finite number"):
        gs.PPCA.from_parameters(np.zeros(3), np.ones((1, 3)), 0.0)
    with pytest.raises(ValueError, match=r"components must have shape \(n_latent, 3\)"):
        gs.FactorAnalysis.from_parameters(np.zeros(3), np.ones((1, 2)), np.ones(3))
    model = gs.PPCA(2).fit(X)
    with pytest.raises(ValueError, match=r"z must have shape \(n, 2\)"):
        model.decode(np.ones((3, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gs.FactorAnalysis(2).fit(X)  # converges without a warning
