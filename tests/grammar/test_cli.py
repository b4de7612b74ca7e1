"""The algebraic-nas console script: info, sample, check (in-process and as python -m)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from algebraic_nas.cli import main
from algebraic_nas.grammar import load_grammar


def run(capsys, *argv, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_info_json(capsys):
    code, out, _ = run(capsys, "info", "hnb201", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["size"] == load_grammar("hnb201").size()
    assert info["start"] == "D2" and "OP" in info["nonterminals"]
    assert 375 < info["log10_size"] < 376


def test_info_json_infinite(capsys):
    code, out, _ = run(capsys, "info", "rnag", "--json")
    info = json.loads(out)
    assert code == 0 and info["size"] is None and info["infinite"]


def test_info_text_mentions_ignored_constraints(capsys, tmp_path):
    from algebraic_nas.grammar import register_constraint

    register_constraint("cli_test_constraint")(lambda t: True)
    p = tmp_path / "g.ebnf"
    p.write_text("%constraint cli_test_constraint\nS ::= Op(A, A)\nA ::= a | b [0.7]\n")
    code, out, _ = run(capsys, "info", str(p))
    assert code == 0
    assert "size         4" in out and "ignores the Python constraints cli_test_constraint" in out
    assert "[0.7]" in out


def test_sample_is_reproducible_and_parses(capsys):
    code, out, _ = run(capsys, "sample", "hnb201", "-n", "3", "--seed", "5")
    assert code == 0
    lines = out.strip().split("\n")
    assert len(lines) == 3
    g = load_grammar("hnb201")
    for line in lines:
        g.parse(line)
    assert run(capsys, "sample", "hnb201", "-n", "3", "--seed", "5")[1] == out


def test_check_argument_file_and_stdin(capsys, tmp_path, monkeypatch):
    term = str(load_grammar("hnb201").sample(0))
    assert run(capsys, "check", "hnb201", term)[0] == 0
    f = tmp_path / "t.txt"
    f.write_text(term + "\n")
    assert run(capsys, "check", "hnb201", f"@{f}")[0] == 0
    assert run(capsys, "check", "hnb201", "-", stdin=term, monkeypatch=monkeypatch)[0] == 0


def test_a_missing_term_file_names_the_file(capsys, tmp_path):
    missing = tmp_path / "nope.txt"
    code, _, err = run(capsys, "check", "hnb201", f"@{missing}")
    assert code == 2 and str(missing) in err and "@FILE" in err and "Traceback" not in err


def test_check_invalid_term_exits_1_with_position(capsys):
    code, out, err = run(capsys, "check", "toy", "Linear(conv, id, foo)")
    assert code == 1
    assert "position 17" in err and "foo" in err


def test_grammar_error_exits_2(capsys, tmp_path):
    p = tmp_path / "bad.ebnf"
    p.write_text("S ::= Op(A)\n")
    code, _, err = run(capsys, "info", str(p))
    assert code == 2 and "bad.ebnf:1:10" in err and "undefined nonterminal A" in err
    assert run(capsys, "info", "no_such_grammar")[0] == 2


def test_python_dash_m():
    r = subprocess.run([sys.executable, "-m", "algebraic_nas", "sample", "toy", "-n", "2", "--seed", "0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and len(r.stdout.strip().split("\n")) == 2
    r = subprocess.run([sys.executable, "-m", "algebraic_nas", "check", "toy", "Linear(conv)"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "position 0" in r.stderr


def test_grammar_commands_do_not_import_torch():
    code = ("import sys; from algebraic_nas.cli import main; main(['info', 'hnb201', '--json']); "
            "main(['sample', 'toy']); assert 'torch' not in sys.modules, 'torch imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("info", "sample", "check"):
        assert name in out
