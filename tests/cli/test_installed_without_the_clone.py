"""A plain `pip install .` (not -e) copies the package without conf/: the commands and the API say so in one
sentence, naming the fix, instead of Hydra's traceback."""

import shutil
import subprocess
import sys

from conftest import ROOT


def test_a_package_without_its_config_tree_says_to_install_from_the_clone(tmp_path):
    site = tmp_path / "site-packages"  # what a non-editable install leaves: the package alone
    shutil.copytree(ROOT / "cgan", site / "cgan", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    for code in ("from cgan.cli.judge import main; main()", "import cgan; cgan.judge()"):
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        said = done.stderr.strip().splitlines()[-1]
        assert "pip install -e ." in said and "config tree is not at" in said, done.stderr[-2000:]
        if code.startswith("from cgan.cli"):
            assert done.returncode == 2 and said.startswith("error: ") and "Traceback" not in done.stderr
