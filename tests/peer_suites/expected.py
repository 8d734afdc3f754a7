"""The peers' tests that gensample.compat is allowed to fail, each with its reason.

Keys are ``<suite>::<test name>``: the name with its parameters for one case, or without
them for every case. ``all`` applies to every run; ``float32`` and ``array-api`` add to it
in their runs (``SKLEARN_RUN_FLOAT32_TESTS=1``, ``SCIPY_ARRAY_API=1``). The run marks each
``xfail(strict=True)``: a listed test that passes fails the run, and so does a key that
names no collected test, so the list cannot go stale.

Allowed reasons only: exact message wording (the exception class must match), private
methods and attributes, draws of the peer's own random stream, and tests that expect the
peer's limitations. Everything else must pass.
"""

_WORDING = (
    "exact wording of scikit-learn's message for a bad {}; gensample raises the same ValueError, worded its own way"
)

EXPECTED: dict[str, dict[str, str]] = {
    "all": {
        "sklearn_kde::test_kernel_density_sampling": (
            "expects NotImplementedError from sample() for the epanechnikov, exponential, linear and "
            "cosine kernels, which scikit-learn cannot sample; gensample samples every kernel"
        ),
        "sklearn_kde::test_kde_sample_weights": (
            "expects draws with integer weights to equal draws from repeated rows under scikit-learn's "
            "own stream (a cumulative-sum search per uniform); gensample picks rows by an alias table "
            "from its Philox stream (its scores pass this test's checks)"
        ),
        "sklearn_gmm::test_check_weights": _WORDING.format("weights_init"),
        "sklearn_gmm::test_check_precisions": _WORDING.format("precisions_init"),
        "sklearn_gmm::test_gaussian_mixture_precisions_init": "calls the private _set_parameters",
        "sklearn_gmm::test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters": (
            "mocks the private _estimate_gaussian_parameters (EM's sums run in gensample's core)"
        ),
    },
    "default": {},
    "float32": {},
    "array-api": {
        "sklearn_gmm::test_gaussian_mixture_raises_where_array_api_not_implemented": (
            "expects scikit-learn's limitation: NotImplementedError for init_params 'kmeans' and "
            "'k-means++' under array_api_dispatch; gensample works on the CPU and accepts them"
        ),
    },
}
