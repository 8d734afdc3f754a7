"""gs.dask.sample: a dask.array whose blocks are rows of the model's stream, identical to
gs.generate for any chunking and any number of workers (a real 2-process LocalCluster)."""

import io
import os

import numpy as np
import pytest

import gensample as gs

dask = pytest.importorskip("dask", reason="dask is in the test extra")
da = pytest.importorskip("dask.array")

GMM = gs.GMM.from_parameters([0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], np.stack([0.3 * np.eye(2)] * 2))
MODELS = {
    "gmm": GMM,
    "scene": gs.datasets.hostage_scene(160, 120),
    "kde": gs.KDE(0.3).fit(np.random.default_rng(0).normal(size=(500, 3))),
    "flow": gs.Flow(gs.fields.GaussianMixture(GMM), steps=16),
    "polygon-minus-box": gs.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)]) - gs.Box([0, 0], [1, 4]),
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("chunks", [1000, 333, (1, 999, 2000), None])
def test_equals_generate_for_any_chunks(name, chunks):
    model = MODELS[name]
    x = gs.dask.sample(model, 3000, chunks=chunks, rng=4)
    assert x.shape == (3000, model.dim) and x.dtype == np.float64
    np.testing.assert_array_equal(x.compute(scheduler="threads"), gs.generate(model, 3000, rng=4))


def test_float32_and_slices():
    x = gs.dask.sample(GMM, 10_000, chunks=1234, rng=1, dtype=np.float32)
    assert x.dtype == np.float32
    ref = GMM.sample(10_000, rng=1, dtype=np.float32)
    np.testing.assert_array_equal(x[5000:5100].compute(scheduler="sync"), ref[5000:5100])


def test_the_model_is_one_node_of_the_graph():
    """A large model is shipped once, not once per block."""
    import pickle

    big = gs.KDE(0.3).fit(np.random.default_rng(0).normal(size=(50_000, 2)))
    x = gs.dask.sample(big, 10**6, chunks=10**4, rng=0)
    assert x.numblocks == (100, 1)
    assert len(pickle.dumps(dict(x.__dask_graph__()))) < 3 * len(pickle.dumps(big))


def test_bad_arguments():
    with pytest.raises(ValueError, match="chunks must add up to n=10"):
        gs.dask.sample(GMM, 10, chunks=(5, 4))
    with pytest.raises(ValueError, match="chunks must be a positive integer"):
        gs.dask.sample(GMM, 10, chunks=0)
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        gs.dask.sample(GMM, -3)
    with pytest.raises(ValueError, match="n_threads must be a positive integer"):
        gs.dask.sample(GMM, 10, n_threads=0)
    with pytest.raises(TypeError, match="Distribution"):
        gs.dask.sample("gmm", 10)
    assert gs.dask.sample(GMM, 0).compute().shape == (0, 2)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed", reason="distributed is in the test extra")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=40
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_local_cluster_two_workers_same_bytes(client, tmp_path):
    assert len(client.scheduler_info()["workers"]) == 2
    for name, model in MODELS.items():
        x = gs.dask.sample(model, 20_000, chunks=3_000, rng=8)
        got = client.compute(x).result()
        np.testing.assert_array_equal(got, gs.generate(model, 20_000, rng=8), err_msg=name)
    # both workers took part
    x = gs.dask.sample(GMM, 40_000, chunks=1000, rng=8)
    futures = client.compute(x.to_delayed().ravel().tolist())
    from distributed import wait

    wait(futures)
    who = {w for f in futures for w in client.who_has(f)[f.key]}
    assert len(who) == 2


def test_a_scattered_model_stays_out_of_the_graph(client):
    """With client=, a large model is on the workers once and the graph only names it."""
    import pickle
    import warnings

    big = gs.KDE(0.3).fit(np.random.default_rng(0).normal(size=(200_000, 2)))
    x = gs.dask.sample(big, 30_000, chunks=3_000, rng=6, client=client)
    assert len(pickle.dumps(dict(x.__dask_graph__()))) < len(pickle.dumps(big)) / 10
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Sending large graph" warning
        got = client.compute(x).result()
    np.testing.assert_array_equal(got, gs.generate(big, 30_000, rng=6))


def test_workers_have_omp_one_and_threads_are_explicit(client):
    """Dask's nanny sets OMP_NUM_THREADS=1; a block uses the n_threads it is given, and the
    values do not depend on it."""
    env = client.run(lambda: os.environ.get("OMP_NUM_THREADS"))
    assert set(env.values()) == {"1"}
    one = client.compute(gs.dask.sample(GMM, 50_000, chunks=10_000, rng=2, n_threads=1)).result()
    two = client.compute(gs.dask.sample(GMM, 50_000, chunks=10_000, rng=2, n_threads=2)).result()
    np.testing.assert_array_equal(one, two)


def test_cluster_writes_zarr_npy_stack_and_parquet(client, tmp_path):
    pytest.importorskip("zarr", reason="zarr is in the test extra")
    dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] is in the test extra")
    model = MODELS["scene"]
    ref = gs.generate(model, 12_000, rng=3)
    x = gs.dask.sample(model, 12_000, chunks=5_000, rng=3)
    x.to_zarr(str(tmp_path / "s.zarr"))
    np.testing.assert_array_equal(da.from_zarr(str(tmp_path / "s.zarr")).compute(), ref)
    da.to_npy_stack(str(tmp_path / "stack"), x)
    np.testing.assert_array_equal(da.from_npy_stack(str(tmp_path / "stack")).compute(), ref)
    dd.from_dask_array(x, columns=["x", "y"]).to_parquet(str(tmp_path / "pq"))
    import pyarrow.parquet as pq

    parts = sorted(os.listdir(tmp_path / "pq"), key=lambda p: int(p.split(".")[1]) if p.startswith("part.") else -1)
    tables = [pq.read_table(tmp_path / "pq" / p) for p in parts if p.startswith("part.")]
    back = np.concatenate([np.column_stack([t["x"].to_numpy(), t["y"].to_numpy()]) for t in tables])
    np.testing.assert_array_equal(back, ref)
    # a reduction, as usual
    np.testing.assert_allclose(x.mean(axis=0).compute(), ref.mean(axis=0), rtol=1e-12)


def test_generate_cli_and_dask_give_the_same_bytes(client, tmp_path):
    from gensample.__main__ import main

    assert (
        main(
            [
                "sample",
                "moons",
                "-n",
                "7000",
                "--seed",
                "5",
                "--chunk",
                "900",
                "-o",
                str(tmp_path / "c.npy"),
                "--no-progress",
            ]
        )
        == 0
    )
    gs.generate(gs.datasets.moons(), 7000, rng=5, out=tmp_path / "g.npy", chunk=2500)
    x = client.compute(gs.dask.sample(gs.datasets.moons(), 7000, chunks=1300, rng=5)).result()
    b = io.BytesIO()
    np.save(b, x)
    assert (tmp_path / "c.npy").read_bytes() == (tmp_path / "g.npy").read_bytes() == b.getvalue()
