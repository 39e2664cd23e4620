"""cgan-export: TorchScript and ONNX files that draw what the checkpoint draws, without this package."""

import json
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, TINY, compose_train, run_cli

from cgan.cli.export import main as export_main
from cgan.training import train

SHORT = [o for o in TINY if not o.startswith("trainer.max_steps")] + ["callbacks.generation_metrics=null"]


# Two runs cover both nets and both weight sets an export may take: the live MLP generator, the EMA DCGAN one.
@pytest.fixture(scope="module", params=["mlp", "dcgan_ema"])
def checkpoint(request, tmp_path_factory):
    extra = {"mlp": [],
             "dcgan_ema": ["model=dcgan", "model.generator.base_width=8", "model.discriminator.base_width=8",
                           "model.ema.decay=0.9"]}[request.param]
    run_dir = tmp_path_factory.mktemp(request.param)
    train(compose_train(run_dir, [*SHORT, "trainer.max_steps=4", "callbacks.class_grid.every_n_batches=0", *extra]))
    return run_dir / "checkpoints" / "last.ckpt"


def fixed_inputs(latent_dim: int, batch: int):
    gen = torch.Generator().manual_seed(1)
    return torch.randn(batch, latent_dim, generator=gen), torch.arange(batch) % 10


def test_torchscript_export_draws_what_the_checkpoint_draws(checkpoint, tmp_path):
    from cgan.generation import load_generator

    out = tmp_path / "g.pt"
    code, stderr = run_cli(export_main, f"ckpt_path={checkpoint}", "format=torchscript", f"out={out}")
    assert code == 0, stderr
    extra = {"cgan.json": ""}
    loaded = torch.jit.load(str(out), _extra_files=extra)
    meta = json.loads(extra["cgan.json"])
    assert meta["class_names"] == [str(i) for i in range(10)] and meta["inputs"] == ["noise", "labels"]
    trained = load_generator(checkpoint)
    for batch in (1, 7):  # any batch size
        z, labels = fixed_inputs(meta["latent_dim"], batch)
        with torch.no_grad():
            assert torch.allclose(loaded(z, labels), trained.net(z, labels), atol=1e-5)


def test_pt2_export_loads_with_torch_export_and_draws_what_the_checkpoint_draws(checkpoint, tmp_path):
    from cgan.generation import load_generator

    out = tmp_path / "g.pt2"
    code, stderr = run_cli(export_main, f"ckpt_path={checkpoint}", "format=pt2", f"out={out}")
    assert code == 0, stderr
    extra = {"cgan.json": ""}
    loaded = torch.export.load(str(out), extra_files=extra).module()
    meta = json.loads(extra["cgan.json"])
    assert meta["inputs"] == ["noise", "labels"] and len(meta["class_names"]) == 10
    trained = load_generator(checkpoint)
    for batch in (1, 7):  # any batch size
        z, labels = fixed_inputs(meta["latent_dim"], batch)
        with torch.no_grad():
            assert torch.allclose(loaded(z, labels), trained.net(z, labels), atol=1e-5)


def test_onnx_export_runs_in_onnxruntime_like_the_checkpoint(checkpoint, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    from cgan.generation import load_generator

    out = tmp_path / "g.onnx"
    code, stderr = run_cli(export_main, f"ckpt_path={checkpoint}", "format=onnx", f"out={out}")
    assert code == 0, stderr
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(out)).metadata_props}
    session = ort.InferenceSession(str(out))
    trained = load_generator(checkpoint)
    for batch in (1, 7):
        z, labels = fixed_inputs(meta["latent_dim"], batch)
        images = session.run(["images"], {"noise": z.numpy(), "labels": labels.numpy()})[0]
        with torch.no_grad():
            assert torch.allclose(torch.from_numpy(images), trained.net(z, labels), atol=1e-4)


def test_a_wrong_export_format_is_one_sentence(trained_run, tmp_path):
    run_dir, _, _ = trained_run
    code, stderr = run_cli(export_main, f"ckpt_path={run_dir}/checkpoints/last.ckpt", "format=tflite")
    assert code == 2 and "format='tflite' is not one of torchscript, pt2, onnx" in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
@pytest.mark.parametrize("checkpoint", ["dcgan_ema"], indirect=True)  # one fresh interpreter: the harder case
def test_the_exported_file_needs_nothing_of_this_package(checkpoint, tmp_path):
    """docs/tools.md's ten lines, run in a fresh interpreter that cannot import cgan."""
    out = tmp_path / "g.pt2"
    assert run_cli(export_main, f"ckpt_path={checkpoint}", f"out={out}")[0] == 0  # the default format: pt2
    script = (ROOT / "docs" / "tools.md").read_text().split("<!-- export-example -->")[1].split("```python")[1].split("```")[0]
    script = script.replace("generator.pt2", str(out))
    done = subprocess.run([sys.executable, "-I", "-c", "import sys; sys.modules['cgan'] = None\n" + script],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "seven.png").is_file()
