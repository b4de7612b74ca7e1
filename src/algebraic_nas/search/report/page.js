// The report page's script (algebraic_nas/search/report/html.py puts it inline): reads the JSON in
// #report-data and draws every plot as inline SVG. No library, nothing fetched.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];
  var tip, detail;

  function el(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function sv(tag, attrs, parent, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function num(v) { return typeof v === "number" && isFinite(v); }
  function fmt(v, key) {
    if (v === null || v === undefined) return "\u2013";
    if (typeof v !== "number") return String(v);
    if ((key === "params" || key === "flops") && Math.abs(v) >= 1e3) {
      return Math.abs(v) >= 1e6 ? (v / 1e6).toPrecision(4) + " M" : (v / 1e3).toPrecision(4) + " k";
    }
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toPrecision(4);
  }
  function tickText(t) {
    if (Math.abs(t) >= 1e6) return +(t / 1e6).toPrecision(4) + "M";
    if (Math.abs(t) >= 1e4) return +(t / 1e3).toPrecision(4) + "k";
    return String(+t.toPrecision(6));
  }
  function minutes(s) { return s >= 60 ? fmt(s / 60) + " min" : fmt(s) + " s"; }
  function base(path) { return String(path).split("/").pop(); }
  function value(ev, key) {
    if (key in ev && ev[key] !== null && typeof ev[key] !== "object") return ev[key];
    var v = (ev.objectives || {})[key];
    return v === undefined ? null : v;
  }

  // ---------------------------------------------------------------- axes and plots (inline SVG)
  function ticks(lo, hi, log, integer) {
    if (log) {
      var out = [];
      for (var p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++) out.push(Math.pow(10, p));
      return out.filter(function (t) { return t >= lo * 0.999 && t <= hi * 1.001; });
    }
    var span = hi - lo || 1, step = Math.pow(10, Math.floor(Math.log10(span / 5)));
    [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= 6) { step *= m; return true; } return false; });
    if (integer) step = Math.max(1, Math.round(step));
    var t = [], start = Math.ceil(lo / step) * step;
    for (var x = start; x <= hi + step * 1e-9; x += step) t.push(+x.toPrecision(12));
    return t;
  }
  function domain(vals, log) {
    vals = vals.filter(function (v) { return num(v) && (!log || v > 0); });
    if (!vals.length) return [0, 1];
    var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    if (log) return [lo / 1.15, hi * 1.15];
    var pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
    return [lo - pad, hi + pad];
  }

  // opts: {title, xlabel, ylabel, xlog, ylog, integerX, series: [{kind, points, colour, label, cls}]}
  // a point: {x, y, ev, run, failed}; kind: scatter | step | line | band (points {x, y, lo, hi})
  function plot(parent, opts) {
    var W = 460, H = 300, m = {l: 62, r: 12, t: 26, b: 44};
    var box = el("figure", {"class": "plot"}, parent);
    var svg = sv("svg", {viewBox: "0 0 " + W + " " + H, width: W, height: H, "class": "chart"}, box);
    var xs = [], ys = [];
    opts.series.forEach(function (s) {
      s.points.forEach(function (p) {
        xs.push(p.x);
        if (!p.failed) { ys.push(p.y); if (num(p.lo)) { ys.push(p.lo); ys.push(p.hi); } }
      });
    });
    var dx = domain(xs, opts.xlog), dy = domain(ys, opts.ylog);
    function sx(v) { var a = opts.xlog ? Math.log10 : Number; return m.l + (a(v) - a(dx[0])) / ((a(dx[1]) - a(dx[0])) || 1) * (W - m.l - m.r); }
    function sy(v) { var a = opts.ylog ? Math.log10 : Number; return H - m.b - (a(v) - a(dy[0])) / ((a(dy[1]) - a(dy[0])) || 1) * (H - m.t - m.b); }
    sv("text", {x: W / 2, y: 16, "class": "title"}, svg, opts.title);
    sv("rect", {x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, "class": "frame"}, svg);
    ticks(dx[0], dx[1], opts.xlog, opts.integerX).forEach(function (t) {
      sv("line", {x1: sx(t), x2: sx(t), y1: m.t, y2: H - m.b, "class": "grid"}, svg);
      sv("text", {x: sx(t), y: H - m.b + 14, "class": "tick x"}, svg, tickText(t));
    });
    ticks(dy[0], dy[1], opts.ylog, false).forEach(function (t) {
      sv("line", {x1: m.l, x2: W - m.r, y1: sy(t), y2: sy(t), "class": "grid"}, svg);
      sv("text", {x: m.l - 4, y: sy(t) + 4, "class": "tick y"}, svg, tickText(t));
    });
    sv("text", {x: (W + m.l) / 2, y: H - 8, "class": "label"}, svg, opts.xlabel);
    sv("text", {x: 14, y: (H - m.b + m.t) / 2, "class": "label", transform: "rotate(-90 14 " + (H - m.b + m.t) / 2 + ")"}, svg, opts.ylabel);
    var legend = el("figcaption", {}, box);
    opts.series.forEach(function (s) {
      var pts = s.points.filter(function (p) { return num(p.x) && (p.failed || num(p.y)); });
      if (s.label) {
        var item = el("span", {"class": "key"}, legend);
        el("i", {style: "background:" + s.colour}, item);
        item.appendChild(document.createTextNode(s.label));
      }
      if (s.kind === "band" && pts.length) {
        var up = [], down = [];  // stepwise like the mean: each value holds until the next evaluation
        pts.forEach(function (p, i) {
          var next = i + 1 < pts.length ? pts[i + 1].x : p.x;
          up.push(sx(p.x) + "," + sy(p.hi), sx(next) + "," + sy(p.hi));
          down.unshift(sx(next) + "," + sy(p.lo), sx(p.x) + "," + sy(p.lo));
        });
        sv("polygon", {points: up.concat(down).join(" "), fill: s.colour, "class": "band"}, svg);
      } else if ((s.kind === "step" || s.kind === "line") && pts.length) {
        var d = "";
        pts.forEach(function (p, i) {
          var X = sx(p.x), Y = sy(p.y);
          if (i === 0) d = "M" + X + "," + Y;
          else d += s.kind === "step" ? "H" + X + "V" + Y : "L" + X + "," + Y;
        });
        if (s.kind === "step" && num(s.extendTo)) d += "H" + sx(s.extendTo);
        sv("path", {d: d, stroke: s.colour, "class": "line " + (s.cls || "")}, svg);
      } else if (s.kind === "scatter") {
        pts.forEach(function (p) { marker(svg, p, sx(p.x), p.failed ? H - m.b - 5 : sy(p.y), s); });
      }
    });
    return svg;
  }
  function marker(svg, p, x, y, s) {
    var cls = "pt " + (s.cls || "") + (p.failed ? " failed" : "") + (p.ev && p.run && p.ev.id === p.run.best_id ? " best" : "");
    var shape = p.failed
      ? sv("path", {d: "M" + (x - 4) + "," + (y - 4) + "l8,8m0,-8l-8,8", "class": cls}, svg)
      : sv("circle", {cx: x, cy: y, r: p.ev && p.run && p.ev.id === p.run.best_id ? 6 : 4, fill: s.colour, "class": cls}, svg);
    shape.setAttribute("data-id", p.ev ? p.ev.id : "");
    if (!p.ev) return;
    shape.addEventListener("mouseenter", function (e) { showTip(e, p.run, p.ev); });
    shape.addEventListener("mousemove", function (e) { moveTip(e); });
    shape.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    shape.addEventListener("click", function () { select(p.run, p.ev); });
  }

  // ---------------------------------------------------------------- tooltip and detail panel
  function showTip(e, run, ev) {
    tip.textContent = "";
    el("b", {}, tip, "#" + ev.id + " " + ev.status + (ev.id === run.best_id ? " (best)" : ""));
    el("div", {"class": "term"}, tip, ev.term);
    var keys = run.objectives.concat(["fidelity", "worker"]);
    el("div", {}, tip, keys.map(function (k) { return k + " " + fmt(k === "fidelity" || k === "worker" ? ev[k] : value(ev, k), k); }).join(" \u00b7 "));
    if (ev.reason) el("div", {"class": "reason"}, tip, ev.reason);
    tip.style.display = "block";
    moveTip(e);
  }
  function moveTip(e) {
    tip.style.left = Math.min(e.clientX + 14, window.innerWidth - 420) + "px";
    tip.style.top = (e.clientY + 14) + "px";
  }
  function select(run, ev) {
    detail.textContent = "";
    el("h3", {}, detail, (DATA.runs.length > 1 ? label(run) + ": " : "") + "evaluation #" + ev.id +
      (ev.id === run.best_id ? " \u2014 best (" + run.best_rule + ")" : ""));
    el("div", {"class": "term"}, detail, ev.term);
    var t = el("table", {"class": "kv"}, detail);
    var keys = ["status", "n", "valid_error", "test_error", "params", "flops"].concat(
      Object.keys(ev.objectives || {}).filter(function (k) { return ["valid_error", "test_error", "params", "flops"].indexOf(k) < 0; }),
      ["fidelity", "front", "worker", "device", "job", "eval_time_s", "t", "strategy", "note", "reason"]);
    keys.forEach(function (k) {
      var v = k in ev ? ev[k] : value(ev, k);
      if (v === null || v === undefined) return;
      var tr = el("tr", {}, t);
      el("th", {}, tr, {n: "evaluation", t: "search time (s)", front: "on the Pareto front"}[k] || k);
      el("td", {}, tr, k === "front" ? (v ? "yes" : "no") : fmt(v, k));
    });
    var pic = run.pictures[String(ev.id)];
    if (pic) {
      var img = el("img", {src: pic, alt: "architecture of evaluation " + ev.id, "class": "arch", title: "click to enlarge"}, detail);
      img.addEventListener("click", function () { img.classList.toggle("big"); });
    }
    else el("p", {"class": "note"}, detail, "No picture of this architecture in the page: it holds the " +
      run.pictures_max + " best evaluations' and the Pareto front's (algebraic-nas draw GRAMMAR TERM draws any).");
    detail.scrollIntoView({block: "nearest"});
  }
  function label(run) {
    var i = DATA.runs.indexOf(run);
    return DATA.comparison ? DATA.comparison.labels[i] : run.name;
  }

  // ---------------------------------------------------------------- one run
  function finished(run) { return run.evaluations.filter(function (e) { return e.n !== null; }); }
  function rungColour(run, fidelity) {
    if (fidelity === run.top_fidelity) return "#555";
    var lower = run.rungs.map(function (r) { return JSON.stringify(r.fidelity); });
    return COLOURS[(lower.indexOf(fidelity) + 2) % COLOURS.length];
  }
  function errorSeries(run, x) {
    var done = finished(run), series = [];
    var groups = {};
    done.forEach(function (e) {
      var key = e.status === "failed" ? "failed" : e.fidelity;
      (groups[key] = groups[key] || []).push({x: x(e), y: e.valid_error, ev: e, run: run, failed: e.status === "failed"});
    });
    Object.keys(groups).forEach(function (k) {
      var multi = run.rungs.length > 1;
      series.push({kind: "scatter", points: groups[k], cls: k === "failed" ? "" : "eval",
        colour: k === "failed" ? "#c00" : rungColour(run, k),
        label: k === "failed" ? "failed (" + groups[k].length + ")" : (multi ? "fidelity " + k : "evaluation")});
    });
    var trace = run.trace.filter(function (p) { return p[2] !== null; });
    var byN = {};
    done.forEach(function (e) { byN[e.n] = e; });
    series.unshift({kind: "step", colour: COLOURS[0], label: "incumbent", cls: "incumbent",
      points: trace.map(function (p) { return {x: x(byN[p[0]]), y: p[2]}; }),
      extendTo: done.length ? x(done[done.length - 1]) : undefined});
    return series;
  }
  function spansDecade(evals, key) {  // a log axis for sizes spanning more than a factor of 10
    if (!/params|flops/.test(key)) return false;
    var v = evals.map(function (e) { return value(e, key); }).filter(function (x) { return num(x) && x > 0; });
    return v.length > 1 && Math.max.apply(null, v) > 10 * Math.min.apply(null, v);
  }
  function paretoPlots(run, parent) {
    var names = run.objectives;
    if (names.length < 2) return;
    el("h3", {}, parent, "Pareto front over " + names.join(", ") + " (filled: on the front)");
    var eligible = run.evaluations.filter(function (e) { return e.front !== null; });
    for (var i = 0; i < names.length; i++) for (var j = i + 1; j < names.length; j++) {
      var a = names[i], b = names[j];
      var pts = function (on) {
        return eligible.filter(function (e) { return !!e.front === on; })
          .map(function (e) { return {x: value(e, b), y: value(e, a), ev: e, run: run}; });
      };
      var front = pts(true).sort(function (p, q) { return p.x - q.x; });
      var logX = spansDecade(eligible, b), logY = spansDecade(eligible, a);
      plot(parent, {title: a + " vs " + b, xlabel: b, ylabel: a, xlog: logX, ylog: logY, series: [
        {kind: "scatter", points: pts(false), colour: "#bbb", label: "dominated", cls: "eval"},
        names.length === 2 ? {kind: "step", points: front, colour: COLOURS[1], cls: "frontline"} : {kind: "line", points: [], colour: "#000"},
        {kind: "scatter", points: front, colour: COLOURS[1], label: "front (" + front.length + ")", cls: "eval front"}]});
    }
  }
  function rungTable(run, parent) {
    if (!run.rungs.length) return;
    el("h3", {}, parent, "Rungs (fidelities)");
    var t = el("table", {"class": "rungs"}, parent), h = el("tr", {}, t);
    ["fidelity", "evaluations", "continued", "best error", "epochs trained"].forEach(function (k) { el("th", {}, h, k); });
    run.rungs.forEach(function (r) {
      var tr = el("tr", {}, t);
      [JSON.stringify(r.fidelity), r.evaluations, r.continued, r.best_error, r.epochs_trained].forEach(function (v) { el("td", {}, tr, fmt(v)); });
    });
  }
  function failures(run, parent) {
    if (!run.failures.length) return;
    el("h3", {}, parent, "Failed evaluations (" + (run.counts.failed || 0) + ")");
    var ul = el("ul", {"class": "failures"}, parent);
    run.failures.forEach(function (f) { el("li", {}, ul, f.count + " \u00d7 " + f.reason); });
  }
  function table(run, parent) {
    el("h3", {}, parent, "Evaluations (click a column to sort, a row to see it)");
    var extra = run.objectives.filter(function (k) { return ["valid_error", "params", "flops"].indexOf(k) < 0; });
    var cols = ["id", "n", "status", "valid_error", "test_error", "params", "flops"].concat(extra, ["fidelity", "front", "worker", "eval_time_s", "term"]);
    var wrap = el("div", {"class": "tablewrap"}, parent);
    var t = el("table", {"class": "evals"}, wrap), head = el("tr", {}, el("thead", {}, t)), body = el("tbody", {}, t);
    var rows = run.evaluations.slice(), key = "n", dir = 1;
    function cell(e, k) { return k === "front" ? (e.front === null ? null : e.front) : (k in e ? e[k] : value(e, k)); }
    function draw() {
      rows.sort(function (p, q) {
        var a = cell(p, key), b = cell(q, key);
        if (a === null || a === undefined) return 1;
        if (b === null || b === undefined) return -1;
        return (a < b ? -1 : a > b ? 1 : 0) * dir;
      });
      body.textContent = "";
      rows.forEach(function (e) {
        var tr = el("tr", {"class": e.status + (e.id === run.best_id ? " best" : ""), "data-id": e.id}, body);
        cols.forEach(function (k) { el("td", {"class": k}, tr, fmt(cell(e, k), k)); });
        tr.addEventListener("click", function () { select(run, e); });
      });
      Array.prototype.forEach.call(head.children, function (th) {
        th.className = th.getAttribute("data-key") === key ? (dir > 0 ? "asc" : "desc") : "";
      });
    }
    cols.forEach(function (k) {
      var th = el("th", {"data-key": k}, head, k);
      th.addEventListener("click", function () { dir = key === k ? -dir : 1; key = k; draw(); });
    });
    draw();
  }
  function runSection(run, parent, open) {
    var sec = el("details", {"class": "run"}, parent);
    if (open) sec.setAttribute("open", "");
    el("summary", {}, sec, label(run) + " \u2014 " + run.strategy + " on " + base(run.grammar) + " / " + run.dataset);
    var c = run.counts, best = run.evaluations.filter(function (e) { return e.id === run.best_id; })[0];
    el("p", {}, sec, (c.done || 0) + " done, " + (c.failed || 0) + " failed, " + ((c.running || 0) + (c.pending || 0)) +
      " unfinished; search time " + minutes(run.elapsed_s || 0) + ". " + run.run_dir);
    if (best) {
      var p = el("p", {"class": "bestline"}, sec, "Best: #" + best.id + " (" + run.best_rule + "), validation error " + fmt(best.valid_error) + ", params " + fmt(best.params, "params") + " ");
      var a = el("a", {href: "#"}, p, "show");
      a.addEventListener("click", function (e) { e.preventDefault(); select(run, best); });
    } else el("p", {"class": "reason"}, sec, "No successful evaluation.");
    var plots = el("div", {"class": "plots"}, sec);
    plot(plots, {title: "validation error over evaluations", xlabel: "evaluation (finishing order)", ylabel: "validation error",
      integerX: true, series: errorSeries(run, function (e) { return e.n; })});
    plot(plots, {title: "validation error over search time", xlabel: "search wall time (min)", ylabel: "validation error",
      series: errorSeries(run, function (e) { return (e.t || 0) / 60; })});
    var mo = el("div", {"class": "plots"}, sec);
    paretoPlots(run, mo);
    rungTable(run, sec);
    failures(run, sec);
    table(run, sec);
  }

  // ---------------------------------------------------------------- several runs
  function comparisonSection(parent) {
    var cmp = DATA.comparison;
    el("h2", {}, parent, "Comparison");
    var series = [];
    cmp.groups.forEach(function (g, gi) {
      var colour = COLOURS[gi % COLOURS.length];
      if (g.band.length) {
        series.push({kind: "band", colour: colour, points: g.band.map(function (b) { return {x: b[0], y: b[1], lo: b[1] - b[2], hi: b[1] + b[2]}; })});
        series.push({kind: "step", colour: colour, label: g.label + " (mean \u00b1 1 s.e. of " + g.members.length + ")", cls: "mean",
          points: g.band.map(function (b) { return {x: b[0], y: b[1]}; })});
      } else g.members.forEach(function (i) {
        series.push({kind: "step", colour: colour, label: cmp.labels[i], cls: "incumbent",
          points: DATA.runs[i].trace.filter(function (p) { return p[2] !== null; }).map(function (p) { return {x: p[0], y: p[2]}; })});
      });
    });
    var plots = el("div", {"class": "plots"}, parent);
    plot(plots, {title: "incumbents", xlabel: "evaluation", ylabel: "best validation error", integerX: true, series: series});
    el("h3", {}, parent, "Bests side by side");
    var row = el("div", {"class": "bests"}, parent);
    DATA.runs.forEach(function (run, i) {
      var best = run.evaluations.filter(function (e) { return e.id === run.best_id; })[0];
      var card = el("div", {"class": "card"}, row);
      el("h4", {}, card, cmp.labels[i]);
      if (!best) { el("p", {"class": "reason"}, card, "no successful evaluation"); return; }
      el("p", {}, card, "#" + best.id + ": " + run.objectives.map(function (k) { return k + " " + fmt(value(best, k), k); }).join(", "));
      el("div", {"class": "term"}, card, best.term);
      var pic = run.pictures[String(best.id)];
      if (pic) el("img", {src: pic, "class": "arch", alt: "best architecture of " + cmp.labels[i]}, card);
      card.addEventListener("click", function () { select(run, best); });
    });
  }

  function render() {
    var app = document.getElementById("app");
    app.textContent = "";
    el("h1", {}, app, DATA.title);
    var live = DATA.runs.some(function (r) { return r.live; });
    el("p", {"class": "note"}, app, "Generated " + DATA.generated + (live ? " while the search runs: this page reloads every 30 s." : "."));
    tip = el("div", {id: "tip"}, document.body);
    var main = el("div", {"class": "main"}, app), left = el("div", {"class": "left"}, main);
    detail = el("aside", {id: "detail"}, main);
    el("p", {"class": "note"}, detail, "Hover over a point to see its term; click it (or a table row) for its details and picture.");
    if (DATA.comparison) comparisonSection(left);
    DATA.runs.forEach(function (run, i) { runSection(run, left, DATA.runs.length === 1 || i === 0); });
    if (live) setTimeout(function () { location.reload(); }, 30000);
    document.body.setAttribute("data-ready", "1");
  }
  render();
})();
