"""Every command is reachable as its console script, as ``python -m``, and by its old name; every
``_target_`` in conf/ names something that exists."""

import importlib
import re

import pytest
from conftest import CONF_DIR, ROOT, run_script
from hydra.utils import get_object

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")

SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_every_target_in_conf_names_an_importable_object():
    targets = set()
    for path in sorted(ROOT.joinpath("conf").rglob("*.yaml")):
        targets |= {(path.relative_to(ROOT), t) for t in re.findall(r"_target_:\s*([\w.]+)", path.read_text())}
    assert targets
    stale = []
    for path, target in sorted(targets):
        try:
            get_object(target)
        except Exception as err:  # noqa: BLE001 - any failure is a stale name
            stale.append(f"{path}: {target} ({type(err).__name__})")
    assert not stale, "stale _target_ names:\n" + "\n".join(stale)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_every_console_script_points_at_a_function(name):
    module, _, function = SCRIPTS[name].partition(":")
    assert callable(getattr(importlib.import_module(module), function)), SCRIPTS[name]


def test_the_commands_have_one_module_each_under_cli():
    commands = {name.removeprefix("cgan-") for name, target in SCRIPTS.items() if target.startswith("cgan.cli.")}
    assert commands == {"train", "sample", "evaluate", "judge", "export", "app", "quality"}
    for command in commands:
        assert SCRIPTS[f"cgan-{command}"] == f"cgan.cli.{command}:main"
        # quality trains train.yaml's runs along an image budget; every other command has its own top config
        assert command == "quality" or (ROOT / "conf" / f"{command}.yaml").is_file()
    # The one other command lives with what it uses; developer benchmarks get none (python -m benchmarks.*).
    assert set(SCRIPTS) - {f"cgan-{c}" for c in commands} == {"cgan-crosscheck"}
    assert SCRIPTS["cgan-crosscheck"] == "cgan.metrics.crosscheck:main"


@pytest.mark.slow
@pytest.mark.parametrize("module", ["cgan.cli.judge", "cgan.cli.app"])
def test_python_dash_m_forms_answer_help(module):
    result = run_script("-m", module, "--help", timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Powered by Hydra" in result.stdout and CONF_DIR not in result.stderr


def test_the_api_functions_are_not_shadowed_by_modules_of_the_same_name():
    """``cgan.judge``, ``cgan.evaluate``, ... are the API's functions, whatever was imported before: no module
    ``cgan/<name>.py`` may replace one once imported (the commands live in cgan.cli)."""
    import importlib

    import cgan
    import cgan.cli.evaluate  # noqa: E401,F401  what the commands import
    import cgan.cli.export
    import cgan.cli.judge

    for name in ("judge", "evaluate", "train", "resume", "load"):
        assert callable(getattr(cgan, name)), name
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"cgan.{name}")
