"""Drop-in front ends: the same signatures and numbers as scipy's and scikit-learn's
classes, on gensample's engines. Change one import line:

    from gensample.compat.scipy import gaussian_kde          # was: from scipy.stats import gaussian_kde
    from gensample.compat.sklearn import KernelDensity       # was: from sklearn.neighbors import ...

``compat.sklearn`` needs scikit-learn installed (its estimators derive from its base
classes); ``compat.scipy`` needs only NumPy (and scipy for ``integrate_box`` in 2 or more
dimensions). The peers' own test suites run against these classes in CI, one import
changed (``tests/peer_suites``); the few tests they may fail are listed there, each with
its reason.

Where the peer and gensample differ, each case is decided once: *copy* keeps the peer's
behaviour (what "one import changed" promises), *fix* keeps gensample's right answer.

========================================  ==========================================  ========
case                                      the peer                                    compat
========================================  ==========================================  ========
sklearn cosine kernel, d != 3             normalised wrongly: integrates to 0.363 in  fix
                                          2-D (NaN in 4-D)
sklearn compact kernels where p = 0       a finite log-density (about -36)            fix: -inf
sklearn Gaussian tails                    tree bounds: 1.5e-9 off in 5-D              fix: exact
sklearn ``atol`` / ``rtol``               tree approximation within them              exact sums
sklearn non-Euclidean ``metric``          Euclidean normalisation (not a density)     copy
sklearn ``sample`` in such a metric       draws Euclidean kernels                     refuse
sklearn ``sample``, compact kernels       NotImplementedError but for tophat          every kernel
sklearn GMM starts                        its KMeans / draws from ``random_state``    copy
sklearn GMM float32                       EM in float32                               float64 EM,
                                                                                      float32 out
sklearn GMM Array API, k-means starts     NotImplementedError                         accepted
random draws (``sample``, ``resample``)   the peer's own stream                       Philox
scipy long double inputs                  long double sums                            copy
scipy ``integrate_box``, d >= 2           Genz's quasi-Monte Carlo                    copy (its)
error messages                            the peer's class and words                  class;
                                                                                      own words
========================================  ==========================================  ========
"""
