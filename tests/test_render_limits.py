"""Template renders are bounded (rewrite/render.py: MAX_OUTPUT characters, TIME_LIMIT seconds).

A rule's template may come from the repository being built. A hostile one (nested loops,
huge repeat counts, pad widths, powers, doubling concatenations, loops with no output)
stops within a few seconds and bounded memory; the finding is still reported, without a
fix (why_no_fix and Engine.warnings name the template's file:line), and every other
finding and fix is unaffected. A normal template renders exactly what plain Jinja renders.

Anything that could hang or eat memory on a regression runs in a subprocess with a
`timeout=` and an address-space cap (RLIMIT_AS): a regression fails, it does not hang the
suite or the machine."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from helpers import BIN, compile_tool, go_env

from toolexec_rehab.paths import builtin_dirs
from toolexec_rehab.rewrite import render as R

MEM_CAP = 1 << 30  # address space of every subprocess here (Go's compile and link fit in it)
SLACK = 10.0  # seconds on top of the time limit before a subprocess counts as hung

# (template, the limit it must hit). The hostile expression is on line 2: the error names it.
HOSTILE = {
    "nested-loops": ("{% for a in range(99999) %}{% for b in range(99999) %}x{% endfor %}{% endfor %}", "size"),
    "nested-loops-no-output": (
        "{% for a in range(99999) %}{% for b in range(99999) %}{% set c = a %}{% endfor %}{% endfor %}", "time"),
    "repeat": ("{{ 'A' * 4000000000 }}", "size"),
    "power": ("{{ 2 ** 99999999 }}", "size"),
    "ljust": ("{{ 'x'.ljust(10**10) }}", "size"),
    "center": ("{{ 'x'|center(10**10) }}", "size"),
    "indent": ("{{ 'x'|indent(10**10) }}", "size"),
    "plus-doubling": (
        "{% set ns = namespace(s='x') %}{% for i in range(200) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
        "size"),
    "tilde-doubling": (
        "{% set ns = namespace(s='x') %}{% for i in range(200) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "size"),
    "list-doubling": (
        "{% set ns = namespace(l=[1]) %}{% for i in range(200) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}",
        "size"),
    "set-block": ("{% set s %}{% for a in range(99999) %}{% for b in range(99999) %}x{% endfor %}{% endfor %}"
                  "{% endset %}", "size"),
    "macro-fan-out": ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
                      "time"),
    "replace": ("{{ ('x' * 60000).replace('', 'y' * 60000) }}", "size"),
    "join": ("{{ ('x' * 60000).join('y' * 60000) }}", "size"),
    "format-width": ("{{ '{:>9999999999}'.format('x') }}", "size"),
    "percent-width": ("{{ '%9999999999d' % 1 }}", "size"),
}

_RENDER = r"""
import json, sys, threading, time
from toolexec_rehab.rewrite.render import RenderLimitError, render
d, name, thread = sys.argv[1], sys.argv[2], sys.argv[3] == "thread"
out = {}
def go():
    t = time.monotonic()
    try:
        render((d,), name, {"var": "f", "handle": "f"})
        out["result"] = "rendered"
    except RenderLimitError as e:
        out.update(result="limit", kind=e.kind, where=e.where, limit=e.limit, message=str(e))
    except BaseException as e:
        out["result"] = f"{type(e).__name__}: {str(e)[:300]}"
    out["seconds"] = time.monotonic() - t
if thread:
    th = threading.Thread(target=go)
    th.start()
    th.join()
else:
    go()
print(json.dumps(out))
"""


def _cap():
    resource.setrlimit(resource.RLIMIT_AS, (MEM_CAP, MEM_CAP))


def _run(cmd, *, timeout: float, **kw) -> tuple[subprocess.CompletedProcess, float]:
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=_cap, **kw)
    return r, time.monotonic() - t


def _render_in_subprocess(tmp_path, template: str, thread: bool = False) -> dict:
    d = tmp_path / "templates"
    d.mkdir(exist_ok=True)
    (d / "evil.go.j2").write_text("{# line 1 #}\n" + template)
    r, _ = _run([sys.executable, "-c", _RENDER, str(d), "evil.go.j2", "thread" if thread else "main"],
                timeout=R.TIME_LIMIT + SLACK)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_template_is_stopped(tmp_path, name):
    """Stopped by the limit it goes past, within the time limit plus slack and under the
    memory cap, with the template's file and the hostile line (2)."""
    template, kind = HOSTILE[name]
    out = _render_in_subprocess(tmp_path, template)
    assert out["result"] == "limit", out
    assert out["kind"] == kind, out
    assert out["where"] == f"{tmp_path}/templates/evil.go.j2:2", out
    assert out["seconds"] < R.TIME_LIMIT + 2, out
    if kind == "time":
        assert out["limit"] == f"time limit ({R.TIME_LIMIT:g} s)"
    else:
        assert out["limit"] == f"size limit ({R.size_text(R.MAX_OUTPUT)})"


@pytest.mark.parametrize("name", ["nested-loops-no-output", "macro-fan-out"])
def test_time_limit_without_sigalrm(tmp_path, name):
    """Outside the main thread there is no SIGALRM: the loops and calls check the clock."""
    out = _render_in_subprocess(tmp_path, HOSTILE[name][0], thread=True)
    assert out["result"] == "limit" and out["kind"] == "time", out
    assert out["seconds"] < R.TIME_LIMIT + 2, out


def _slow_template(tmp_path) -> tuple[str, ...]:
    d = tmp_path / "t"
    d.mkdir()
    (d / "slow.j2").write_text(HOSTILE["nested-loops-no-output"][0])
    (d / "ok.j2").write_text("{{ var }}")
    return (str(d),)


def test_previous_alarm_handler_and_timer_are_restored(tmp_path):
    dirs = _slow_template(tmp_path)
    seen = []

    def mine(signum, frame):
        seen.append(signum)

    old = signal.signal(signal.SIGALRM, mine)
    try:
        with pytest.raises(R.RenderLimitError) as e:
            R.render(dirs, "slow.j2", {}, time_limit=0.3)
        assert e.value.kind == "time"
        assert R.render(dirs, "ok.j2", {"var": "v"}) == "v"
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        assert seen == []
    finally:
        signal.signal(signal.SIGALRM, old)


def test_an_armed_timer_is_left_alone(tmp_path):
    """Someone else's ITIMER_REAL keeps running; the render checks the clock instead."""
    dirs = _slow_template(tmp_path)
    fired = []
    old = signal.signal(signal.SIGALRM, lambda s, f: fired.append(s))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        t = time.monotonic()
        with pytest.raises(R.RenderLimitError) as e:
            R.render(dirs, "slow.j2", {}, time_limit=0.3)
        assert e.value.kind == "time" and time.monotonic() - t < 5
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 20 < left < 30 and fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_limit_error_is_a_rule_error(tmp_path):
    """A caller that does not catch it (a condition's handle, the runtime templates) reports a
    rule error naming the template (exit 2), as for any other template error."""
    from toolexec_rehab.rules.loader import RuleError

    dirs = _slow_template(tmp_path)
    with pytest.raises(RuleError, match=r"slow\.j2:1: template exceeded its time limit"):
        R.render(dirs, "slow.j2", {}, time_limit=0.2)


# ------------------------------------------------------------------ same output as before

def _plain(*dirs):
    """The environment render.py used before the limits."""
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(loader=FileSystemLoader(list(dirs)), undefined=StrictUndefined,
                                         autoescape=False, keep_trailing_newline=False, trim_blocks=True,
                                         lstrip_blocks=True)


def _fix_contexts():
    base = {"var": "rows", "handle": "rows", "err": "err", "callee": "database/sql.DB.Query",
            "callee_text": "db.Query", "type": "*sql.Rows", "deferred": "f.Close()", "loop": False,
            "leak_lines": [12, 14], "call": "f.Close()", "zeros": "nil, ", "blanks": "_, ",
            "fmt": "fmt", "func_name": "load", "node_id64": "0x0123456789abcdef", "release": "Close",
            "release_error": True}
    for guarded in (False, True):
        for in_loop in (False, True):
            for callee in ("context.WithCancel", "context.WithCancelCause"):
                yield {**base, "guarded": guarded, "in_loop": in_loop, "callee": callee}


def test_shipped_fix_templates_render_as_before():
    tdir = builtin_dirs()[1]
    plain = _plain(tdir)
    names = sorted(n for n in os.listdir(tdir) if n.endswith(".go.j2"))
    assert len(names) >= 8
    for name in names:
        for ctx in _fix_contexts():
            assert R.render((tdir,), name, ctx) == plain.get_template(name).render(**ctx), (name, ctx)


def test_shipped_runtime_templates_render_as_before():
    """Including outputs well past MAX_OUTPUT: the shipped runtime templates render whole
    programs (RUNTIME_MAX_OUTPUT)."""
    from toolexec_rehab.runtime.trace import REGS

    rdir = os.path.join(builtin_dirs()[1], "runtime")
    plain = _plain(rdir)
    for n in (1, 3000):
        syms = [(f"example.com/p{i}._rehabAcquire", 0x401000 + 64 * i) for i in range(n)]
        for ctx in (
            {"binary": "/tmp/svc", "acquire": syms, "release": syms, "closers": syms[:2], "file_close": "os.(*file).close",
             "gc_lo": 0x40000, "gc_hi": 0x50000, "file_sites": list(range(n)), "zerobase": 0x5a0000,
             "file_close_addr": 0x4b0000, "regs": REGS["x86_64"], "duration_ms": 1500},
            {"binary": "/tmp/svc", "acquire": syms, "release": syms, "closers": [], "file_close": None,
             "gc_lo": 0, "gc_hi": 0, "file_sites": [], "zerobase": 0, "file_close_addr": 0,
             "regs": REGS["aarch64"], "duration_ms": None},
        ):
            for dropped in ([], syms[:3]):
                ctx["dropped"] = dropped
                want = plain.get_template("trace.bt.j2").render(**ctx)
                assert R.render((rdir,), "trace.bt.j2", ctx) == want
        sites = json.dumps("REHAB_SITES_V1:" + json.dumps([[f"ast-node-{i:016x}", "file-not-closed", "a.go", i]
                                                           for i in range(n)]) + ":END_REHAB_SITES")
        ctx = {"package": "p", "acquire": "_rehabAcquire", "release": "_rehabRelease", "sites_const": "_rehabSites",
               "sites_literal": sites}
        want = plain.get_template("markers.go.j2").render(**ctx)
        assert R.render((rdir,), "markers.go.j2", ctx) == want
        for log in (False, True):
            dctx = {"package": "p", "func": "_rehabDropped", "sites_const": "_rehabDroppedSites",
                    "sites_literal": sites, "log": log}
            assert R.render((rdir,), "dropped.go.j2", dctx) == plain.get_template("dropped.go.j2").render(**dctx)
    assert len(want) > R.MAX_OUTPUT


def test_rule_messages_render_as_before():
    """render_string: the fast path and the (bounded) Jinja path both give Jinja's output."""
    from toolexec_rehab.rules.loader import all_rules

    plain = _plain()
    messages = [lr.rule.message for lr in all_rules()]
    for msg in messages + [m + "{# force Jinja #}" for m in messages]:
        for ctx in _fix_contexts():
            for leak_lines in ([], [3], [3, 9]):
                c = {**ctx, "leak_lines": leak_lines}
                assert R.render_string(msg, c) == plain.from_string(msg).render(**c), msg


_SOUP = {
    "macros.j2": '{% macro m(x, y=2) %}<{{ x }}:{{ y }}>{% endmacro %}',
    "inc.j2": "included {{ items|length }}",
    "base.j2": "{% block head %}H{% endblock %}|{% block body %}B{% endblock %}|{{ self.head() }}",
    "child.j2": '{% extends "base.j2" %}{% block body %}{{ super() }}-child-{{ items|first }}{% endblock %}',
    "soup.j2": textwrap.dedent("""\
        {% import "macros.j2" as mac %}{% from "macros.j2" import m %}
        {{ mac.m(1) }}{{ m("a", y=[1, 2]) }}
        {% set ns = namespace(acc="") %}
        {% for x in items if x != 3 %}{{ loop.index }}/{{ loop.length }}{{ "," if not loop.last }}{{ loop.cycle("a", "b") }}{% set ns.acc = ns.acc ~ x %}{% else %}none{% endfor %}
        {% for x in [] %}{{ x }}{% else %}empty{% endfor %}
        {{ ns.acc }} {% for k, v in {"b": 2, "a": 1}|dictsort %}{{ k }}={{ v }};{% endfor %}
        {% set t = (1, "two", [3]) %}{% set a, b = 4, 5 %}{{ t }} {{ a }}{{ b }} {{ t[1] ~ "-" ~ t[2] }} {{ [1, 2] + [3] }} {{ "ab" * 3 }} {{ 3 * [0] }} {{ 2 ** 10 }} {{ 7 % 3 }}
        {{ "%s-%05d|%x" % ("s", 42, 255) }} {{ "%(k)s!" % {"k": "v"} }} {{ "%.3f" % 2.5 }} {{ "{}:{:>5}:{k}".format("a", "b", k=1) }}
        {% set captured %}captured {{ items|join(",") }}{% endset %}{{ captured|upper }}
        {% filter upper %}filtered {{ "x" }}{% endfilter %}
        {% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}inside{% endcall %}
        {{ items|map("string")|join("+") }} {{ items|select("odd")|list }} {{ items|sum }} {{ items|batch(2)|list }}
        {{ "a b c d"|wordwrap(3) }} {{ "x\\ny"|indent(2, first=True) }} {{ "x"|center(7) }} {{ "%s|%s"|format(1, 2) }}
        {{ "aXbX"|replace("X", "yy") }} {{ {"k": [1, {"z": 2}]}|tojson }} {{ [1, [2, [3]]]|pprint }} {{ [[1], [2]]|sum(start=[]) }}
        {{ "x".ljust(4) }}| {{ "a\\tb".expandtabs(4) }} {{ "-".join(["p", "q"]) }} {{ "abc".replace("b", "BB") }} {{ "x"|indent("> ") }}
        {% for node in tree recursive %}({{ node.n }}{% if node.c %}{{ loop(node.c) }}{% endif %}){% endfor %}
        {% include "inc.j2" %}
        {{ range(3)|list }} {{ dict(a=1) }} {{ -3|abs }} {{ (lipsum(1, html=False, min=3, max=5)|length > 0) }}
        {{ items|unique|sort|reverse|list }} {{ "Hello World"|truncate(8, leeway=0) }} {{ "hi"|urlize }}"""),
}


def test_template_features_render_as_before(tmp_path):
    """The limited environment compiles block buffers, loops, `~` and literals differently:
    the output of every construct is still Jinja's."""
    for name, text in _SOUP.items():
        (tmp_path / name).write_text(text)
    ctx = {"items": [5, 3, 1, 2, 2], "tree": [{"n": 1, "c": [{"n": 2, "c": []}, {"n": 3, "c": [{"n": 4, "c": []}]}]}]}
    plain = _plain(str(tmp_path))
    for name in ("soup.j2", "child.j2"):
        want = plain.get_template(name).render(**ctx)
        assert R.render((str(tmp_path),), name, ctx) == want, name


# ------------------------------------------------------------------ the CLI and a build

# two leaks of the kind the hostile rule (a copy of file-not-closed) reports, and a lost
# cancel (lost-cancel, another rule, fixed in the same file)
GO = """\
package main

import (
	"context"
	"os"
)

func first() {
	f, err := os.Open(os.Args[0])
	if err != nil {
		return
	}
	b := make([]byte, 1)
	f.Read(b)
}

func second() {
	g, err := os.Open(os.Args[0])
	if err != nil {
		return
	}
	b := make([]byte, 1)
	g.Read(b)
}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	_ = cancel
	_ = ctx
	first()
	second()
}
"""

OPENS = [i for i, line in enumerate(GO.splitlines(), 1) if "os.Open(" in line]
CLI_CASES = ["nested-loops-no-output", "repeat"]


def _rules(tmp_path, template: str):
    d = tmp_path / "rules"
    (d / "templates").mkdir(parents=True)
    pat, _ = builtin_dirs()
    y = open(os.path.join(pat, "file-not-closed.yaml")).read()
    y = y.replace("- acquires: {}", "- acquires: {resources: [os-file]}")
    (d / "evil.yaml").write_text(y.replace("id: file-not-closed", "id: evil").replace("file-not-closed.go.j2",
                                                                                     "evil.go.j2"))
    (d / "templates" / "evil.go.j2").write_text("{# hostile #}\n" + template)
    return d


def _module(tmp_path):
    m = tmp_path / "m"
    m.mkdir()
    (m / "go.mod").write_text("module example.com/s\n\ngo 1.22\n")
    (m / "main.go").write_text(GO)
    return m


def _cli_env(tmp_path, rules, **extra):
    e = go_env(REHAB_RULE_DIRS=str(rules), REHAB_SERVER="off", XDG_CACHE_HOME=str(tmp_path / "xdg"), **extra)
    e.pop("REHAB_DEBUG", None)
    return e


@pytest.mark.parametrize("name", CLI_CASES)
def test_check_reports_the_finding_without_a_fix(tmp_path, name):
    template, kind = HOSTILE[name]
    rules = _rules(tmp_path, template)
    m = _module(tmp_path)
    r, took = _run([str(BIN), "check", "--format", "json", "--rules", "evil,lost-cancel", "."], cwd=m,
                   env=_cli_env(tmp_path, rules), timeout=R.TIME_LIMIT * 2 + 60)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    found = json.loads(r.stdout)
    evil = [f for f in found if f["rule"] == "evil"]
    assert [f["line"] for f in evil] == OPENS, found
    limit = f"time limit ({R.TIME_LIMIT:g} s)" if kind == "time" else f"size limit ({R.size_text(R.MAX_OUTPUT)})"
    for f in evil:
        assert not f["fixable"]
        assert f["why_no_fix"] == f"fix template exceeded its {limit}: {rules}/templates/evil.go.j2:2", f
    (cancel,) = [f for f in found if f["rule"] == "lost-cancel"]
    assert cancel["fixable"], cancel
    # one time limit in all: a template that ran out of time is not rendered again
    assert took < 2 * R.TIME_LIMIT + 30


@pytest.mark.parametrize("name", CLI_CASES)
def test_fix_applies_the_other_rules_fix(tmp_path, name):
    rules = _rules(tmp_path, HOSTILE[name][0])
    m = _module(tmp_path)
    r, _ = _run([str(BIN), "fix", "--diff", "--rules", "evil,lost-cancel", "."], cwd=m,
                env=_cli_env(tmp_path, rules), timeout=R.TIME_LIMIT * 2 + 60)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    added = [ln for ln in r.stdout.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert added == ["+\tdefer cancel()"], r.stdout
    assert (m / "main.go").read_text() == GO


def test_check_prints_the_warning(tmp_path):
    rules = _rules(tmp_path, HOSTILE["repeat"][0])
    m = _module(tmp_path)
    r, _ = _run([str(BIN), "check", "--rules", "evil", "."], cwd=m, env=_cli_env(tmp_path, rules),
                timeout=R.TIME_LIMIT * 2 + 60)
    assert r.returncode == 1
    assert f"{rules}/templates/evil.go.j2:2" in r.stderr, r.stderr


_ENGINE = r"""
import json, sys
from toolexec_rehab import pipeline
from toolexec_rehab.rules import engine
calls = []
real = engine.render
def counting(*a, **kw):
    calls.append(a[1])
    return real(*a, **kw)
engine.render = counting
run = pipeline.analyze([sys.argv[1]], "evil,lost-cancel")
print(json.dumps({"warnings": run.analyzer.engine.warnings, "calls": calls,
                  "why": [f.why_no_fix for f in run.findings if f.rule == "evil"]}))
"""


def test_engine_warnings(tmp_path):
    """Engine.warnings: one line per template and limit (file:line), however many findings;
    the timed-out template is rendered once, not once per finding."""
    rules = _rules(tmp_path, HOSTILE["nested-loops-no-output"][0])
    m = _module(tmp_path)
    r, _ = _run([sys.executable, "-c", _ENGINE, str(m)], cwd=m, env=_cli_env(tmp_path, rules),
                timeout=R.TIME_LIMIT * 2 + 60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    where = f"{rules}/templates/evil.go.j2:2"
    assert out["warnings"] == [f"{where}: fix template of rule evil exceeded its time limit ({R.TIME_LIMIT:g} s); "
                               f"the finding is reported without a fix"], out
    assert out["calls"].count("evil.go.j2") == 1 and "lost-cancel.go.j2" in out["calls"], out
    assert out["why"] == [f"fix template exceeded its time limit ({R.TIME_LIMIT:g} s): {where}"] * 2, out


@pytest.mark.parametrize("name", CLI_CASES)
def test_build_with_a_hostile_template_produces_a_working_binary(tmp_path, name):
    """The compile of our package, as `go build -toolexec` runs it (by hand, as in
    test_safety: REHAB_RULE_DIRS is part of the cache key), then link and run: the other
    rule's fix is compiled in, the hostile rule's is not, in bounded time and memory."""
    rules = _rules(tmp_path, HOSTILE[name][0])
    m = _module(tmp_path)
    gocache = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True, env=go_env()).stdout.strip()
    env = _cli_env(tmp_path, rules, REHAB_RULES="evil,lost-cancel", REHAB_VERBOSE="1", GOCACHE=gocache,
                   TOOLEXEC_IMPORTPATH="example.com/s")
    cfg = subprocess.run(["go", "list", "-export", "-deps", "-f",
                          "{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}", "os", "context"],
                         capture_output=True, text=True, env=go_env(), check=True, timeout=300).stdout
    importcfg = tmp_path / "importcfg"
    importcfg.write_text(cfg)
    (tmp_path / "obj").mkdir()
    out = tmp_path / "obj" / "_pkg_.a"
    r, took = _run([str(BIN), compile_tool(), "-o", str(out), "-p", "main", "-importcfg", str(importcfg), "-pack",
                    str(m / "main.go")], env=env, cwd=m, timeout=R.TIME_LIMIT * 2 + 120)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert "REHAB: patched lost-cancel" in r.stderr and "patched evil" not in r.stderr, r.stderr
    assert took < R.TIME_LIMIT + 60
    binary = tmp_path / "svc"
    link, _ = _run(["go", "tool", "link", "-o", str(binary), "-importcfg", str(importcfg), str(out)],
                   env=go_env(), timeout=300)
    assert link.returncode == 0, link.stderr
    run, _ = _run([str(binary)], timeout=60)
    assert run.returncode == 0, run.stderr
    log = tmp_path / "xdg" / "toolexec-rehab" / "rejections.log"
    assert not log.exists() or "evil" not in log.read_text()
