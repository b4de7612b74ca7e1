"""Export of a found architecture (issue 14): the file imports only torch and, loaded in a fresh
interpreter where algebraic_nas cannot be imported, gives the framework network's outputs exactly."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from algebraic_nas.assembly import InputSpec, build_network
from algebraic_nas.cli import main
from algebraic_nas.grammar import load_grammar
from algebraic_nas.grammar.loading import shipped_grammars
from algebraic_nas.interop import convert
from algebraic_nas.interop.export import MODULE_FILE, WEIGHTS_FILE, export_term
from algebraic_nas.interop.export_source import ExportError, network_source
from algebraic_nas.threads import torch_threads

SPEC = InputSpec(3, 32, 10)

# Run in a fresh interpreter (-I): drop every sys.path entry holding algebraic_nas (the editable
# install's), check that it cannot be imported, then load the exported file and its weights.
FRESH = textwrap.dedent("""
    import os, sys
    sys.path[:] = [p for p in sys.path if not os.path.isdir(os.path.join(p or ".", "algebraic_nas"))]
    try:
        import algebraic_nas
    except ImportError:
        pass
    else:
        raise SystemExit("algebraic_nas is importable")
    import torch
    torch.set_num_threads(1)
    data = sys.argv[1]
    for out_dir in sys.argv[2:]:
        sys.path.insert(0, out_dir)
        before = set(sys.modules)
        from network import Network
        print(sorted({m.split(".")[0] for m in set(sys.modules) - before} - {"network"}))
        net = Network()
        net.load_state_dict(torch.load(os.path.join(out_dir, "weights.pt"), weights_only=True))
        net.eval()
        with torch.no_grad():
            torch.save(net(torch.load(data, weights_only=True)), os.path.join(out_dir, "out.pt"))
        del sys.modules["network"], sys.path[0]
""")


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread, as in the fresh interpreter: the same kernels give the same bits."""
    with torch_threads(1):
        yield


def trained_like(net: torch.nn.Module) -> torch.nn.Module:
    """Move weights and BN statistics away from their initial values (as training would)."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
        net.train()
        net(torch.randn(8, 3, 32, 32, generator=gen))  # BN running statistics
    return net.eval()


def assert_exported_equal(out_dir, net: torch.nn.Module, name: str) -> None:
    """The network exported to ``out_dir``, loaded in this process, gives ``net``'s outputs exactly."""
    spec = importlib.util.spec_from_file_location(name, out_dir / MODULE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exported = module.Network()
    exported.load_state_dict(torch.load(out_dir / WEIGHTS_FILE, weights_only=True))
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(exported.eval()(x), net.eval()(x))


def run_fresh(out_dirs: list, x: torch.Tensor, tmp_path) -> list[torch.Tensor]:
    """Outputs on ``x`` of the networks exported to ``out_dirs``, computed in one fresh interpreter."""
    data = str(tmp_path / "x.pt")
    torch.save(x, data)
    script = tmp_path / "load.py"
    script.write_text(FRESH)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-I", str(script), data, *map(str, out_dirs)], capture_output=True,
                          text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["[]"] * len(out_dirs)  # each file imported nothing beyond torch
    return [torch.load(os.path.join(d, "out.pt"), weights_only=True) for d in out_dirs]


def test_exported_files_reproduce_the_networks_in_a_fresh_interpreter(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    dirs, want = [], []
    # nb201_cell: conv1x1 (2,3) and conv3x3 (2,4) behind the none edge (1,2), fed by a Zero module
    dead = convert("nb201", "|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    for grammar, text in (("hnb201", None), ("nb201_cell", dead), ("darts", None)):
        g = load_grammar(grammar)
        term = g.parse(text) if text else g.sample(0)
        net = trained_like(build_network(term, SPEC, prune=g.prune))
        result = export_term(grammar, str(term), tmp_path / grammar, spec=SPEC, dataset="cifar10",
                             state_dict=net.state_dict())
        source = open(result.module_file, encoding="utf-8").read()
        assert [line for line in source.splitlines() if line.startswith(("import", "from"))] == [
            "from __future__ import annotations", "import torch", "from torch import nn",
            "from torch.nn import functional as F  # noqa: F401"]
        assert str(term)[:60] in source and "def forward(self, x: torch.Tensor)" in source
        if grammar == "nb201_cell":
            assert sum(type(m).__name__ == "Zero" for m in net.modules()) == 15 and "class Zero(Block)" in source
        dirs.append(tmp_path / grammar)
        with torch.no_grad():
            want.append(net(x))
    for got, expected in zip(run_fresh(dirs, x, tmp_path), want):
        assert torch.equal(got, expected)


def test_darts_export_leaves_out_the_auxiliary_head():
    from algebraic_nas.assembly.darts_network import build_darts_network
    from algebraic_nas.interop.export_source import export_state_dict

    term = load_grammar("darts").sample(2)
    net = build_darts_network(term, SPEC, auxiliary=True)
    weights = export_state_dict(net)
    assert not any(".head." in k for k in weights) and any(k.startswith("op") for k in weights)
    assert sum(v.numel() for k, v in weights.items() if "running" not in k and "num_batches" not in k) == \
           sum(p.numel() for p in net.parameters()) - sum(p.numel() for p in net.tap.head.parameters())
    assert "nn.Identity()  # darts_aux_tap" in network_source(net)


def test_weights_trained_with_the_auxiliary_head_export(tmp_path):
    """A checkpoint of a DARTS network trained with protocol.auxiliary_weight holds the head's
    weights: the export takes the state dict, leaves the head out and keeps the outputs."""
    from algebraic_nas.assembly.darts_network import build_darts_network

    term = load_grammar("darts").sample(2)
    torch.manual_seed(0)
    net = trained_like(build_darts_network(term, SPEC, auxiliary=True))
    result = export_term("darts", str(term), tmp_path, spec=SPEC, state_dict=net.state_dict())
    assert result.weights_from == "state_dict"
    assert_exported_equal(tmp_path, net, "exported_aux")


def test_cli_exports_a_term_with_a_weights_file_and_a_program(tmp_path, capsys):
    g = load_grammar("toy")  # small: torch.export traces the whole network
    term = "Linear(conv, Residual(conv, id, conv), fc)"
    torch.manual_seed(0)
    net = trained_like(build_network(g.parse(term), SPEC, prune=g.prune))
    torch.save(net.state_dict(), tmp_path / "w.pt")
    (tmp_path / "term.txt").write_text(term)
    out = tmp_path / "exported"
    cmd = [sys.executable, "-m", "algebraic_nas", "export", "toy", f"@{tmp_path / 'term.txt'}",
           "--weights", str(tmp_path / "w.pt"), "--dataset", "cifar10", "-o", str(out), "--program"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert set(os.listdir(out)) == {MODULE_FILE, "network.pt2", WEIGHTS_FILE}
    x = torch.randn(2, 3, 32, 32)
    program = torch.export.load(str(out / "network.pt2")).module()
    with torch.no_grad():
        assert torch.allclose(program(x), net(x), atol=1e-5)
    assert main(["export", "hnb201", term, "-o", str(out)]) == 1  # an invalid term
    assert "not a term of D2" in capsys.readouterr().err


def test_modules_that_cannot_be_written_are_named():
    import math

    from torch import nn

    class Odd(nn.Module):
        def forward(self, x):
            return x * math.pi

    net = build_network(load_grammar("toy").parse("Linear(conv, id, fc)"), SPEC)
    net.body.ops[0] = Odd()
    with pytest.raises(ExportError, match="Odd.*uses 'math'"):
        network_source(net)
    with pytest.raises(ExportError, match="only networks built by build_network"):
        network_source(nn.Linear(2, 2))


def test_export_errors_say_what_to_fix(tmp_path, capsys):
    term = "Linear(conv, id, fc)"  # each error exits with 2 and says what to fix
    assert main(["export", "toy"]) == 2  # a grammar without its term
    assert "toy is a grammar: give the term to export after it" in capsys.readouterr().err
    out = ["-o", str(tmp_path / "out")]
    assert main(["export", "toy", term, "--weights", str(tmp_path / "none.pt"), *out]) == 2
    assert "--weights" in capsys.readouterr().err
    (tmp_path / "text.pt").write_text("not weights")
    assert main(["export", "toy", term, "--weights", str(tmp_path / "text.pt"), *out]) == 2
    assert "not a state dict or checkpoint" in capsys.readouterr().err
    digits = build_network(load_grammar("toy").parse(term), InputSpec(1, 8, 10))  # trained on another dataset
    torch.save(digits.state_dict(), tmp_path / "digits.pt")
    assert main(["export", "toy", term, "--weights", str(tmp_path / "digits.pt"), "--dataset", "cifar10", *out]) == 2
    err = capsys.readouterr().err
    assert "size mismatch for stem" in err and "is it the dataset they were trained on?" in err


@pytest.mark.parametrize("grammar", shipped_grammars())
def test_a_sample_of_every_shipped_grammar_exports_exactly(grammar, tmp_path):
    """The README's "samples of every shipped grammar export" (loaded in this process; the fresh
    interpreter is the first test's)."""
    g = load_grammar(grammar)
    term = g.sample(1)  # seed 1: a small nago_hnag network (seed 0's has 1,629 operations)
    torch.manual_seed(0)
    net = trained_like(build_network(term, SPEC, prune=g.prune))
    export_term(grammar, str(term), tmp_path, spec=SPEC, dataset="cifar10", state_dict=net.state_dict())
    assert_exported_equal(tmp_path, net, f"exported_{grammar}")


def test_preprocessing_travels_with_the_file_and_the_program(tmp_path):
    """Issue 23.1: with the dataset's normalisation the exported file and program take raw
    images (uint8 pixels or [0, 1] floats) and give the framework network's outputs on the
    normalised ones; ``Network(preprocess=False)`` is the bare network."""
    from algebraic_nas.interop.export import dataset_normalisation

    spec = InputSpec(1, 8, 10)
    mean, std = dataset_normalisation("digits")  # the embedded digits: training split statistics
    assert dataset_normalisation("digits", "cvprnas") == ((0.0,), (1.0,))  # a protocol without normalisation
    term = "Linear(conv, Residual(conv, id, conv), fc)"
    torch.manual_seed(0)
    net = build_network(load_grammar("toy").parse(term), spec).eval()
    result = export_term("toy", term, tmp_path, spec=spec, dataset="digits", state_dict=net.state_dict(),
                         program=True, preprocess=(mean, std))
    module_spec = importlib.util.spec_from_file_location("exported_pre", result.module_file)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    raw = torch.randint(0, 256, (4, 1, 8, 8), generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    unit = raw.float() / 255.0
    with torch.no_grad():
        want = net((unit - mean[0]) / std[0])
        for pre, x in ((True, raw), (True, unit), (False, (unit - mean[0]) / std[0])):
            exported = module.Network(preprocess=pre)
            exported.load_state_dict(torch.load(result.weights_file, weights_only=True))
            assert torch.allclose(exported.eval()(x), want, atol=1e-6)
        program = torch.export.load(result.program_file).module()
        assert torch.allclose(program(unit), want, atol=1e-5)
