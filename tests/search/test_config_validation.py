"""Every configuration mistake fails before the run directory exists, with one line naming the key
and what is accepted (issue 15): a table with one row per mistake, run through ``run_search``; the
command line prints it as ``error: ...`` and exits with status 2 without a traceback, also for the
errors Hydra itself raises while composing (unknown key, mistyped value, unknown option); a fuzz test
over the numeric settings; a space that cannot be built fails before any evaluation (issue 10)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.runner import protocol_spec, run_search
from algebraic_nas.search.config import check_config

HERE = Path(__file__).parent
TINY = str(HERE / "tiny.ebnf")
VALID = {
    "grammar": {"name": TINY}, "dataset": {"name": "digits", "data_root": None}, "protocol": {"name": "tiny"},
    "strategy": {"name": "random", "batch_size": 1}, "executor": {"kind": "auto"},
    "budget": {"evaluations": 1, "wall_time_s": None}, "seed": 0, "n_workers": 1, "device": "cpu",
    "progress": "none", "report": False,
}
UNBUILDABLE = "NET ::= Linear2(OP, OP)\nOP  ::= mystery_op | other_mystery\n"
SYNTAX_ERROR = "NET ::= Linear2(OP, OP\n"


def signature_mismatch(term):  # an evaluation function that lacks the documented arguments
    return {}


NOT_CALLABLE = 3


def with_(**changes) -> dict:
    """VALID with ``{"a.b": value}`` changes (``"a.b"`` sets key b of group a)."""
    c = copy.deepcopy(VALID)
    for dotted, value in changes.items():
        node = c
        *path, last = dotted.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return c


# (changes, the start of the one-line message)
MISTAKES = [
    # a registered name names its key first (issue 23.13: was "unknown strategy 'nope' (strategy.name)")
    ({"strategy.name": "nope"}, "strategy.name='nope': not a registered strategy; known: banat, banat_wl"),
    ({"dataset.name": "nope"}, "dataset.name='nope': not a registered dataset; known: addnist, cifar10"),
    ({"executor.kind": "nope"}, "executor.kind='nope': not a registered executor; known: auto, dask"),
    ({"logger": "tb"}, "logger='tb': must be one of none, tensorboard"),  # was found after the run dir existed
    ({"report_html_every": -1}, "report_html_every=-1: must be an integer >= 0"),
    ({"budget.evaluations": 0}, "budget.evaluations=0: must be an integer >= 1 or null"),
    ({"budget.evaluations": -3}, "budget.evaluations=-3: must be an integer >= 1"),
    ({"budget.evaluations": 2.5}, "budget.evaluations=2.5: must be an integer >= 1"),
    ({"budget.wall_time_s": 0}, "budget.wall_time_s=0: must be a number of seconds > 0 or null"),
    ({"budget.wall_time_s": float("nan")}, "budget.wall_time_s=nan: must be a number of seconds > 0"),
    ({"budget.evaluations": None}, "budget: set budget.evaluations"),
    ({"n_workers": 0}, "n_workers=0: must be an integer >= 1 (0, as many as the scheduler has, only with"),
    ({"n_workers": -1}, "n_workers=-1: must be an integer >= 1"),
    ({"n_workers": 2, "executor.kind": "inprocess"}, "n_workers=2: must be 1 with executor=inprocess"),
    ({"executor.kind": "dask"}, "executor.address=None: executor=dask needs the scheduler's address"),
    ({"executor.threads": 0}, "executor.threads=0: must be an integer >= 1 or null"),
    ({"executor.threads": 2, "protocol.cpu_threads": 3}, "executor.threads=2: disagrees with protocol.cpu_threads=3"),
    ({"strategy.batch_size": 0}, "strategy.batch_size=0: must be an integer >= 1"),
    ({"device": "gpu"}, "device='gpu': must be auto, cpu, cuda or cuda:N"),
    ({"device": "cuda:x"}, "device='cuda:x': must be auto, cpu, cuda or cuda:N"),
    ({"device": "cuda:99"}, "device='cuda:99': this machine has"),
    ({"progress": "off"}, "progress='off': must be one of auto, bar, log, none"),
    ({"seed": "x"}, "seed='x': must be an integer"),
    ({"eval_seed": 1.5}, "eval_seed=1.5: must be an integer or null"),
    ({"propose_ahead": "yes"}, "propose_ahead='yes': must be true, false or null"),
    ({"evaluation_function": "no_such_module_xyz:evaluate"}, "evaluation_function='no_such_module_xyz:evaluate': "
                                                             "cannot be imported (ModuleNotFoundError"),
    ({"evaluation_function": "algebraic_nas.evaluation:no_such_function"}, "evaluation_function="
                                                                           "'algebraic_nas.evaluation:no_such_function': "
                                                                           "cannot be imported (AttributeError"),
    ({"evaluation_function": f"{__name__}:NOT_CALLABLE"}, f"evaluation_function='{__name__}:NOT_CALLABLE': is a int"),
    ({"evaluation_function": f"{__name__}:signature_mismatch"},
     f"evaluation_function='{__name__}:signature_mismatch': has the signature (term)"),
    ({"protocol.epochs": 0}, "protocol.epochs=0: must be an integer >= 1"),
    ({"protocol.lr": 0.0}, "protocol.lr=0.0: must be a number > 0"),
    ({"protocol.lr": float("inf")}, "protocol.lr=inf: must be a number > 0"),
    ({"protocol.momentum": 1.5}, "protocol.momentum=1.5: must be a number in [0, 1)"),
    ({"protocol.weight_decay": -1e-4}, "protocol.weight_decay=-0.0001: must be a number >= 0"),
    ({"protocol.batch_size": 0}, "protocol.batch_size=0: must be an integer >= 1"),
    ({"protocol.min_lr": 1.0}, "protocol.min_lr=1.0: must be <= protocol.lr (0.1)"),
    ({"protocol.optimizer": "adam"}, "protocol.optimizer='adam': must be one of sgd, adamw"),
    ({"protocol.schedule": "linear"}, "protocol.schedule='linear': must be one of cosine, constant"),
    ({"protocol.grad_clip": 0.0}, "protocol.grad_clip=0.0: must be a number > 0 or null (no clipping)"),
    ({"protocol.label_smoothing": 1.0}, "protocol.label_smoothing=1.0: must be a number in [0, 1)"),
    ({"protocol.progress": "off"}, "protocol.progress='off': must be one of auto, bar, log, none"),
    ({"protocol.cpu_threads": 0}, "protocol.cpu_threads=0: must be an integer >= 1 or null"),
    ({"dataset.name": "cifar10", "dataset.data_root": "{tmp}/no_data"}, "dataset.name='cifar10': dataset 'cifar10': "
                                                                         "expected file 'data_batch_1'"),
    ({"grammar.name": "no_such_grammar"}, "grammar.name='no_such_grammar': no_such_grammar: no grammar file"),
    ({"grammar.name": ""}, "grammar.name='': must be a shipped grammar name or the path of an .ebnf file"),
    ({"grammar.name": "{tmp}/syntax.ebnf"}, "grammar.name='{tmp}/syntax.ebnf': {tmp}/syntax.ebnf:"),
    ({"grammar.name": "{tmp}/unbuildable.ebnf"}, "grammar.name='{tmp}/unbuildable.ebnf': grammar 'unbuildable' cannot "
                                                 "be built for dataset 'digits': {tmp}/unbuildable.ebnf:2:9: unknown primitive mystery_op"),
]


def _fill(value, tmp: Path):
    return value.replace("{tmp}", str(tmp)) if isinstance(value, str) else value


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "unbuildable.ebnf").write_text(UNBUILDABLE)
    (tmp_path / "syntax.ebnf").write_text(SYNTAX_ERROR)
    return tmp_path


@pytest.mark.parametrize("changes, message", MISTAKES, ids=[" ".join(f"{k}={v}" for k, v in c.items()) for c, _ in MISTAKES])
def test_each_mistake_fails_before_the_run_directory_exists(files: Path, changes: dict, message: str) -> None:
    cfg = with_(**{k: _fill(v, files) for k, v in changes.items()})
    run_dir = files / "run"
    with pytest.raises(ConfigError) as info:
        run_search(cfg, run_dir)
    text = str(info.value)
    assert text.startswith(_fill(message, files)), text
    assert "\n" not in text
    assert not run_dir.exists()


def test_the_valid_config_passes_and_returns_the_resolved_run_config() -> None:
    assert check_config(VALID).grammar.name == "tiny"
    # documented meaning of 0 workers: as many as an existing scheduler has (its GPUs are not checked here)
    check_config(with_(**{"n_workers": 0, "executor.kind": "dask", "executor.address": "tcp://nowhere:1",
                          "device": "cuda:7"}))


def test_an_unbuildable_space_stops_the_search_before_any_evaluation(files: Path) -> None:
    """Issue 10: not a whole budget of failed evaluations and exit 0."""
    cfg = with_(**{"grammar.name": str(files / "unbuildable.ebnf"), "budget.evaluations": 5})
    with pytest.raises(ConfigError, match=r"unbuildable\.ebnf:2:9: unknown primitive mystery_op"):
        run_search(cfg, files / "run")
    assert not (files / "run").exists()


def test_executor_threads_become_the_protocols_cpu_threads() -> None:
    assert "cpu_threads" not in protocol_spec({"name": "quick", "epochs": None})  # evaluate's default: one
    assert protocol_spec({"name": "quick"}, threads=2)["cpu_threads"] == 2
    assert protocol_spec({"name": "quick", "cpu_threads": 2}, threads=2)["cpu_threads"] == 2


NUMBERS = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["", "x", "1"]))
KEYS = ["budget.evaluations", "budget.wall_time_s", "n_workers", "executor.threads", "strategy.batch_size", "seed",
        "eval_seed", "protocol.epochs", "protocol.lr", "protocol.momentum", "protocol.batch_size", "protocol.min_lr",
        "protocol.grad_clip", "protocol.label_smoothing", "protocol.cpu_threads", "protocol.crop_padding"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(KEYS), value=NUMBERS)
def test_any_value_of_a_numeric_setting_passes_or_fails_naming_its_key(key: str, value) -> None:
    try:
        check_config(with_(**{key: value}))
    except ConfigError as exc:
        text = str(exc)
        assert "\n" not in text
        assert text.startswith((f"{key}=", "budget: ", "protocol: ")), text


def _cli(*overrides: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "algebraic_nas.search", *overrides], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_the_command_line_prints_one_line_and_exits_2_before_writing_anything(tmp_path: Path) -> None:
    for overrides, key in ((["budget.evaluations=0"], "budget.evaluations=0"), (["progress=off"], "progress='off'"),
                           (["device=gpu"], "device='gpu'"), (["grammar=custom"], "grammar.name=''")):
        out = _cli(*overrides, f"run_dir={tmp_path / 'run'}", cwd=tmp_path)
        assert out.returncode == 2, out.stderr
        assert out.stderr.strip().splitlines() == [out.stderr.strip()] and out.stderr.startswith(f"error: {key}: ")
        assert "Traceback" not in out.stderr
        assert not (tmp_path / "run").exists() and not (tmp_path / "outputs").exists()


# Hydra's own composition errors (issue 15): (override, the start of the one-line message)
HYDRA_MISTAKES = [
    ("strategy.kernl=wl", "strategy.kernl=wl: no key strategy.kernl; the keys of strategy are name, batch_size, kernel"),
    ("budgets.evaluations=3", "budgets.evaluations=3: no key budgets; the top-level keys are grammar, dataset,"),
    ("hydra.job.nam=x", "hydra.job.nam=x: no key hydra.job.nam; the keys of hydra.job are name,"),
    ("seed=x", "seed='x': must be an integer"),
    ("n_workers=two", "n_workers='two': must be an integer"),
    ("seed=", "seed='': must be an integer"),
    ("budget.evaluations=x", "budget.evaluations='x': must be an integer or null"),
    ("report=maybe", "report='maybe': must be true or false"),
    ("strategy=bogus", "strategy=bogus: unknown option; must be one of banat, banat_wl, bohb, evolution, hyperband, mo_banat, mo_evolution, mo_random, random"),
    ("dataset=nope", "dataset=nope: unknown option; must be one of addnist, cifar10,"),
    ("budget.evaluations=[1", "budget.evaluations=[1: not an override KEY=VALUE (no viable alternative"),
    ("seed=1,2", "seed=1,2: ambiguous value; write a list as [a,b]"),
]


@pytest.mark.parametrize("override, message", HYDRA_MISTAKES, ids=[o for o, _ in HYDRA_MISTAKES])
def test_hydras_composition_errors_are_one_line_and_exit_2(tmp_path: Path, override: str, message: str) -> None:
    out = _cli(override, f"run_dir={tmp_path / 'run'}", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.stderr.startswith(f"error: {message}"), out.stderr
    assert "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []  # no run directory, no outputs/


# with -m every swept value is composed once before anything runs: (arguments, start of the message)
MULTIRUN_MISTAKES = [
    (["-m", "strategy=random,bogus"], "strategy=bogus: unknown option; must be one of banat,"),
    (["-m", "seed=1,x"], "seed='x': must be an integer"),
    (["-m", "n_workers=range(1,3)", "protocol.epochs=x"], "protocol.epochs='x': must be an integer or null"),
    (["-m", "strategy=glob(r*)", "seed=x"], "seed='x': must be an integer"),
    (["--cfg", "job", "-m", "seed=1,2"], "-m and --cfg: only one of --run, -m, --cfg, --info"),
]


@pytest.mark.parametrize("args, message", MULTIRUN_MISTAKES, ids=[" ".join(a) for a, _ in MULTIRUN_MISTAKES])
def test_multirun_mistakes_are_one_line_and_exit_2(tmp_path: Path, args: list, message: str) -> None:
    out = _cli(*args, f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith(f"error: {message}"), out.stderr
    assert list(tmp_path.iterdir()) == []


def test_hydra_overrides_and_cfg_still_work_after_the_check(tmp_path: Path) -> None:
    out = _cli("--cfg", "job", "seed=3", "hydra.job.name=other", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "seed: 3" in out.stdout


def test_help_lists_the_groups_a_user_picks_and_no_internal_schema(tmp_path: Path) -> None:
    out = _cli("--help", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "strategy: banat" in out.stdout and "dataset: " in out.stdout
    assert "schema" not in out.stdout


def test_every_shipped_grammar_is_a_grammar_option():
    """`grammar=NAME` selects any shipped grammar (the group is generated from the shipped files);
    `grammar=custom grammar.name=PATH` stays the way to a user's own file."""
    from hydra import compose, initialize_config_module

    from algebraic_nas.grammar import shipped_grammars
    from algebraic_nas.search.config import register_configs

    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        for name in shipped_grammars():
            assert compose("search", overrides=[f"grammar={name}"]).grammar.name == name
        assert compose("search").grammar.name == "hnb201"
        assert compose("search", overrides=["grammar=custom", "grammar.name=/x.ebnf"]).grammar.name == "/x.ebnf"


def test_help_describes_each_key_from_the_config_dataclasses(tmp_path: Path) -> None:
    """Issue 23.10: ``--help`` says what each key means (the descriptions come from the docstrings
    of SearchConf, the group schemas, Protocol and the selected strategy's and executor's configs)."""
    out = _cli("--help", "strategy=random", "executor=local", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for start, meaning in (("seed: 0", "the strategy's random numbers"), ("  evaluations: 30", "finished evaluations"),
                           ("  epochs: null", "passes over the training split"), ("n_workers: 1", "evaluations at a time"),
                           ("  lr: null", "the peak learning rate"), ("  threads: null", "torch threads per evaluation")):
        line = next((x for x in lines if x.startswith(start + "  # ")), None)
        assert line is not None and meaning in line, (start, line)
    assert "# budget: when the search stops" in lines
    assert list(tmp_path.iterdir()) == []


def test_a_resolved_run_config_is_used_as_is(tmp_path: Path, monkeypatch, caplog) -> None:
    """Issue 20: ``check_config`` resolves the config once into a RunConfig; ``run_search`` given
    one does not check or resolve again. Issue 23.4: relaunching a finished run logs no
    "search overhead 100.0 %" for its empty session, and logs the run's figure (summary.json's)."""
    import logging

    import algebraic_nas.search.runner as runner
    from algebraic_nas.search.config.run_config import RunConfig
    from algebraic_nas.search.overhead import META_KEY, format_fraction, run_overhead
    from algebraic_nas.search.store import Store

    rc = check_config(VALID)
    assert isinstance(rc, RunConfig) and rc.strategy.name == "random" and rc.objectives == ("valid_error",)
    assert rc.task.seed == rc.network_seed == 0 and rc.task.threads == 1 and rc.budget.evaluations == 1

    def checked_again(*args, **kwargs):
        raise AssertionError("run_search checked the config again")

    monkeypatch.setattr(runner, "check_config", checked_again)
    run_search(rc, tmp_path / "run")
    with caplog.at_level(logging.INFO, logger="algebraic_nas.search"):
        run_search(rc, tmp_path / "run")  # the budget is spent: nothing to evaluate
    with Store(tmp_path / "run", readonly=True) as store:
        figure = format_fraction(run_overhead(store.get_meta(META_KEY))["overhead"])
    assert "search overhead: no evaluation finished in this session" in caplog.text
    assert "search overhead 100.0 %" not in caplog.text
    assert f"search overhead of the run (2 sessions): {figure}" in caplog.text


def test_ctrl_c_stops_cleanly_and_prints_the_command_that_resumes(tmp_path: Path) -> None:
    """Issue 23.4: SIGINT during a search: no traceback, the finished evaluations kept, exit status
    130, and the printed command resumes the run."""
    import shlex
    import signal
    import time

    from algebraic_nas.search.store import Store

    run_dir = tmp_path / "run"
    args = [f"grammar.name={TINY}", "protocol=tiny", "strategy=random", "device=cpu", "progress=log", "report=false",
            "budget.evaluations=50", f"run_dir={run_dir}"]
    proc = subprocess.Popen([sys.executable, "-m", "algebraic_nas.search", *args], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not ((run_dir / "search.log").exists()
                                               and " 1/50 done" in (run_dir / "search.log").read_text()):
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    command = err.strip().splitlines()[-1].strip()
    assert "resume with" in err and command.endswith(f"run_dir={run_dir.resolve()}"), err
    with Store(run_dir, readonly=True) as store:
        done = len(store.rows(status=("done",)))
    assert done >= 1
    again = subprocess.run(shlex.split(command) + [f"budget.evaluations={done + 1}"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    with Store(run_dir, readonly=True) as store:
        assert len(store.rows(status=("done", "failed"))) == done + 1


def test_a_constraint_hooks_error_is_printed_once(tmp_path: Path) -> None:
    """Issue 23.13: the grammar is loaded once per run (the pre-run check's RunConfig is the run's),
    so a %constraint hook that raises is reported once, not again by a second check."""
    import os

    (tmp_path / "flaky_hook.py").write_text(
        "import itertools\nfrom algebraic_nas.grammar import register_constraint\n_calls = itertools.count()\n\n"
        "@register_constraint('flaky')\ndef flaky(term):\n    if next(_calls) % 2 == 0:\n"
        "        raise RuntimeError('boom')\n    return True\n")
    (tmp_path / "hooked.ebnf").write_text("%constraint flaky\n" + Path(TINY).read_text())
    env = dict(os.environ, PYTHONPATH=str(tmp_path), ALGEBRAIC_NAS_PLUGINS="flaky_hook")
    out = subprocess.run([sys.executable, "-m", "algebraic_nas.search", f"grammar.name={tmp_path / 'hooked.ebnf'}",
                          "protocol=tiny", "strategy=random", "budget.evaluations=1", "device=cpu", "report=false",
                          f"run_dir={tmp_path / 'run'}"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert (out.stdout + out.stderr).count("%constraint flaky raised RuntimeError: boom") == 1, out.stdout + out.stderr
