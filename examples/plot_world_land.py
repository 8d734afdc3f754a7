"""
The world's land, uniform by area
=================================

A raster mask on the sphere (30-arc-second cells of land) sampled exactly by area: no
excess of points near the poles, where a latitude-longitude grid's cells are small. The
index is a run-length encoding of the mask; sampling picks a run by an alias table and a
point inside it from the Philox stream of its row.
"""

import matplotlib.pyplot as plt

import gensample as gs

land = gs.datasets.world_land()
points = land.sample(400_000, rng=0)  # (lon, lat) in degrees

fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
gs.plot.world(points, ax=ax, s=0.05, alpha=0.4, rasterized=True)
ax.set_title(
    f"400,000 points uniform by area on the world's land (index: {land.n_runs:,} runs of 30-arc-second cells)",
    fontsize=10,
)
fig.tight_layout()
