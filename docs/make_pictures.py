"""Makes the README's pictures from the examples gallery (needs the plot and datasets
extras): each examples/plot_*.py named below runs, and its figure is saved under docs/.

    python docs/make_pictures.py
"""

import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent
EXAMPLES = HERE.parent / "examples"
PICTURES = {  # gallery script -> the README's picture
    "plot_box.py": "box.png",
    "plot_world_land.py": "world_land.png",
    "plot_regions.py": "regions.png",
    "plot_flow.py": "flow.png",
    "plot_judge.py": "judge.png",
    "plot_labels.py": "labels.png",
    "plot_latent.py": "latent.png",
}

if __name__ == "__main__":
    for script, picture in PICTURES.items():
        plt.close("all")
        runpy.run_path(str(EXAMPLES / script), run_name="__main__")
        plt.gcf().savefig(HERE / picture)
        print(f"{script} -> docs/{picture}")
