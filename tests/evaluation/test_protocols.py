"""The protocol presets match the papers' settings (NAS-Bench-201, CVPR-NAS 2021); overrides replace fields; the
schedules behave; one rule table checks every field (Protocol and the search alike)."""

from __future__ import annotations

import re

import pytest

from algebraic_nas.evaluation import PROTOCOLS, Protocol, get_protocol
from algebraic_nas.evaluation.protocols import PROTOCOL_RULES
from algebraic_nas.evaluation.trainer import learning_rate


def test_nb201_preset() -> None:
    p = get_protocol("nb201")
    assert (p.optimizer, p.lr, p.momentum, p.nesterov, p.weight_decay) == ("sgd", 0.1, 0.9, True, 5e-4)
    assert (p.schedule, p.schedule_step, p.min_lr) == ("cosine", "iteration", 0.0)
    assert (p.batch_size, p.epochs) == (256, 200)
    assert p.flip and p.normalize
    assert p.crop_padding_for(32) == 4 and p.crop_padding_for(16) == 2


def test_cvprnas_preset() -> None:
    p = get_protocol("cvprnas")
    assert (p.optimizer, p.lr, p.momentum, p.nesterov, p.weight_decay) == ("sgd", 0.01, 0.9, False, 3e-4)
    assert (p.schedule, p.schedule_step) == ("cosine", "epoch")
    assert (p.batch_size, p.epochs) == (64, 64)
    assert not p.flip and p.crop_padding_for(28) == 0 and p.crop_padding_for(64) == 0


def test_overrides_and_forms() -> None:
    p = get_protocol("nb201", epochs=12, batch_size=128, bf16=True)
    assert (p.name, p.epochs, p.batch_size, p.bf16, p.lr) == ("nb201", 12, 128, True, 0.1)
    assert PROTOCOLS["nb201"].epochs == 200  # presets are not modified
    assert get_protocol({"name": "quick", "epochs": 2}).epochs == 2
    assert get_protocol({"name": "mine", "lr": 0.3}).lr == 0.3  # a custom name starts from the defaults
    assert get_protocol(p) is p
    with pytest.raises(ValueError, match="unknown protocol field.*'epoch'"):
        get_protocol("quick", epoch=3)
    with pytest.raises(ValueError, match="protocol.name='fast': not a registered protocol; known:.*nb201"):
        get_protocol("fast")
    with pytest.raises(ValueError, match="schedule_step"):
        get_protocol("quick", schedule_step="batch")
    with pytest.raises(ValueError, match="batch_size"):
        Protocol(batch_size=0)


def test_cosine_per_iteration_changes_every_step() -> None:
    p = get_protocol("nb201", epochs=2)
    steps = 10
    lrs = [learning_rate(p, s, steps) for s in range(2 * steps)]
    assert lrs[0] == pytest.approx(0.1)
    assert all(a > b for a, b in zip(lrs, lrs[1:]))
    assert lrs[steps] == pytest.approx(0.05)  # half-way through the run
    assert learning_rate(p, 2 * steps, steps) == pytest.approx(0.0, abs=1e-12)


def test_cosine_per_epoch_is_constant_within_an_epoch() -> None:
    p = get_protocol("cvprnas", epochs=4)
    steps = 5
    lrs = [learning_rate(p, s, steps) for s in range(4 * steps)]
    for e in range(4):
        assert len(set(lrs[e * steps:(e + 1) * steps])) == 1
    assert lrs[0] == pytest.approx(0.01) and lrs[2 * steps] == pytest.approx(0.005)
    assert lrs[-1] > 0  # the last epoch still trains


def test_constant_schedule() -> None:
    p = get_protocol("quick", schedule="constant", lr=0.2)
    assert {learning_rate(p, s, 7) for s in range(30)} == {0.2}


@pytest.mark.parametrize("field", sorted(PROTOCOL_RULES))
def test_one_rule_table_for_the_protocol_and_the_search_check(field: str) -> None:
    """Issue 20: Protocol itself and the search's pre-run check refuse the same values in the same
    words, from the one table (they disagreed: epochs >= 0 here, >= 1 in the search)."""
    from algebraic_nas.errors import ConfigError
    from algebraic_nas.search.config.checks import check_protocol

    text = PROTOCOL_RULES[field][1]
    with pytest.raises(ValueError, match=f"{field} {re.escape(text)}"):
        Protocol(**{field: "x"})
    with pytest.raises(ConfigError) as caught:
        check_protocol({"name": "quick", field: "x"})
    assert str(caught.value) == f"protocol.{field}='x': {text}"


def test_zero_epochs_is_refused_everywhere() -> None:
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        get_protocol("quick", epochs=0)
    with pytest.raises(ValueError, match="min_lr must be <= lr"):
        get_protocol("quick", min_lr=1.0)
