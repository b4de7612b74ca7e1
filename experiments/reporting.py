"""What every experiment's analysis shares: mean ± s.e., the paired test and the words it allows,
deterministic figures, and the README's generated blocks.

The wording rule (used by every README here): method A is called **better** than B only when a
two-sided paired t-test over the search seeds (pairs: the same seed, hence the same common
random numbers) gives p < 0.05 with at least 5 seeds; otherwise the README says **no significant
difference** and gives the p-value (or says that fewer than 5 seeds cannot decide).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

ALPHA = 0.05
MIN_SEEDS = 5
BEGIN = re.compile(r"<!-- generated from (\S+) -->\n(.*?)<!-- end generated -->", re.S)


def mean_se(values: Sequence[Optional[float]]) -> tuple[Optional[float], Optional[float], int]:
    """Mean, standard error (ddof 1; 0 for one value) and count of the non-missing values."""
    v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    if not v:
        return None, None, 0
    m = sum(v) / len(v)
    se = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)) if len(v) > 1 else 0.0
    return m, se, len(v)


def paired(a: Mapping[int, Optional[float]], b: Mapping[int, Optional[float]],
           lower_is_better: bool = True) -> dict[str, Any]:
    """Paired comparison of ``a`` and ``b`` (seed -> value) over the seeds both have.

    Returns ``n``, ``mean_diff`` (a - b), ``wins`` (seeds where a is strictly better), ``ties``,
    ``p`` (two-sided paired t-test; 1.0 when every difference is 0, None with < 2 pairs) and
    ``verdict``: ``"better"``, ``"worse"``, ``"no significant difference"`` or
    ``"too few seeds"`` (fewer than :data:`MIN_SEEDS`), by the rule in the module docstring."""
    from scipy import stats

    seeds = sorted(s for s in a if s in b and a[s] is not None and b[s] is not None)
    d = [float(a[s]) - float(b[s]) for s in seeds]
    sign = -1.0 if lower_is_better else 1.0
    wins = sum(sign * x > 0 for x in d)
    ties = sum(x == 0 for x in d)
    p: Optional[float] = None
    if len(d) >= 2:
        p = 1.0 if all(x == 0 for x in d) else float(stats.ttest_rel([a[s] for s in seeds], [b[s] for s in seeds]).pvalue)
        if math.isnan(p):  # constant non-zero differences: the test's variance is 0
            p = 0.0
    mean_diff = sum(d) / len(d) if d else None
    if len(d) < MIN_SEEDS:
        verdict = "too few seeds"
    elif p is not None and p < ALPHA and mean_diff:
        verdict = "better" if sign * mean_diff > 0 else "worse"
    else:
        verdict = "no significant difference"
    return {"n": len(d), "mean_diff": mean_diff, "wins": wins, "ties": ties, "p": p, "verdict": verdict}


def fmt(x: Optional[float], digits: int = 4) -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}f}"


def fmt_p(p: Optional[float]) -> str:
    if p is None:
        return "-"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def comparison_line(name_a: str, name_b: str, c: Mapping[str, Any], what: str) -> str:
    """One sentence that follows the wording rule, e.g. ``A vs B at 50 evaluations: better
    (4/5 seeds, mean difference -0.0312, paired t-test p = 0.012)``."""
    tied = f", {c['ties']} tied" if c["ties"] else ""
    return (f"{name_a} vs {name_b} {what}: **{c['verdict']}** ({c['wins']}/{c['n']} seeds better{tied}, mean difference "
            f"{fmt(c['mean_diff'])}, paired t-test p = {fmt_p(c['p'])})")


def save_figure(fig: Any, path: Path, dpi: int = 110) -> None:
    """Save without the metadata that changes between matplotlib versions (byte-stable re-runs)."""
    fig.savefig(path, dpi=dpi, metadata={"Software": None})


def readme_blocks(readme: Path) -> list[tuple[str, str]]:
    """The README's generated blocks: ``(file name, text)`` for each
    ``<!-- generated from FILE -->`` ... ``<!-- end generated -->``."""
    return [(m.group(1), m.group(2)) for m in BEGIN.finditer(readme.read_text())]


def sync_readme(readme: Path, out_dir: Path) -> bool:
    """Replace each generated block of ``readme`` by the current text of its file in
    ``out_dir``; returns whether anything changed."""
    text = readme.read_text()
    new = BEGIN.sub(lambda m: f"<!-- generated from {m.group(1)} -->\n{(out_dir / m.group(1)).read_text()}"
                              f"<!-- end generated -->", text)
    if new != text:
        readme.write_text(new)
    return new != text
