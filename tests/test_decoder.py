"""gs.Decoder and the network engine's layers: every supported torch layer against torch's
forward (float64 to rounding, float32 to a few float32 ulps) and against the NumPy twin; the
MLP field's exact divergence through the new layers against torch's autograd; rows pure
functions of (seed, row); the importance-sampled log p(x) against a closed form; model
files; bad input."""

import pickle

import numpy as np
import pytest

import gensample as gs
from gensample.reference import flow as ref

torch = pytest.importorskip("torch")  # in the test extra; a Decoder never needs it to sample

ACTIVATIONS = {
    "relu": lambda: torch.nn.ReLU(),
    "leaky_relu": lambda: torch.nn.LeakyReLU(0.2),
    "silu": lambda: torch.nn.SiLU(),
    "gelu": lambda: torch.nn.GELU(),
    "gelu_tanh": lambda: torch.nn.GELU(approximate="tanh"),
    "tanh": lambda: torch.nn.Tanh(),
    "sigmoid": lambda: torch.nn.Sigmoid(),
    "softplus": lambda: torch.nn.Softplus(beta=2.0, threshold=5.0),
    "elu": lambda: torch.nn.ELU(alpha=0.7),
}


def _decoder_net(act, q=3, d=6, seed=0, norm=True):
    torch.manual_seed(seed)
    a = ACTIVATIONS[act]()
    layers = [torch.nn.Linear(q, 40)] + ([torch.nn.LayerNorm(40)] if norm else []) + [a, torch.nn.Dropout(0.1)]
    layers += [torch.nn.Sequential(torch.nn.Linear(40, 30), a), torch.nn.Linear(30, d)]  # `a` used twice: kept twice
    net = torch.nn.Sequential(*layers).eval()
    with torch.no_grad():  # LayerNorm's affine parameters away from their (1, 0) start
        for m in net.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return net


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_decode_is_torchs_forward_for_every_layer(act):
    net = _decoder_net(act)
    dec = gs.Decoder(net, latent_dim=3)
    z = np.random.default_rng(1).normal(size=(1000, 3)) * 2.0
    want = net.double()(torch.from_numpy(z)).detach().numpy()
    np.testing.assert_allclose(dec.decode(z), want, rtol=1e-12, atol=1e-13)
    layers = list(zip(dec.weights_, dec.biases_, dec.steps_))
    np.testing.assert_allclose(ref.network_forward(layers, z), want, rtol=1e-12, atol=1e-13)  # the NumPy twin
    z32 = z.astype(np.float32)
    want32 = net.float()(torch.from_numpy(z32)).detach().numpy()
    got32 = dec.decode(z32)
    assert got32.dtype == np.float32
    scale = np.abs(want32).max()
    assert np.abs(got32 - want32).max() <= 16 * np.finfo(np.float32).eps * scale  # float32 rounding, not more


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_mlp_field_divergence_through_every_layer_is_torchs_autograd(act):
    """Forward mode through LayerNorm (a dense Jacobian) and every activation's slope."""
    torch.manual_seed(2)
    a = ACTIVATIONS[act]()
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 24), torch.nn.LayerNorm(24), a, torch.nn.Linear(24, 24), a, torch.nn.Linear(24, 3)
    ).double()
    last_norm = torch.nn.Sequential(torch.nn.Linear(4, 16), a, torch.nn.Linear(16, 3), torch.nn.LayerNorm(3)).double()
    x = np.random.default_rng(3).normal(size=(40, 3))
    xt = torch.from_numpy(np.concatenate([x, np.full((40, 1), 0.3)], axis=1))
    for module in (net, last_norm):
        mlp = gs.fields.MLP.from_torch(module)
        np.testing.assert_allclose(mlp.velocity(0.3, x), module(xt).detach().numpy(), rtol=1e-12, atol=1e-13)
        jac = torch.func.vmap(torch.func.jacrev(module))(xt)[:, :, :3]
        div = torch.diagonal(jac, dim1=1, dim2=2).sum(1).detach().numpy()
        np.testing.assert_allclose(mlp.divergence(0.3, x), div, rtol=1e-10, atol=1e-12)


def test_flows_on_existing_layers_keep_their_bits():
    """A plain Linear/SiLU network goes through the same arithmetic as before steps existed:
    its velocity and divergence equal the twin's to rounding, and files keep 'activations'."""
    torch.manual_seed(4)
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.SiLU(), torch.nn.Linear(16, 2))
    mlp = gs.fields.MLP.from_torch(net)
    assert mlp.activations == ("silu", "identity")
    assert mlp._save_state()[0]["activations"] == ["silu", "identity"]


def _linear_gaussian(seed=0, q=2, d=5, noise=0.3, widen=0.0):
    """A linear decoder with orthogonal columns, whose exact posterior is diagonal: with that
    posterior as encoder the importance weights are all equal and the estimate is exact."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(d, q)))
    W, b = basis * [2.0, 0.7][:q], rng.normal(size=d)
    post = np.linalg.inv(W.T @ W + noise * np.eye(q))
    A = post @ W.T
    encoder = (
        [np.vstack([A, np.zeros((q, d))])],
        [np.concatenate([-A @ b, np.log(noise * np.diag(post)) + widen])],
        ["identity"],
    )
    dec = gs.Decoder(([W], [b], ["identity"]), q, noise=noise, encoder=encoder)
    return dec, gs.PPCA.from_parameters(b, W.T, noise)


def test_iwae_is_exact_with_the_true_posterior():
    dec, ppca = _linear_gaussian()
    x = dec.sample(2000, rng=1)
    est, err = dec.iwae(x, k=8)
    np.testing.assert_allclose(est, ppca.logpdf(x), rtol=0, atol=1e-12)
    assert err.max() < 1e-12
    np.testing.assert_array_equal(dec.logpdf(x, k=8), est)


def test_iwae_tightens_from_below_as_k_grows():
    """A too-wide encoder: the bound's mean gap shrinks with k and stays below the truth
    (each gap is an average of 300 rows; their spread is far below the gaps tested)."""
    dec, ppca = _linear_gaussian(widen=1.0)
    x = dec.sample(300, rng=2)
    truth = ppca.logpdf(x)
    gaps = [float(np.mean(dec.iwae(x, k=k)[0] - truth)) for k in (1, 8, 64, 512)]
    assert gaps[0] < gaps[1] < gaps[2] < gaps[3] < 0
    est, err = dec.iwae(x, k=512)
    assert np.mean(np.abs(est - truth) < 5 * err) > 0.95  # the standard error covers the error


def test_iwae_is_reproducible_and_thread_free():
    dec, _ = _linear_gaussian(widen=0.5)
    x = dec.sample(500, rng=3)
    a = dec.iwae(x, k=32, rng=7, n_threads=1)
    b = dec.iwae(x, k=32, rng=7, n_threads=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(dec.iwae(x, k=32, rng=8)[0], a[0])


def test_rows_are_pure_functions_of_seed_and_row():
    dec = gs.Decoder(_decoder_net("silu"), 3, noise=[0.1, 0.2, 0.1, 0.3, 0.1, 0.05])
    x = dec.sample(20_000, rng=5, n_threads=1)
    np.testing.assert_array_equal(dec.sample(20_000, rng=5, n_threads=2), x)
    np.testing.assert_array_equal(gs.generate(dec, 20_000, rng=5, chunk=3_333, progress=False), x)
    np.testing.assert_array_equal(gs.dask.sample(dec, 20_000, chunks=7_000, rng=5).compute(), x)
    x32 = dec.sample(1000, rng=5, dtype=np.float32)  # float32 math: close to, not equal to, float64's
    np.testing.assert_allclose(x32, x[:1000], rtol=1e-4, atol=1e-4)


def test_samples_follow_the_linear_gaussian():
    """Decoding N(0, I) through x = W z + b plus noise is the PPCA N(b, W W^T + s I): sample
    mean and covariance within 5 standard errors (n = 200,000)."""
    dec, ppca = _linear_gaussian(seed=6)
    n = 200_000
    x = dec.sample(n, rng=9)
    cov = ppca.covariance_
    var = np.diag(cov)
    assert (np.abs(x.mean(0) - ppca.mean_) < 5 * np.sqrt(var / n)).all()
    se = np.sqrt((np.outer(var, var) + cov**2) / n)
    assert (np.abs(np.cov(x.T) - cov) < 5 * se).all()


def test_interpolate_and_encode():
    dec, ppca = _linear_gaussian()
    line = dec.interpolate([0.0, 0.0], [1.0, -1.0], n=5)
    np.testing.assert_allclose(line, dec.decode(np.linspace(0, 1, 5)[:, None] * [1.0, -1.0]))
    x = dec.sample(10, rng=0)
    mean, logvar = dec.encode(x)
    np.testing.assert_allclose(mean, ppca.encode(x)[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.exp(logvar), np.broadcast_to(np.diag(ppca.encode(x)[1]), (10, 2)), rtol=1e-12)


def test_two_encoder_heads_equal_one_with_both_outputs():
    torch.manual_seed(7)
    trunk_mean = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    trunk_logvar = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    net = _decoder_net("elu")
    dec = gs.Decoder(net, 3, noise=0.1, encoder=(trunk_mean, trunk_logvar))
    x = dec.sample(50, rng=1)
    mean, logvar = dec.encode(x)
    xt = torch.from_numpy(x)
    np.testing.assert_allclose(mean, trunk_mean.double()(xt).detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(logvar, trunk_logvar.double()(xt).detach().numpy(), rtol=1e-12, atol=1e-13)
    assert np.isfinite(dec.logpdf(x, k=4)).all()


def test_model_files_and_pickles(tmp_path):
    torch.manual_seed(8)
    encoder = torch.nn.Sequential(
        torch.nn.Linear(6, 16), torch.nn.LayerNorm(16), torch.nn.Softplus(), torch.nn.Linear(16, 6)
    )
    dec = gs.Decoder.from_torch(_decoder_net("softplus"), noise=0.2, encoder=encoder)
    assert dec.latent_dim == 3
    for other in (gs.load(dec.save(tmp_path / "d.npz")), pickle.loads(pickle.dumps(dec))):
        assert repr(other) == repr(dec)
        np.testing.assert_array_equal(other.sample(300, rng=1), dec.sample(300, rng=1))
        x = dec.sample(20, rng=2)
        np.testing.assert_array_equal(other.logpdf(x, k=8), dec.logpdf(x, k=8))


class _Custom(torch.nn.Module):
    def forward(self, x):
        return x * 2


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: gs.Decoder(_decoder_net("relu"), 4), ValueError, "the network takes 3 inputs, but latent_dim is 4"),
        (
            lambda: gs.Decoder(torch.nn.Sequential(torch.nn.Linear(3, 4), _Custom()), 3),
            TypeError,
            r"cannot translate 1 \(_Custom\)",
        ),
        (
            lambda: gs.Decoder(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Conv1d(1, 1, 1)), 3),
            TypeError,
            r"1 \(Conv1d\)",
        ),
        (
            lambda: gs.Decoder(torch.nn.Sequential(torch.nn.LayerNorm(3), torch.nn.Linear(3, 4)), 3),
            TypeError,
            "before the Linear layer|must normalise",
        ),
        (
            lambda: gs.Decoder(torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(3, 4)), 3),
            TypeError,
            "before any Linear layer",
        ),
        (
            lambda: gs.Decoder(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(2)), 3),
            TypeError,
            "must normalise the outputs",
        ),
        (lambda: gs.Decoder(torch.nn.Sequential(torch.nn.Dropout()), 3), ValueError, "no Linear layer"),
        (lambda: gs.Decoder(_decoder_net("relu"), 3, noise=-1.0), ValueError, "noise must be a positive variance"),
        (lambda: gs.Decoder(_decoder_net("relu"), 3, noise=[1.0, 2.0]), ValueError, "or 6 of them"),
        (
            lambda: gs.Decoder(_decoder_net("relu"), 3, encoder=torch.nn.Linear(6, 5)),
            ValueError,
            r"gives 5 outputs, expected 6 \(\[mean, log-variance\] of 3",
        ),
        (
            lambda: gs.Decoder(_decoder_net("relu"), 3, encoder=torch.nn.Linear(5, 6)),
            ValueError,
            "the encoder takes 5 inputs",
        ),
        (lambda: gs.Decoder("net", 3), TypeError, "network must be a torch module"),
        (lambda: gs.Decoder(_decoder_net("relu"), 0), ValueError, "latent_dim must be a positive integer"),
        (lambda: gs.Decoder(_decoder_net("relu"), 3).logpdf(np.zeros((2, 6))), ValueError, "needs observation noise"),
        (lambda: gs.Decoder(_decoder_net("relu"), 3).encode(np.zeros((2, 6))), ValueError, "has no encoder"),
        (lambda: gs.Decoder(_decoder_net("relu"), 3).decode(np.zeros((2, 4))), ValueError, r"z must have shape"),
        (lambda: _linear_gaussian()[0].iwae(np.zeros((2, 5)), k=0), ValueError, "k must be a positive integer"),
        (
            lambda: gs.fields.MLP([np.ones((2, 3))], [np.zeros(2)], [{"op": "softplus", "param": 0.0}]),
            ValueError,
            "softplus's beta must be positive",
        ),
        (
            lambda: gs.fields.MLP([np.ones((2, 3))], [np.zeros(2)], [{"op": "layer_norm", "gamma": np.ones(3)}]),
            ValueError,
            "gamma and beta must have the layer's 2 outputs",
        ),
        (lambda: gs.fields.MLP([np.ones((2, 3))], [np.zeros(2)], [["swish"]]), ValueError, "must be one of"),
    ],
)
def test_bad_input_is_named(make, error, match):
    with pytest.raises(error, match=match):
        make()
