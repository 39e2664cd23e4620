"""The pages are tests: every fenced command in README.md and docs/*.md runs here, on small budgets and
made data, or is named with the reason it cannot (a GPU, a server, an install); every `key=value` written
in the pages' prose composes. A renamed key, a moved file or a removed command fails here, naming the
page and line.

docs/python.md's code is run as a notebook by tests/test_notebook.py; README's Python lines run here.
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, make_folder, run_cli, write_idx
from omegaconf import OmegaConf

from cgan.config import CONF_DIR, compose

pytestmark = pytest.mark.slow  # dozens of short trainings, samplings and scorings

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Command:
    page: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.text}"


def fenced_commands() -> list[Command]:
    """Every command line of every ```bash block (continuations joined, comments dropped)."""
    found = []
    for page in PAGES:
        text = page.read_text()
        for block in re.finditer(r"```(bash|sh|console)\n(.*?)```", text, flags=re.S):
            first = text[: block.start(2)].count("\n") + 1
            lines = block.group(2).split("\n")
            joined, start = "", None
            for offset, line in enumerate(lines):
                if start is None:
                    start = first + offset
                joined += line.rstrip("\\").strip() + " "
                if line.endswith("\\"):
                    continue
                # "<same overrides>" (a resume line): the run's own, which the made runs do not need.
                words = shlex.split(joined.replace("<same overrides>", ""), comments=True)
                while words:  # `a && b`: two commands
                    cut = words.index("&&") if "&&" in words else len(words)
                    found.append(Command(page.relative_to(ROOT).as_posix(), start, shlex.join(words[:cut])))
                    words = words[cut + 1:]
                joined, start = "", None
    return found


# Why a command is not run (in full). Each is checked otherwise: installs against .ci/run, servers by
# tests/app, GPU runs and searches composed (their keys must exist), a sweep's first job run, tools by
# tests/tools.
def why_not_run(words: list[str]) -> str | None:
    program = words[0]
    if program in ("git", "cd"):
        return "the clone itself: the suite runs in one"
    if program in ("pip", "python3.11", "python3", "source", "apt-get") and "train.py" not in words:
        return "an install step: .ci/run runs README's install lines (checked below)"
    if program == "pytest":
        return "the suite itself"
    if program in ("tensorboard", "mlflow", "cgan-app", "jupyter"):
        return ("a server: tests/app serves the app, TensorBoard reads the events the tests check, "
                "tests/test_notebook.py runs docs/python.md in a Jupyter kernel")
    if program in ("cgan-quality", "cgan-crosscheck") or (words[:2] == ["python", "-m"] and words[2].startswith(
            ("benchmarks.", "cgan.data.wide_photos"))) or (program == "bash" and words[1].startswith("benchmarks/")):
        return ("a measurement tool of minutes: tests/benchmarks, tests/cli/test_quality.py, "
                "tests/metrics/test_crosscheck.py and tests/data/test_wide_photos.py run each on small budgets")
    gpu = {"trainer=gpu", "trainer.accelerator=gpu", "trainer=slurm", "hydra/launcher=slurm_gpu", "device=cuda"}
    if gpu & set(words) or ("trainer=ddp" in words and "trainer.accelerator=cpu" not in words):
        return "composed only: needs a GPU"
    if any(w.startswith("hparams_search=") for w in words):
        return "composed only: an Optuna search of 20 trials, each needing its FID (tests/test_configs.py composes it)"
    if "-m" in words:
        return "a sweep: its first job runs (tests/training/test_devices_sweeps.py runs whole sweeps)"
    return None


# -- made data and runs, in place of the user's -------------------------------------------------------
@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A working folder as a user's: data/ with MNIST's files and the gesture folders, classifiers for
    both, and a finished tiny run of each to sample, score, export and resume."""
    from cgan.cli.judge import main as judge_main
    from cgan.cli.train import main as train_main

    root = tmp_path_factory.mktemp("user")
    rng = np.random.default_rng(0)
    raw = root / "data" / "MNIST" / "raw"
    images, labels = rng.integers(0, 256, (80, 28, 28)), np.arange(80) % 10
    write_idx(raw / "train-images-idx3-ubyte", images)
    write_idx(raw / "train-labels-idx1-ubyte", labels)
    write_idx(raw / "t10k-images-idx3-ubyte", images[:30])
    write_idx(raw / "t10k-labels-idx1-ubyte", labels[:30])
    make_folder(root / "data" / "rps", per_class=8)
    make_folder(root / "data" / "rps-test-set", per_class=4)
    make_folder(root / "photos", per_class=8)
    common = [f"paths.data_dir={root / 'data'}", f"paths.judge_dir={root / 'judges'}", f"paths.cache_dir={root / 'cache'}"]
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for name, data in (("mnist", []), ("rps", ["data=rps", "data.image_size=32"])):
            code, err = run_cli(judge_main, *data, *common, *JUDGE_SMALL)
            assert code == 0, err
            runs[name] = root / "runs" / name
            code, err = run_cli(train_main, *(["model=dcgan"] if data else []), *data, *common,
                                *small_train(name), f"hydra.run.dir={runs[name]}")
            assert code == 0, err
    return root, common, runs


JUDGE_SMALL = ["epochs=1", "check_disturbances=false", "batch_size=16"]


def small_train(data: str) -> list[str]:
    sized = ["data.image_size=32", "model.generator.base_width=8", "model.discriminator.base_width=8"]
    return ["trainer.max_steps=2", "trainer.limit_val_batches=1", "+trainer.num_sanity_val_steps=0",
            "data.batch_size=4", "print_config=false",
            "console.progress=log", "trainer.enable_model_summary=false", *(sized if data != "mnist" else [])]


def composed(config: str, overrides: list[str]):
    return compose(config, overrides, require_values=False)


def substitute(words: list[str], root: Path, runs: dict[str, Path], tmp: Path) -> list[str]:
    """The pages' placeholders, made real: a run, a folder of photos, a fresh copy of a run to resume."""
    gestures = any(w in " ".join(words) for w in ("rock", "paper", "scissors", "rps", "image_folder"))
    run = runs["rps" if gestures else "mnist"]
    out = []
    for word in words:
        if re.search(r"outputs/\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d", word):  # a run to resume: a copy of one
            resumable = tmp / "resume_me"
            if not resumable.exists():
                shutil.copytree(run, resumable)
            word = re.sub(r"outputs/\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d", str(resumable), word)
        word = word.replace("outputs/<run>", str(run)).replace("ckpt_path=...", f"ckpt_path={run}")
        word = word.replace("/path/to/photos", str(root / "photos"))
        out.append(word)
    return out


def run_command(command: Command, root: Path, common: list[str], runs: dict, tmp: Path) -> None:
    from cgan.cli.evaluate import main as evaluate_main
    from cgan.cli.export import main as export_main
    from cgan.cli.judge import main as judge_main
    from cgan.cli.sample import main as sample_main
    from cgan.cli.train import main as train_main

    words = shlex.split(command.text)
    while re.match(r"[A-Z_][A-Z0-9_]*=", words[0]):  # the environment a command is given (ROUNDS=2 bash ...)
        words = words[1:]
    if words[0] == "srun":
        words = words[1:]
    words = substitute(words, root, runs, tmp)
    reason = why_not_run(words)
    if words[0] == "python" and words[1] in ("train.py", "sample.py"):
        program, args = words[1].removesuffix(".py"), words[2:]
    elif words[0].startswith("cgan-"):
        program, args = words[0].removeprefix("cgan-"), words[1:]
    else:
        assert reason, f"{command}: no way to run this command here; teach tests/test_docs.py or name why not"
        return
    if program == "train":
        args = [a for a in args if a != "-m"]
        args = [a.split("=", 1)[0] + "=" + first_of_sweep(a.split("=", 1)[1]) if "=" in a else a for a in args]
        cfg = compose_or_fail(command, "train", args)
        if reason and reason.startswith("composed only"):
            return
        is_mnist = "MNIST" in cfg.data._target_
        extra = small_train("mnist" if is_mnist else "photos")
        if is_mnist and "model.generator.base_width" in " ".join(args):
            extra = [*extra, "data.image_size=32"]
        if "hydra.run.dir=" not in " ".join(args):
            extra.append(f"hydra.run.dir={tmp / 'run'}")
        code, err = run_cli(train_main, *args, *common, *extra)
    elif program == "sample":
        newest = [] if any(a.startswith("ckpt_path=") for a in args) else [f"ckpt_path={runs['mnist']}"]  # the quickstart's
        code, err = run_cli(sample_main, *args, *newest, f"out_dir={tmp / 'samples'}", "n_per_label=2")
    elif program in ("judge", "evaluate") and reason and reason.startswith("composed only"):
        compose_or_fail(command, program, args)
        return
    elif program in ("judge", "evaluate"):
        photos = [] if "data=" in " ".join(args) and "data=mnist" not in args else None
        sized = ["data.image_size=32"] if photos is not None else []
        main, small = (judge_main, JUDGE_SMALL) if program == "judge" else (evaluate_main, ["n_per_class=5"])
        if program == "evaluate" and "gen_dir=outputs/samples/mine" in args:  # a folder written before
            code, err = run_cli(sample_main, f"ckpt_path={runs['mnist']}", "out_dir=outputs/samples/mine",
                                "n_per_label=3")
            assert code == 0, err
        code, err = run_cli(main, *args, *common, *sized, *small)
    elif program == "export":
        code, err = run_cli(export_main, *args)
    else:
        assert reason, f"{command}: cgan-{program} is not run here; teach tests/test_docs.py or name why not"
        return
    assert code == 0, f"{command}\n{err[-3000:]}"


def first_of_sweep(value: str) -> str:
    """``1e-4,2e-4`` -> ``1e-4``: a sweep's first job (lists in brackets are one value)."""
    return value if value.startswith("[") else value.split(",", 1)[0]


def compose_or_fail(command: Command, config: str, args: list[str]):
    overrides = [a for a in args if not a.startswith(("hydra.launcher.", "hydra/launcher="))] + \
                [a for a in args if a.startswith("hydra/launcher=")]
    try:
        return composed(config, overrides)
    except Exception as err:
        pytest.fail(f"{command}\ndoes not compose: {err}")


COMMANDS = fenced_commands()
# A command written on several pages runs once, named by every place it is written.
DISTINCT = {}
for _command in COMMANDS:
    DISTINCT.setdefault(_command.text, []).append(_command)


def test_the_pages_hold_commands():
    assert len(COMMANDS) > 60 and any("train.py" in c.text for c in COMMANDS)


@pytest.mark.parametrize("command", [places[0] for places in DISTINCT.values()],
                         ids=[",".join(f"{c.page}:{c.line}" for c in places) for places in DISTINCT.values()])
def test_every_command_in_the_pages_runs_or_says_why_not(command, place, tmp_path, monkeypatch):
    root, common, runs = place
    monkeypatch.chdir(root)
    run_command(command, root, common, runs, tmp_path)


def test_readme_installs_and_tests_with_the_commands_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    quickstart = re.search(r"## Quickstart.*?```bash\n(.*?)```", readme, flags=re.S).group(1)
    extras = re.search(r"## Extras.*?```bash\n(.*?)```", readme, flags=re.S).group(1)
    installs = [line.split("#")[0].strip() for line in (quickstart + extras).splitlines()
                if line.startswith(("pip ", "python3"))]
    assert len(installs) == 4, installs  # venv, PyTorch, the project, the extras
    ci_lines = [line.strip() for line in ci.splitlines()]
    # PyTorch: README's is the CPU build from PyTorch's index, CI's the build on its machine; both install
    # torch and torchvision before the project.
    readme_torch = [line for line in installs if line.startswith("pip install torch")]
    ci_torch = [line for line in ci_lines if line.startswith("pip install torch")]
    assert len(readme_torch) == len(ci_torch) == 1 and "--index-url https://download.pytorch.org/whl/cpu" in readme_torch[0]
    for torch_line in readme_torch + ci_torch:
        assert re.findall(r"\btorch\b|\btorchvision\b", torch_line.split("--")[0]) == ["torch", "torchvision"], torch_line
    assert ci_lines.index(ci_torch[0]) < ci_lines.index("pip install -e .")
    for command in installs:
        if command not in readme_torch:  # the venv, the project, the extras: exactly what CI runs
            assert command in ci_lines, f"README's install line {command!r} is not what .ci/run runs"
    tests = re.search(r"## Tests.*?```bash\n(.*?)```", readme, flags=re.S).group(1)
    full = [line.split("#")[0].strip() for line in tests.splitlines() if "what CI runs" in line]
    assert full and ci.rstrip().splitlines()[-1].strip() == full[0]


# -- overrides written in prose ---------------------------------------------------------------------
OVERRIDE = re.compile(r"`((?:\+{1,2}|~)?[a-z_][\w./]*(?:@[\w.]+)?=[^`\s]*)`")
CONFIGS = ("train", "sample", "evaluate", "judge", "export", "app")


def prose_overrides() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), page.read_text(), flags=re.S)
        for number, line in enumerate(text.splitlines(), 1):
            for match in OVERRIDE.finditer(line):
                found.append((f"{page.relative_to(ROOT).as_posix()}:{number}", match.group(1)))
    return found


PROSE = prose_overrides()


# A key may belong to a group choice (data.hflip: the photo datasets), and the pages shorten model keys
# in their tables (`loss=rpgan`): a key passes when one of these composed configs holds it.
CONTEXTS = ([], ["data=rps"], ["data=image_folder"], ["model=dcgan"], ["model=resnet"], ["logger=mlflow"],
            ["hparams_search=mnist_optuna"])
SHORTENED = ("", "model.", "data.", "model.generator.", "model.discriminator.", "model.optimizer.")
EXAMPLES = {"group=choice", "key=value"}  # the pages' words for the syntax itself
CONF = Path(CONF_DIR)


@pytest.fixture(scope="module")
def every_config():
    configs = []
    for config in CONFIGS:
        for context in CONTEXTS if config == "train" else ([],):
            configs.append(compose(config, context, require_values=False, keep_hydra=True))
    return configs


def override_holds(key: str, value: str, configs) -> bool:
    """The group option's file exists (``model=dcgan``, ``hydra/launcher=joblib``, a sweep's every value), or
    the key is in one of ``configs``."""
    bare = key.lstrip("+~")
    if key.startswith("+"):  # adds a key: its parent must exist
        bare = bare.rsplit(".", 1)[0] if "." in bare else ""
    group = CONF / bare.replace(".", "/")
    if bare.startswith("hydra/"):  # Hydra's own groups, and those its plugins add (hydra/launcher=joblib)
        try:
            composed("train", [f"{bare}={value}"])
            return True
        except Exception:
            return False
    if bare and group.is_dir() and "." not in bare.split("/")[-1]:
        choices = [v for v in value.split(",") if v not in ("", "...", "null")] if not value.startswith("[") else []
        return all((group / f"{choice}.yaml").is_file() for choice in choices)
    if not bare:
        return True
    missing = object()
    for prefix in SHORTENED if "." not in bare else ("",):
        for cfg in configs:
            if OmegaConf.select(cfg, prefix + bare, default=missing, throw_on_resolution_failure=False) is not missing:
                return True
    return False


def test_every_override_written_in_the_pages_prose_composes(every_config):
    assert len(PROSE) > 50
    failures = [f"{where}: `{override}`: no such key or option in conf/" for where, override in PROSE
                if override not in EXAMPLES and not override_holds(*override.split("=", 1), every_config)]
    assert not failures, "\n".join(failures)


def test_readme_python_lines_run(place, tmp_path, monkeypatch):
    """README's five lines, with small budgets appended to each call's overrides, on the made data."""
    import cgan.api

    root, common, runs = place
    monkeypatch.chdir(root)
    original = cgan.api.compose
    small = {"train": small_train("mnist"), "evaluate": ["n_per_class=5"], "judge": JUDGE_SMALL}
    monkeypatch.setattr(cgan.api, "compose",
                        lambda name, overrides, run_dir=None: original(name, [*overrides, *common, *small[name]], run_dir))
    code = re.search(r"## From Python.*?```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S).group(1)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["g"].class_names == [str(k) for k in range(10)]


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", page.read_text(), flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_link_between_the_pages_leads_somewhere():
    broken = []
    for page in PAGES:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.relative_to(ROOT)}: ({target}): no file {path}")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{page.relative_to(ROOT)}: ({target}): no heading #{anchor} in {file.name}")
    assert not broken, "\n".join(broken)


def test_the_quickstart_as_written_gives_a_scored_generator_with_best_ckpt(tmp_path, monkeypatch):
    """README's quickstart in a fresh folder (made MNIST files where the default data_dir looks, no paths
    overrides): the classifier, the training run and the sample, in order, on small budgets."""
    from cgan.cli.judge import main as judge_main
    from cgan.cli.sample import main as sample_main
    from cgan.cli.train import main as train_main

    rng = np.random.default_rng(0)
    raw = tmp_path / "data" / "MNIST" / "raw"
    images, labels = rng.integers(0, 256, (200, 28, 28)), np.arange(200) % 10
    for split, n in (("train", 200), ("t10k", 60)):
        write_idx(raw / f"{split}-images-idx3-ubyte", images[:n])
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels[:n])
    monkeypatch.chdir(tmp_path)
    steps = [c for c in COMMANDS if c.page == "README.md" and c.line < README_QUICKSTART_END]
    ran = []
    for command in steps:
        words = shlex.split(command.text)
        if why_not_run(words):
            continue
        small = {"cgan-judge": JUDGE_SMALL,
                 "train.py": ["trainer.max_steps=16", "trainer.val_check_interval=4", "trainer.limit_val_batches=1",
                              "data.batch_size=8", "callbacks.generation_metrics.every_n_val=1",
                              "callbacks.generation_metrics.n_per_class=5", "print_config=false"],
                 "sample.py": []}
        program = words[1] if words[0] == "python" else words[0]
        main = {"cgan-judge": judge_main, "train.py": train_main, "sample.py": sample_main}[program]
        code, err = run_cli(main, *words[2 if words[0] == "python" else 1:], *small[program])
        assert code == 0, f"{command}\n{err[-3000:]}"
        ran.append(program)
    assert ran == ["cgan-judge", "train.py", "sample.py"]
    runs = sorted(p for p in (tmp_path / "outputs").glob("*-*-*/*") if (p / "checkpoints").is_dir())
    assert len(runs) == 1 and (runs[0] / "checkpoints" / "best.ckpt").is_file()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(runs[0])).Reload()
    assert "metrics/fid" in events.Tags()["scalars"]
    assert list((tmp_path / "outputs" / "samples").glob("*/*/grid.png"))


README_QUICKSTART_END = (ROOT / "README.md").read_text().split("\n").index("## What next: one command each") + 1


# -- one figure per preset ------------------------------------------------------------------------------
PRESETS = ("mnist_5min", "mnist_best", "rps_best", "rps_resnet")
# A sentence that names one of these speaks of another machine or another recipe (a budget override, a
# probe, an earlier recipe, a dated history), so its figures are its own.
ELSEWHERE = re.compile(r"GPU|Xeon|another machine|recipe|probe|max_steps=|max_time=|--images|checkpoint at|"
                       r"at equal|side by side|before its|earlier|step\d|history|budgets?\b|`(?!experiment=)[\w.]+=", re.I)


def reference_table() -> dict[str, tuple[int, float]]:
    page = (ROOT / "docs" / "devices-speed-sweeps.md").read_text()
    section = page[page.index("## Reference machine"):page.index("## Speed")]
    rows = re.findall(r"^\| `(?:python train.py )?(?:experiment=)?([\w_]+)` \| ([\d,]+) \| ([\d.]+) \|", section, re.M)
    return {name: (int(images.replace(",", "")), float(minutes)) for name, images, minutes in rows}


def sentences(page: Path) -> list[str]:
    """Paragraphs cut at full stops; a table row with the paragraph that introduces its table."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    out, caption = [], ""
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().splitlines()
        if lines and lines[0].startswith("|"):
            out += [caption + " " + line for line in lines]
        else:
            caption = " ".join(lines)
            out += re.split(r"(?<=[.;])\s+", caption)
    return out


def test_every_images_or_minutes_figure_of_a_preset_is_the_reference_tables():
    table = reference_table()
    assert set(PRESETS) <= set(table), table
    wrong = []
    for page in PAGES:
        if page.name == "history.md":  # every figure there is of an earlier recipe, said at its top
            continue
        for sentence in sentences(page):
            named = [p for p in PRESETS if re.search(rf"\b{p}\b", sentence)]
            if len(named) != 1 or ELSEWHERE.search(sentence):
                continue
            images, minutes = table[named[0]]
            for figure in re.findall(r"(\d{1,3}(?:,\d{3})+) images(?! (?:per|a class))", sentence):
                if int(figure.replace(",", "")) != images:
                    wrong.append(f"{page.name}: {named[0]}: {figure} images, the table says {images:,}: {sentence[:160]}")
            for figure in re.findall(r"(\d+(?:\.\d+)?) (?:CPU )?minutes", sentence):
                cap = {"mnist_5min": 5, "rps_best": 28, "rps_resnet": 28}.get(named[0])
                if abs(float(figure) - minutes) >= 0.5 and float(figure) != cap:
                    wrong.append(f"{page.name}: {named[0]}: {figure} minutes, the table says {minutes}: {sentence[:160]}")
    assert not wrong, "\n".join(wrong)


def judge_minutes() -> dict[str, float]:
    """The reference table's minutes of each classifier command: ``cgan-judge`` (digits), ``cgan-judge data=rps``."""
    page = (ROOT / "docs" / "devices-speed-sweeps.md").read_text()
    section = page[page.index("## Reference machine"):page.index("## Speed")]
    rows = re.findall(r"^\| `(cgan-judge(?: data=rps)?)` \| \| ([\d.]+)", section, re.M)
    return {name: float(minutes) for name, minutes in rows}


def test_every_classifier_time_is_the_reference_tables():
    """'a 5.5-minute classifier', 'the digits' classifier: 2.4 minutes': each page quotes the table, code
    comments included (the quickstart's times are comments)."""
    table = judge_minutes()
    assert set(table) == {"cgan-judge", "cgan-judge data=rps"}, table
    wrong, seen = [], 0
    for page in PAGES:
        if page.name == "history.md":
            continue
        for line in page.read_text().splitlines():
            for figure in re.findall(r"(\d+(?:\.\d+)?)[- ]minutes? classifier|classifier: (\d+(?:\.\d+)?) minutes", line):
                minutes = float(figure[0] or figure[1])
                gestures = "rps" in line or "gesture" in line
                expected = table["cgan-judge data=rps" if gestures else "cgan-judge"]
                seen += 1
                if minutes != expected:
                    wrong.append(f"{page.name}: {minutes} minutes, the table says {expected}: {line.strip()[:140]}")
    assert seen >= 2 and not wrong, "\n".join(wrong) or "no classifier time found"


# -- floors and ratios ------------------------------------------------------------------------------------
def _interval(figure: str) -> tuple[float, float]:
    """The values a printed figure stands for: 2.7 is 2.65..2.75, 0.020 is 0.0195..0.0205, 140 (two significant
    figures) 135..145."""
    if "." in figure:
        half = 0.5 * 10 ** -len(figure.split(".")[1])
    else:
        half = 0.5 * 10 ** (len(figure) - len(figure.rstrip("0")))
    return float(figure) - half, float(figure) + half


def tables(page: Path) -> list[list[str]]:
    """Each markdown table of a page, as its rows (header and rule left out)."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    found = []
    for block in re.split(r"\n\s*\n", text):
        rows = [line for line in block.strip().splitlines() if line.startswith("|")]
        if len(rows) > 2:
            found.append(rows[2:])
    return found


def test_the_floor_every_fid_multiple_of_a_table_implies_is_one_floor():
    """'FID 14.1 (2.7x the floor)', '0.162 (7.4x)': within one table every such pair of one dataset is a FID over
    the same real-vs-real floor, so the floors they imply (within the rounding of the printed figures) must agree."""
    wrong, checked = [], 0
    for page in PAGES:
        if page.name == "history.md":
            continue
        for rows in tables(page):
            floors: dict[str, list] = {}
            for row in rows:
                dataset = "gestures" if re.search(r"rps|gesture", row) else "digits" if "mnist" in row else ""
                for fid, multiple in re.findall(r"(\d+\.\d+) \((\d+(?:\.\d+)?)x(?: the floor)?\)", row):
                    (f_lo, f_hi), (m_lo, m_hi) = _interval(fid), _interval(multiple)
                    if m_lo > 0:
                        floors.setdefault(dataset, []).append((f_lo / m_hi, f_hi / m_lo, row[:100]))
            for same in floors.values():
                if len(same) < 2:
                    continue
                checked += 1
                if max(f[0] for f in same) > min(f[1] for f in same):
                    wrong.append(f"{page.name}: floors {', '.join(f'{(a + b) / 2:.4g}' for a, b, _ in same)} in one "
                                 f"table: {same[0][2]}")
    assert checked >= 2 and not wrong, "\n".join(wrong) or "no table of FID multiples found"


def test_the_sweep_speed_ups_are_the_wall_times_they_stand_beside():
    page = (ROOT / "docs" / "devices-speed-sweeps.md").read_text()
    rows = re.findall(r"^\| (.+?) \| .+? \| ([\d.]+) \| \**([\d.]+)x\**(?: \(against its own default row, ([\d.]+) s\))?",
                      page, re.M)
    default = next(float(wall) for name, wall, _, _ in rows if name.startswith("default"))
    assert len(rows) >= 3
    for name, wall, speed_up, own_default in rows:
        lo, hi = _interval(speed_up)
        assert lo <= (float(own_default) if own_default else default) / float(wall) <= hi, name
