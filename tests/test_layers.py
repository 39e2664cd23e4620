"""The house rule of cgan/: imports only look down, and nothing imports in a circle.

Every ``import`` of every module is read from its source (function bodies included), so a late
import inside a function counts like one at the top. If this test fails for your change, it names
the import to move: put shared code in the lower layer, or call the lower layer from the higher one.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cgan"

# Each part of cgan/ and its layer: a module may import its own part and lower layers, never a higher
# one, and never a sibling part of the same layer. (DESIGN.md: errors/config <- data, nets <- model <-
# generation, metrics, training <- api <- cli; developer benchmarks live outside, in benchmarks/.)
LAYERS = {
    "cgan.errors": 0,
    "cgan.renamed": 0.5,  # the table of keys that moved (read by config and checkpoints)
    "cgan.config": 1, "cgan.images": 1,
    "cgan.data": 2, "cgan.nets": 2, "cgan.checkpoints": 2,
    "cgan.model": 3,
    "cgan.generation": 4,
    "cgan.metrics": 5,
    "cgan.training": 6, "cgan.app": 6,
    "cgan.api": 6.5,  # the Python face: composes configs, calls training, generation and metrics
    "cgan": 6.75,  # the package itself re-exports the api (lazily: `import cgan` loads no torch)
    "cgan.cli": 7,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """The LAYERS entry a module belongs to (``cgan.metrics.fid`` -> ``cgan.metrics``)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return ".".join(parts[:n])
    raise AssertionError(f"{module} is in no layer: add its folder or file to LAYERS in {__file__}")


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The cgan modules ``path`` imports, anywhere in the file."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                # `from cgan.model import losses` imports the module cgan.model.losses; `from cgan.model
                # import ConditionalGAN` a name of the package cgan.model.
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in modules else module)
    return {m for m in found if m == "cgan" or m.startswith("cgan.")}


def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: {m for m in imports_of(path, name, modules) if m in modules and m != name}
            for name, path in modules.items()}


def test_every_module_belongs_to_a_layer():
    for name in graph():
        part_of(name)


def test_imports_only_look_down():
    problems = []
    for importer, imported in graph().items():
        for target in imported:
            mine, theirs = part_of(importer), part_of(target)
            if mine == theirs or theirs == "cgan":  # the package's own __init__ holds only UserError
                continue
            if LAYERS[theirs] >= LAYERS[mine]:
                kind = "a sibling of the same layer" if LAYERS[theirs] == LAYERS[mine] else "a higher layer"
                problems.append(f"{importer} (layer {LAYERS[mine]}) imports {target}, {kind} "
                                f"(layer {LAYERS[theirs]})")
    assert not problems, ("imports must only look down (see LAYERS in tests/test_layers.py):\n"
                          + "\n".join(sorted(problems)))


def test_no_import_circle():
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            raise AssertionError("import circle: " + " -> ".join(cycle))


def test_the_checker_sees_an_upward_import_inside_a_function(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def late():\n    from cgan.training import train\n    import cgan.cli.common\n")
    found = imports_of(source, "cgan.metrics.probe", all_modules())
    assert found >= {"cgan.training", "cgan.cli.common"}
    problems = [m for m in found if LAYERS[part_of(m)] > LAYERS["cgan.metrics"]]
    assert sorted(problems) == ["cgan.cli.common", "cgan.training"]


def test_loading_a_generator_does_not_import_the_lightning_module():
    """Sampling, export and the app rebuild nets from cgan.nets: the LightningModule's file stays unloaded."""
    import subprocess
    import sys

    code = "import sys, cgan.generation; print(sorted(m for m in sys.modules if m.startswith('cgan.model')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "cgan.model.gan" not in done.stdout, done.stdout
