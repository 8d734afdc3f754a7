"""A missing optional dependency is an ImportError that says which extra to install, for
every entry point that needs one (each case in a fresh interpreter where the module is
blocked, as if it were not installed)."""

import subprocess
import sys
import textwrap

import pytest

CASES = {
    "plot": ("matplotlib", "import gensample as gs; gs.plot.scatter(gs.datasets.moons(), n=10)"),
    "flow_paths": (
        "matplotlib",
        "import gensample as gs, numpy as np\n"
        "g = gs.GMM.from_parameters([1.0], [[0.0, 0.0]], [np.eye(2)])\n"
        "gs.plot.flow_paths(gs.Flow(gs.fields.GaussianMixture(g)), n=5)",
    ),
    "sklearn": ("sklearn", "import gensample.compat.sklearn"),
    "parquet": ("pyarrow", "import gensample as gs; gs.generate(gs.Box([0], [1]), 10, out='{tmp}/x.parquet')"),
    "parquet-read": ("pyarrow", "import gensample as gs; gs.scale.read('{tmp}/x.parquet')"),
    "dask": ("zarr", "import gensample as gs; gs.generate(gs.Box([0], [1]), 10, out='{tmp}/x.zarr')"),
    "dask-sample": ("dask", "import gensample as gs; gs.dask.sample(gs.Box([0], [1]), 10)"),
    "datasets": ("global_land_mask", "import gensample as gs; gs.datasets.world_land(resolution=1.0, cache=False)"),
    "datasets-horse": ("skimage", "import gensample as gs; gs.datasets.horse()"),
}
EXTRA = {
    "plot": "plot",
    "flow_paths": "plot",
    "sklearn": "sklearn",
    "parquet": "parquet",
    "parquet-read": "parquet",
    "dask": "dask",
    "dask-sample": "dask",
    "datasets": "datasets",
    "datasets-horse": "datasets",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_missing_extra_names_its_install(case, tmp_path):
    module, code = CASES[case]
    script = textwrap.dedent(f"""
        import sys
        sys.modules[{module!r}] = None  # import {module} now raises ImportError
        try:
            exec({code.format(tmp=tmp_path)!r})
        except ImportError as exc:
            print("ImportError:", exc)
        else:
            print("no error")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout.strip()
    assert out.startswith("ImportError:"), out
    assert f'pip install "gensample[{EXTRA[case]}]"' in out and f'pip install ".[{EXTRA[case]}]"' in out, out
    assert list(tmp_path.iterdir()) == []  # nothing half-written
