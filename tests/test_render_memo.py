"""The render memo (rewrite/render.py): a shipped template's render is kept in the private
cache dir, so a later render of the same template with the same context does not import
Jinja. It is never stale: another context, another template text or a user's template dir
is rendered again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

from toolexec_rehab.paths import builtin_dirs
from toolexec_rehab.rewrite import render as R

CTX = {"var": "rows", "handle": "rows", "release": "Close", "release_error": False, "deferred": True, "guarded": False,
       "in_loop": False, "at_once": False, "wrapped": False, "zeros": [], "blanks": "", "node_id64": "0"}

# a child process: render `name` with the JSON context on stdin, print the text and whether
# Jinja was imported to do it
CHILD = textwrap.dedent("""
    import json, sys
    from toolexec_rehab.paths import builtin_dirs
    from toolexec_rehab.rewrite.render import render
    dirs, name, ctx = json.loads(sys.stdin.read())
    text = render(tuple(dirs), name, ctx)
    print(json.dumps({"text": text, "jinja": "jinja2" in sys.modules}))
""")


def _render_in_child(tmp_path, dirs, name, ctx) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps([list(dirs), name, ctx]),
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_a_shipped_render_is_kept_and_the_second_one_needs_no_jinja(tmp_path):
    dirs = (builtin_dirs()[1],)
    first = _render_in_child(tmp_path, dirs, "rows-not-closed.go.j2", CTX)
    assert first["jinja"] and first["text"].strip()
    again = _render_in_child(tmp_path, dirs, "rows-not-closed.go.j2", CTX)
    assert again == {"text": first["text"], "jinja": False}
    # what the memo gave is what Jinja renders
    assert again["text"] == R.environment(*dirs).get_template("rows-not-closed.go.j2").render(**CTX)
    # another context: rendered again, and its own text
    other = _render_in_child(tmp_path, dirs, "rows-not-closed.go.j2", {**CTX, "var": "stmt", "handle": "stmt"})
    assert other["jinja"] and other["text"] != first["text"] and "stmt" in other["text"]


def test_a_user_template_dir_is_rendered_every_time(tmp_path):
    d = tmp_path / "tmpl"
    d.mkdir()
    (d / "x.go.j2").write_text("{{ var }}.Close()\n")
    first = _render_in_child(tmp_path, (str(d),), "x.go.j2", CTX)
    (d / "x.go.j2").write_text("{{ var }}.Release()\n")
    again = _render_in_child(tmp_path, (str(d),), "x.go.j2", CTX)
    assert first["jinja"] and again["jinja"]
    assert first["text"].strip() == "rows.Close()" and again["text"].strip() == "rows.Release()"
    assert not os.path.isdir(tmp_path / "cache" / "toolexec-rehab" / "render")


def test_the_key_covers_every_template_file(tmp_path):
    d = tmp_path / "tmpl"
    shutil.copytree(builtin_dirs()[1], d)
    before = R._templates_digest.__wrapped__((str(d),))
    assert R._templates_digest.__wrapped__((str(d),)) == before
    # an included template changes: every key of the dir changes
    inc = d / "_close.go.j2"
    inc.write_text(inc.read_text() + "\n")
    assert R._templates_digest.__wrapped__((str(d),)) != before


def test_a_context_json_cannot_carry_is_not_kept():
    dirs = (builtin_dirs()[1],)
    assert R._memo_key(dirs, "_close.go.j2", {**CTX, "x": object()}, R.MAX_OUTPUT) is None
    assert R._memo_key(dirs, "_close.go.j2", CTX, R.MAX_OUTPUT) != R._memo_key(dirs, "_close.go.j2", CTX, 10)
