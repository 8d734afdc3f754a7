"""Drop-in front ends: the same signatures and numbers as scipy's and scikit-learn's
classes, on gensample's engines. Change one import line:

    from gensample.compat.scipy import gaussian_kde          # was: from scipy.stats import gaussian_kde
    from gensample.compat.sklearn import KernelDensity       # was: from sklearn.neighbors import ...

``compat.sklearn`` needs scikit-learn installed (its estimators derive from its base
classes); ``compat.scipy`` needs only NumPy.
"""
