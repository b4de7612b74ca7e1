"""``algebraic-nas build`` and ``algebraic-nas draw``."""

from __future__ import annotations

import json
import random

import pytest

from algebraic_nas.cli import main


def test_build_json_reports_params_flops_and_output_shape(capsys):
    assert main(["build", "toy", "Linear(conv, Residual(conv, id, fc), fc)", "--dataset", "digits", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # digits: 1×8×8, 10 classes. Stem Conv3×3(1→16)+BN, two ReLU-Conv3×3-BN, two fc (1×1 conv + bias), head
    expected = (9 * 16 + 32) + 2 * (16 * 16 * 9 + 32) + 2 * (16 * 16 + 16) + (32 + 16 * 10 + 10)
    assert out["params"] == expected and isinstance(out["params"], int)
    assert isinstance(out["flops"], int) and out["flops"] > 0
    assert out["output_shape"] == [1, 10]


def test_build_sizes_a_budget_term_by_its_budget(capsys):
    term = ("Budget(Linear5(WattsStrogatz(10, 4, 0.5, Linear3(relu, conv3x3, batch), wsum), nago_transition, "
            "WattsStrogatz(10, 4, 0.5, Linear3(relu, conv3x3, batch), wsum), nago_transition, "
            "WattsStrogatz(10, 4, 0.5, Linear3(relu, conv3x3, batch), wsum)))")
    assert main(["build", "rnag", term, "--dataset", "digits", "--json", "--seed", "3"]) == 0
    sized = json.loads(capsys.readouterr().out)
    assert 200_000 < sized["params"] <= 260_000  # the default budget of 8×8 inputs: 250 k (+ BN and head)
    assert main(["build", "rnag", term, "--dataset", "digits", "--json", "--budget", "60000"]) == 0
    small = json.loads(capsys.readouterr().out)
    assert small["base_channels"] < sized["base_channels"] and small["params"] < 65_000
    assert main(["build", "rnag", term, "--dataset", "digits", "--json", "--base-channels", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["base_channels"] == 4


def test_build_human_readable(capsys):
    assert main(["build", "toy", "Linear(conv, id, fc)", "--dataset", "cifar10"]) == 0
    text = capsys.readouterr().out
    assert "parameters:" in text and "FLOPs:" in text and "[2, 10]" in text


def test_build_errors(capsys):
    assert main(["build", "toy", "Linear(conv, id, fc)", "--dataset", "no-such-data"]) == 2
    assert "not a registered dataset" in capsys.readouterr().err
    assert main(["build", "toy", "Linear(conv, convx, fc)", "--dataset", "digits"]) == 1


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_draw_writes_png_and_svg(tmp_path, capsys, suffix, magic):
    from algebraic_nas.grammar import load_grammar

    term = str(load_grammar("hnb201").sample(random.Random(0)))
    path = tmp_path / f"net{suffix}"
    assert main(["draw", "hnb201", term, "-o", str(path)]) == 0
    assert path.read_bytes().startswith(magic)
    msg = capsys.readouterr().out
    # a 25-cell network is drawn with its cells as boxes by default
    assert "collapsed subterms: " in msg and " CL" in msg
    nodes = int(msg.split("(")[1].split()[0])
    assert nodes <= 60


def test_draw_level_and_bad_suffix(tmp_path, capsys):
    assert main(["draw", "toy", "Residual(conv, id, fc)", "-o", str(tmp_path / "a.svg"), "--level", "0"]) == 0
    assert "fold level 0" in capsys.readouterr().out
    assert main(["draw", "toy", "Residual(conv, id, fc)", "-o", str(tmp_path / "a.jpg")]) == 2
