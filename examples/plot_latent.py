"""
Digits in a latent space: PPCA in closed form, and a decoder from torch
=======================================================================

Two models of scikit-learn's 8 x 8 digits that describe each image by a few latent
numbers ``z`` and map them back: a probabilistic PCA (linear, fitted in closed form) and
the decoder of a small variational autoencoder trained for a few seconds in torch and
handed to ``gs.Decoder``. Both sample by "draw z from N(0, I), decode", both walk between
two digits through the latent space, and both give a held-out log-likelihood: exact for
PPCA, importance-sampled (the IWAE bound, with its standard error) for the decoder.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits

import gensample as gs

digits = load_digits()
X = digits.data / 16.0
train, test = X[:1400], X[1400:]
q = 8

ppca = gs.PPCA(q).fit(train)

# %%
# A small VAE: the encoder gives [mean, log-variance] of q(z | x), the decoder the mean of
# a Gaussian p(x | z) with one learned noise variance.
torch.manual_seed(0)
encoder = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.SiLU(), torch.nn.Linear(128, 2 * q))
decoder = torch.nn.Sequential(
    torch.nn.Linear(q, 128), torch.nn.LayerNorm(128), torch.nn.SiLU(), torch.nn.Linear(128, 64)
)
log_noise = torch.nn.Parameter(torch.tensor(-3.0))
opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters(), log_noise], lr=3e-3)
data = torch.from_numpy(train).float()
for _ in range(1500):
    mean, logvar = encoder(data).chunk(2, dim=1)
    z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
    recon = ((data - decoder(z)) ** 2).sum(1) / torch.exp(log_noise) + 64 * log_noise
    kl = (mean**2 + logvar.exp() - logvar - 1).sum(1)
    loss = 0.5 * (recon + kl).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()

vae = gs.Decoder(decoder, latent_dim=q, noise=float(log_noise.detach().exp()), encoder=encoder)
print(vae)

# %%
# Held-out log-likelihood in nats per image: PPCA's exact, the decoder's by importance
# sampling (a lower bound in expectation, 256 draws per image, with its standard error).
exact = ppca.logpdf(test).mean()
iwae, err = vae.iwae(test, k=256, rng=0)
print(
    f"held-out log p(x), nats per image: PPCA {exact:.1f}; VAE decoder {iwae.mean():.1f} "
    f"(standard error of the mean {np.sqrt(np.sum(err**2)) / len(err):.2f})"
)

fig, axes = plt.subplots(4, 10, figsize=(10, 4.4), dpi=110)
zero, six = test[digits.target[1400:] == 0][0], test[digits.target[1400:] == 6][0]
(z0, z6), _ = vae.encode(np.stack([zero, six]))  # the encoder's means
rows = [
    ("PPCA samples", ppca.sample(10, rng=1)),
    ("VAE samples", vae.decode(gs.random.normal(10, q, rng=1))),  # the decoder's means, without the noise
    ("PPCA: 0 to 6", ppca.interpolate(zero, six, 10)),
    ("VAE: 0 to 6", vae.interpolate(z0, z6, 10)),
]
for r, (title, images) in enumerate(rows):
    for c in range(10):
        ax = axes[r, c]
        ax.imshow(np.clip(images[c], 0, 1).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
    axes[r, 0].set_ylabel(title, fontsize=7)
fig.suptitle(f"held-out log p(x): PPCA {exact:.0f}, VAE decoder {iwae.mean():.0f} nats per image", fontsize=9)
fig.tight_layout()
