"""A new user's first hour, as README says it: a fresh clone, README's install block in a fresh venv, the
quickstart's commands in order, then README's extras line and its test command.

    python -m benchmarks.first_hour [--data-dir DIR] [--torch-line "pip install torch==... torchvision==..."]
                                    [--no-tests] [--keep]

Clones this checkout's committed HEAD into a temporary folder and runs each line of README's quickstart block
there in one bash shell (so ``source .venv/bin/activate`` holds for the lines after it), timing each. The
``git clone`` line is the clone itself. ``--torch-line`` replaces README's PyTorch line where PyTorch's own
index cannot be reached (CI's machine installs the build on its disk). ``--data-dir``: a folder holding
``MNIST/raw`` to link as the clone's ``data/`` where nothing can be downloaded.

Then it checks what the training command printed: its folder, the ``tensorboard --logdir`` command and the clock
time it ends at the start; progress lines with the time left; the sample and train-longer commands at the end;
and that the sample command wrote its grid. Last, README's extras line and test command (``pytest``) in the same
venv. Prints one line per step with its minutes and exits 1 at the first failure.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_block(title: str) -> list[str]:
    """The command lines of README's first ```bash block after ``## <title>``, comments dropped."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(rf"## {re.escape(title)}.*?```bash\n(.*?)```", readme, flags=re.S).group(1)
    lines = [line.split("  #")[0].split(" # ")[0].rstrip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def run(shell_lines: list[str], cwd: Path, log: Path) -> tuple[int, float]:
    start = time.perf_counter()
    script = "set -eo pipefail\n" + "\n".join(shell_lines) + "\n"
    with log.open("a") as out:
        code = subprocess.run(["bash", "-c", script], cwd=cwd, stdout=out, stderr=subprocess.STDOUT).returncode
    return code, time.perf_counter() - start


def check_training_output(text: str) -> list[str]:
    """What a training run must have said, each missing one named."""
    wanted = {
        "its folder at start": r"This run writes to \S+",
        "the tensorboard command": r"tensorboard --logdir \S+",
        "the clock time it ends": r"This run stops .*, by \d\d:\d\d",
        "progress lines with the time left": r"\d+:\d\d left",
        "the sample command at the end": r"Sample it: python sample\.py ckpt_path=",
        "the train-longer command at the end": r"Train it longer: python train\.py .*ckpt_path=last",
    }
    return [what for what, pattern in wanted.items() if not re.search(pattern, text)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="a folder holding MNIST/raw, linked as the clone's data/")
    parser.add_argument("--torch-line", help="the PyTorch install line to run in place of README's")
    parser.add_argument("--no-tests", action="store_true", help="stop after the quickstart")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="cgan-first-hour-"))
    clone, log = workdir / "cgan", workdir / "log.txt"
    print(f"clone and log in {workdir}", flush=True)
    steps: list[tuple[str, list[str]]] = []
    for line in readme_block("Quickstart"):
        if line.startswith("git clone"):
            steps.append((line, [f"git clone -q {ROOT} {clone}"]))
            continue
        if line.startswith("pip install torch") and args.torch_line:
            line = args.torch_line
        steps.append((line, [line]))
    activate = "source .venv/bin/activate"
    if args.data_dir is not None:  # the suite's real-data tests read it, as CI's do
        activate += f" && export CGAN_TEST_DATA_DIR={args.data_dir.resolve()}"
    failed = False
    for n, (shown, lines) in enumerate(steps):
        if n == 1 and args.data_dir is not None:  # after the clone: the data a download would have brought
            (clone / "data").mkdir(exist_ok=True)
            (clone / "data" / "MNIST").symlink_to(args.data_dir.resolve() / "MNIST")
        before = log.stat().st_size if log.is_file() else 0
        needs_venv = n > 0 and not shown.startswith("python3 -m venv")
        code, seconds = run([activate, *lines] if needs_venv else lines, clone if n > 0 else workdir, log)
        print(f"{seconds / 60:6.1f} min  {'ok ' if code == 0 else 'FAILED'}  {shown}", flush=True)
        if code != 0:
            failed = True
            break
        if shown.startswith("python train.py"):
            missing = check_training_output(log.read_bytes()[before:].decode(errors="replace"))
            print(f"           the run said {'everything' if not missing else 'NOT ' + ', '.join(missing)}")
            failed = failed or bool(missing)
        if shown.startswith("python sample.py"):
            grids = list((clone / "outputs" / "samples").glob("*/*/grid.png"))
            print(f"           {'a grid at ' + str(grids[0].relative_to(clone)) if grids else 'NO grid written'}")
            failed = failed or not grids
    if not failed and not args.no_tests:
        for shown in [*readme_block("Extras"), *readme_block("Tests")[-1:]]:
            code, seconds = run([activate, shown], clone, log)
            print(f"{seconds / 60:6.1f} min  {'ok ' if code == 0 else 'FAILED'}  {shown}", flush=True)
            if code != 0:
                failed = True
                break
    if failed:
        print(f"the log: {log}")
    elif not args.keep:
        subprocess.run(["rm", "-rf", str(workdir)], check=False)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
