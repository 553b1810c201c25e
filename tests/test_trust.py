"""Trust: no one else's files steer a build (README "Trust").

Each test is an attack that worked before: a config planted in a parent directory, a
repository's rule directory outside the repository, a template that includes a secret
through a symbolic link, a shared cache directory prepared by another user, an overlay
directory prepared in advance, an audit log aimed at someone else's file, and settings
that were silently ignored. Where another local user matters, a real one is created
(useradd; skipped unless root)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
from helpers import BIN, compile_tool, go_env, rehab, tree_digest

from toolexec_rehab.paths import builtin_dirs

# main opens its own binary and never closes it: file-not-closed fixes it
LEAK = ('package main\n\nimport "os"\n\nfunc main() {\n\tf, err := os.Open(os.Args[0])\n\tif err != nil {\n'
        '\t\treturn\n\t}\n\tb := make([]byte, 1)\n\tn, _ := f.Read(b)\n\tprintln("ran", n)\n}\n')
MARK = "PWNED-BY-SOMEONE-ELSE"
SECRET = "-----BEGIN FAKE PRIVATE KEY----- 5ecret"


def _evil_rules(d, template: str, extra: dict | None = None):
    """A rule directory whose rule matches the leak above and whose fix is `template`."""
    (d / "templates").mkdir(parents=True, exist_ok=True)
    pat, _ = builtin_dirs()
    y = open(os.path.join(pat, "file-not-closed.yaml")).read()
    y = y.replace("- acquires: {}", "- acquires: {resources: [os-file]}")
    (d / "evil.yaml").write_text(y.replace("id: file-not-closed", "id: evil")
                                 .replace("file-not-closed.go.j2", "evil.go.j2"))
    (d / "templates" / "evil.go.j2").write_text(template)
    for name, text in (extra or {}).items():
        (d / "templates" / name).write_text(text)
    return d


def _module(d, name="victim"):
    m = d / name
    m.mkdir(parents=True)
    (m / "go.mod").write_text("module example.com/victim\n\ngo 1.22\n")
    (m / "main.go").write_text(LEAK)
    return m


def _no_traceback(r):
    assert "Traceback" not in r.stderr, r.stderr


@pytest.fixture
def shared_tmp():
    """A directory every local user can reach (pytest's tmp_path is under a 0700 dir)."""
    d = tempfile.mkdtemp(prefix="rehab-trust-", dir="/tmp")
    os.chmod(d, 0o755)
    yield __import__("pathlib").Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def other_user():
    """A real second local user (the attacker), removed afterwards."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("needs root and useradd to create a second user")
    name = "rh" + uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "-M", "-s", "/bin/sh", name], check=True, capture_output=True)
    pw = pwd.getpwnam(name)
    yield pw
    subprocess.run(["userdel", name], capture_output=True)


def _as(pw, script: str, cwd=None):
    """Run a shell script as that user."""
    r = subprocess.run(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
                        "sh", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r


# ------------------------------------------------------------------ 1. configs above the module root

def test_a_config_planted_in_a_parent_directory_is_never_read(shared_tmp, other_user):
    """High: another user plants .rehab.yaml (with rule_dirs and their template) in a
    world-writable directory above the victim's module. The victim's build must not compile
    their code: the binary behaves as the plain build's (plus our own fix), the config is
    not part of the build's ID, and check does not run their rule."""
    parent = shared_tmp / "shared"
    parent.mkdir()
    os.chmod(parent, 0o777)
    _as(other_user, f"""set -e
mkdir -p {parent}/evil/templates
cat > {parent}/.rehab.yaml <<'EOF'
rule_dirs: [evil]
rules: {{evil: fix}}
EOF
""")
    _evil_rules(parent / "evil", f'; defer {{{{ handle }}}}.Close(); println("{MARK}")')
    for p in (parent / "evil", *(parent / "evil").rglob("*")):
        os.chown(p, other_user.pw_uid, other_user.pw_gid)
    m = _module(parent)
    xdg = shared_tmp / "xdg"
    env = go_env(GOFLAGS=f"-toolexec={BIN}", XDG_CACHE_HOME=str(xdg), REHAB_VERBOSE="1",
                 GOCACHE=subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True,
                                        env=go_env()).stdout.strip())
    b = subprocess.run(["go", "build", "-o", str(shared_tmp / "bin"), "."], cwd=m, env=env,
                       capture_output=True, text=True, timeout=900)
    assert b.returncode == 0, b.stderr
    assert "patched file-not-closed" in b.stderr and "patched evil" not in b.stderr, b.stderr
    run = subprocess.run([str(shared_tmp / "bin")], capture_output=True, text=True, timeout=60)
    assert MARK not in run.stdout + run.stderr and "ran" in run.stderr
    assert MARK.encode() not in (shared_tmp / "bin").read_bytes()
    c = rehab("check", "--format", "json", ".", cwd=m)
    assert c.returncode == 1 and {f["rule"] for f in json.loads(c.stdout)} == {"file-not-closed"}, c.stderr
    # the same file at the module root, owned by the other user: refused loudly, never read
    shutil.copy(parent / ".rehab.yaml", m / ".rehab.yaml")
    os.chown(m / ".rehab.yaml", other_user.pw_uid, other_user.pw_gid)
    c = rehab("check", ".", cwd=m)
    assert c.returncode == 2 and "refusing to read" in c.stderr and f"uid {other_user.pw_uid}" in c.stderr
    _no_traceback(c)
    v = subprocess.run([str(BIN), compile_tool(), "-V=full"], cwd=m, env=env, capture_output=True, text=True)
    assert v.returncode == 2 and "refusing to read" in v.stderr


@pytest.mark.parametrize("how", ["group-writable", "world-writable", "symlink"])
def test_module_root_config_must_be_ours_and_private(tmp_path, how):
    m = _module(tmp_path)
    real = tmp_path / "elsewhere.yaml"
    real.write_text("rules: {unchecked-error: off}\n")
    cfg = m / ".rehab.yaml"
    if how == "symlink":
        cfg.symlink_to(real)
    else:
        shutil.copy(real, cfg)
        os.chmod(cfg, 0o664 if how == "group-writable" else 0o646)
        os.chown(cfg, os.geteuid(), 4242)  # a group that is not the user's private one
    r = rehab("check", ".", cwd=m)
    assert r.returncode == 2 and "refusing to read" in r.stderr, r.stderr
    _no_traceback(r)
    ok = rehab("check", ".", cwd=m, env={"REHAB_CONFIG": str(real)})  # named explicitly: the user's choice
    assert ok.returncode == 1, ok.stderr


def test_a_config_in_the_module_cache_is_never_read(tmp_path):
    """A dependency's module (pulled into scope by packages.include) may ship a .rehab.yaml:
    it is someone else's code, and its config is not read."""
    mc = tmp_path / "gopath" / "pkg" / "mod" / "example.com" / "dep@v1.0.0"
    mc.mkdir(parents=True)
    (mc / "go.mod").write_text("module example.com/dep\n\ngo 1.22\n")
    (mc / "dep.go").write_text(LEAK.replace("package main", "package dep").replace("func main", "func Main"))
    (mc / ".rehab.yaml").write_text("rules: {file-not-closed: off}\n")
    r = rehab("check", "--format", "json", ".", cwd=mc, env={"GOMODCACHE": str(tmp_path / "gopath" / "pkg" / "mod")})
    assert r.returncode == 1 and json.loads(r.stdout)[0]["rule"] == "file-not-closed", r.stderr
    # outside the module cache the same file is read (the test can fail)
    r = rehab("check", ".", cwd=mc, env={"GOMODCACHE": str(tmp_path / "elsewhere")})
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------ 2. a repository's rules stay in it

def test_repo_rule_dirs_are_confined_to_the_repo(tmp_path):
    m = _module(tmp_path)
    _evil_rules(tmp_path / "outside", "; defer {{ handle }}.Close()")
    (m / ".rehab.yaml").write_text("rule_dirs: [../outside]\n")
    r = rehab("check", ".", cwd=m)
    assert r.returncode == 2 and ".rehab.yaml:1: rule_dirs" in r.stderr and "outside the module root" in r.stderr
    _no_traceback(r)
    # a symbolic link inside the repo that leads out is the same thing
    (m / "rules").symlink_to(tmp_path / "outside")
    (m / ".rehab.yaml").write_text("rule_dirs: [rules]\n")
    r = rehab("check", ".", cwd=m)
    assert r.returncode == 2 and "outside the module root" in r.stderr, r.stderr
    # inside the repo: used
    (m / "rules").unlink()
    _evil_rules(m / "rules", "; defer {{ handle }}.Close()")
    r = rehab("check", "--format", "json", "--rules", "evil", ".", cwd=m)
    assert r.returncode == 1 and json.loads(r.stdout)[0]["rule"] == "evil", r.stderr


def test_repo_rules_can_be_switched_off_for_untrusted_pull_requests(tmp_path):
    m = _module(tmp_path)
    _evil_rules(m / "rules", f'; defer {{{{ handle }}}}.Close(); println("{MARK}")')
    (m / ".rehab.yaml").write_text("rule_dirs: [rules]\nrules: {evil: fix}\n")
    on = rehab("fix", "--diff", ".", cwd=m)
    assert MARK in on.stdout, on.stdout + on.stderr  # the repository's rule runs by default
    off = rehab("fix", "--diff", ".", cwd=m, env={"REHAB_REPO_RULES": "off"})
    # its rule is gone; the config's setting for it names an unknown rule: loud, not silent
    assert off.returncode == 2 and "unknown rule 'evil'" in off.stderr and MARK not in off.stdout
    (m / ".rehab.yaml").write_text("rule_dirs: [rules]\n")
    off = rehab("fix", "--diff", ".", cwd=m, env={"REHAB_REPO_RULES": "0"})
    assert off.returncode == 1 and MARK not in off.stdout and "defer f.Close()" in off.stdout, off.stderr
    # the user's own config can say the same, for every repository
    xdg = tmp_path / "xdgconf"
    (xdg / "toolexec-rehab").mkdir(parents=True, mode=0o700)
    (xdg / "toolexec-rehab" / "config.yaml").write_text("repo_rules: off\n")
    off = rehab("fix", "--diff", ".", cwd=m, env={"XDG_CONFIG_HOME": str(xdg)})
    assert off.returncode == 1 and MARK not in off.stdout, off.stderr
    # and a repository's config may not say it
    (m / ".rehab.yaml").write_text("repo_rules: on\n")
    r = rehab("check", ".", cwd=m)
    assert r.returncode == 2 and ".rehab.yaml:1: repo_rules" in r.stderr


# ------------------------------------------------------------------ 3. templates never follow links

@pytest.mark.parametrize("shape", ["include", "template", "rule-file", "templates-dir"])
def test_templates_and_rules_never_read_through_a_symlink(tmp_path, shape):
    """High: `{% include "k.j2" %}` with k.j2 -> a secret outside the repository compiled the
    secret into the binary. Now the link is refused, the secret appears nowhere (fix output,
    overlay, SARIF, messages), and the rule fails loudly (a warning naming the link, or exit 2)."""
    secret = tmp_path / "home" / ".ssh" / "id_rsa"
    secret.parent.mkdir(parents=True)
    secret.write_text(SECRET + "\n")
    m = _module(tmp_path)
    rules = m / "rules"
    if shape == "include":
        _evil_rules(rules, '; defer {{ handle }}.Close() // {% include "k.j2" %}')
        (rules / "templates" / "k.j2").symlink_to(secret)
    elif shape == "template":
        _evil_rules(rules, "")
        (rules / "templates" / "evil.go.j2").unlink()
        (rules / "templates" / "evil.go.j2").symlink_to(secret)
    elif shape == "rule-file":
        _evil_rules(rules, "; defer {{ handle }}.Close()")
        (tmp_path / "evil.yaml").write_text((rules / "evil.yaml").read_text())
        (rules / "evil.yaml").unlink()
        (rules / "evil.yaml").symlink_to(tmp_path / "evil.yaml")
    else:
        _evil_rules(tmp_path / "elsewhere", "; defer {{ handle }}.Close() // " + SECRET)
        rules.mkdir()
        shutil.copy(tmp_path / "elsewhere" / "evil.yaml", rules / "evil.yaml")
        (rules / "templates").symlink_to(tmp_path / "elsewhere" / "templates")
    (m / ".rehab.yaml").write_text("rule_dirs: [rules]\nrules: {evil: fix}\n")
    before = tree_digest(m)
    outs = []
    for cmd in (["fix", "--diff"], ["check", "--format", "sarif"], ["overlay", "-o", str(tmp_path / "ov.json")]):
        r = rehab(*cmd, "--rules", "evil", ".", cwd=m)
        outs.append(r.stdout + r.stderr)
        # a rule file or template that is a link is refused when the rules load (exit 2); a
        # link met while a fix renders breaks only that rule (issue 16, item 4): a warning,
        # the finding reported without a fix
        want = (0, 1) if shape == "include" else (2,)
        assert r.returncode in want, (cmd, r.returncode, r.stdout, r.stderr)
        _no_traceback(r)
        assert "symbolic link" in r.stderr or "outside" in r.stderr, r.stderr
    for p in tmp_path.rglob("*"):
        if p.is_file() and not p.is_symlink() and p != secret and p.suffix != ".yaml" and \
                "elsewhere" not in p.parts:
            outs.append(p.read_text(errors="replace"))
    assert not any(SECRET in o for o in outs)
    assert tree_digest(m) == before


# ------------------------------------------------------------------ 4. a shared cache directory

def test_a_cache_directory_prepared_by_someone_else_is_not_used(shared_tmp, other_user):
    """Medium: with a shared XDG_CACHE_HOME, another user pre-creates toolexec-rehab/ with a
    log that is a symlink to the victim's file and a forged vfull.cache. Nothing is written
    through the link, the forged compiler ID is not believed, and the build still works."""
    xdg = shared_tmp / "xdg"
    xdg.mkdir()
    os.chmod(xdg, 0o1777)
    victim_file = shared_tmp / "victim-notes.txt"
    victim_file.write_text("mine\n")
    tool = compile_tool()
    forged = "compile version go0.0.0 rehabFORGED0000000000"
    # a complete, valid cache answer (as the victim's own launcher would write it), with the ID
    # replaced: only its owner tells it apart
    own = shared_tmp / "own-xdg"
    own_env = go_env(XDG_CACHE_HOME=str(own), PWD=str(shared_tmp))
    cf = own / "toolexec-rehab" / "vfull.cache"
    for _ in range(100):
        before = cf.read_bytes() if cf.exists() else None
        r = subprocess.run([str(BIN), tool, "-V=full"], cwd=shared_tmp, env=own_env, capture_output=True, text=True)
        if before is not None and before.endswith(r.stdout.encode()):
            break
        __import__("time").sleep(0.1)
    else:
        raise AssertionError("the launcher never answered from its cache")
    text = cf.read_text().rsplit("\nV ", 1)[0] + f"\nV {forged}\n"
    (shared_tmp / "forged").write_text(text)
    cf.write_text(text)  # in a directory of ours it is believed: the forgery is complete
    r = subprocess.run([str(BIN), tool, "-V=full"], cwd=shared_tmp, env=own_env, capture_output=True, text=True)
    assert r.stdout.strip() == forged, r.stdout + r.stderr
    _as(other_user, f"""set -e
mkdir -m 0777 {xdg}/toolexec-rehab
ln -s {victim_file} {xdg}/toolexec-rehab/rejections.log
ln -s {victim_file} {xdg}/toolexec-rehab/audit.jsonl
cp {shared_tmp}/forged {xdg}/toolexec-rehab/vfull.cache
""", cwd=shared_tmp)
    env = go_env(XDG_CACHE_HOME=str(xdg), PWD=str(shared_tmp))
    v = subprocess.run([str(BIN), tool, "-V=full"], cwd=shared_tmp, env=env, capture_output=True, text=True)
    assert v.returncode == 0 and "FORGED" not in v.stdout and " rehab" in v.stdout, v.stdout + v.stderr
    m = _module(shared_tmp, "m")
    (m / "main.go").write_text(LEAK.replace("package main", "package main // " + uuid.uuid4().hex))
    b = subprocess.run(["go", "build", "-o", str(shared_tmp / "bin"), "."], cwd=m, capture_output=True, text=True,
                       env=go_env(GOFLAGS=f"-toolexec={BIN}", XDG_CACHE_HOME=str(xdg), REHAB_VERBOSE="1",
                                  GOCACHE=subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True,
                                                         env=go_env()).stdout.strip()), timeout=900)
    assert b.returncode == 0 and "patched file-not-closed" in b.stderr, b.stderr
    assert "not using it" in b.stderr  # said (with REHAB_VERBOSE; a quiet build stays quiet)
    # fix --write needs an audit log: the default one is in the refused directory, so it refuses
    w = rehab("fix", "--write", ".", cwd=m, env={"XDG_CACHE_HOME": str(xdg)})
    assert w.returncode == 2 and "not using it" in w.stderr, w.stderr
    _no_traceback(w)
    assert victim_file.read_text() == "mine\n"
    owned = [p for p in (xdg / "toolexec-rehab").iterdir() if p.lstat().st_uid == os.geteuid()]
    assert owned == [], owned


def test_our_cache_dir_is_created_private_and_files_never_follow_links(tmp_path):
    xdg = tmp_path / "xdg"
    r = rehab("rules", "list", env={"XDG_CACHE_HOME": str(xdg)})
    assert r.returncode == 0
    d = xdg / "toolexec-rehab"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700 and d.stat().st_uid == os.geteuid()
    # a directory of ours that is a symlink is refused too
    shutil.rmtree(d)
    (tmp_path / "real").mkdir(mode=0o700)
    d.symlink_to(tmp_path / "real")
    r = rehab("overlay", ".", cwd=_module(tmp_path), env={"XDG_CACHE_HOME": str(xdg)})
    assert r.returncode == 2 and "not using it" in r.stderr, r.stderr
    assert list((tmp_path / "real").iterdir()) == []


def test_write_private_never_writes_through_a_planted_name(tmp_path):
    from toolexec_rehab.paths import write_private

    target = tmp_path / "victim"
    target.write_text("keep")
    d = tmp_path / "d"
    d.mkdir()
    # every temporary name we could pick is taken by a link to the victim: we still never write it
    (d / "out").symlink_to(target)
    write_private(str(d / "out"), b"new")
    assert target.read_text() == "keep" and (d / "out").read_bytes() == b"new" and not (d / "out").is_symlink()
    assert [p.name for p in d.iterdir()] == ["out"]


# ------------------------------------------------------------------ 5. overlay -o FILE.d

def test_overlay_refuses_a_d_directory_it_did_not_create(shared_tmp, other_user):
    """Medium: an attacker pre-created FILE.d and swapped a source file there after overlay
    wrote it. Now overlay refuses a .d it did not create, and reuses only its own."""
    os.chmod(shared_tmp, 0o1777)  # a shared directory, like /tmp
    m = _module(shared_tmp, "m")
    out = shared_tmp / "ov.json"
    _as(other_user, f"mkdir -m 0777 {out}.d && echo 'package main' > {out}.d/000_main.go")
    r = rehab("overlay", "-o", str(out), ".", cwd=m)
    assert r.returncode == 2 and "was not created by" in r.stderr, r.stderr
    _no_traceback(r)
    assert not out.exists()
    # our own earlier .d is reused (and emptied of old sources)
    out2 = shared_tmp / "mine.json"
    for _ in range(2):
        r = rehab("overlay", "-o", str(out2), ".", cwd=m)
        assert r.returncode == 0, r.stderr
    d = shared_tmp / "mine.json.d"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert sorted(p.name for p in d.iterdir()) == [".toolexec-rehab-overlay", "000_main.go"]
    # a .d of ours without our stamp (the user's own directory): refused, not clobbered
    (shared_tmp / "x.json.d").mkdir(mode=0o700)
    (shared_tmp / "x.json.d" / "notes.go").write_text("keep")
    r = rehab("overlay", "-o", str(shared_tmp / "x.json"), ".", cwd=m)
    assert r.returncode == 2 and (shared_tmp / "x.json.d" / "notes.go").read_text() == "keep"


# ------------------------------------------------------------------ 6. the audit log

def test_a_repo_config_cannot_aim_the_audit_log_outside_the_repo(tmp_path):
    m = _module(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    for target, what in ((str(victim), "outside the module root"), (".git/hooks/post-checkout", "into .git")):
        (m / ".git" / "hooks").mkdir(parents=True, exist_ok=True)
        (m / ".rehab.yaml").write_text(f"audit_log: {target}\n")
        r = rehab("fix", "--write", ".", cwd=m)
        assert r.returncode == 2 and ".rehab.yaml:1: audit_log" in r.stderr and what in r.stderr, r.stderr
        _no_traceback(r)
    assert victim.read_text() == "mine\n" and not (m / ".git" / "hooks" / "post-checkout").exists()
    # a link inside the repo to a file outside it: refused, not written through
    (m / "audit.jsonl").symlink_to(victim)
    (m / ".rehab.yaml").write_text("audit_log: audit.jsonl\n")
    before = tree_digest(m)
    r = rehab("fix", "--write", ".", cwd=m)
    assert r.returncode == 2 and "outside the module root" in r.stderr and victim.read_text() == "mine\n"
    assert tree_digest(m) == before  # nothing fixed when the fix cannot be recorded
    # a link to a file inside the repo is not written through either
    (m / "audit.jsonl").unlink()
    (m / "notes.txt").write_text("keep\n")
    (m / "audit.jsonl").symlink_to(m / "notes.txt")
    r = rehab("fix", "--write", ".", cwd=m, env={"REHAB_CONFIG": ""})
    assert r.returncode == 2 and (m / "notes.txt").read_text() == "keep\n", r.stderr
    # the user's own choice (REHAB_AUDIT_LOG) is theirs to make
    (m / ".rehab.yaml").unlink()
    r = rehab("fix", "--write", ".", cwd=m, env={"REHAB_AUDIT_LOG": str(tmp_path / "mine.jsonl")})
    assert r.returncode == 0 and (tmp_path / "mine.jsonl").exists(), r.stderr


def test_unwritable_audit_logs_are_clean_errors(tmp_path):
    m = _module(tmp_path)
    before = tree_digest(m)
    r = rehab("fix", "--write", ".", cwd=m, env={"REHAB_AUDIT_LOG": "/proc/version"})
    assert r.returncode == 2 and "/proc/version" in r.stderr, r.stderr
    _no_traceback(r)
    assert tree_digest(m) == before


def test_a_build_that_cannot_record_its_fix_does_not_apply_it(tmp_path):
    """build.audit: true and an audit log that cannot be written: a warning, and the
    original code is compiled (fail closed), checked on the compile of our package alone."""
    m = _module(tmp_path)
    (m / "ro").mkdir()
    (m / ".rehab.yaml").write_text("audit_log: ro/audit.jsonl\nbuild: {audit: true}\n")
    (m / "ro" / "audit.jsonl").mkdir()  # not a regular file: cannot be appended to
    out = tmp_path / "obj" / "_pkg_.a"
    out.parent.mkdir()
    importcfg = tmp_path / "importcfg"
    exp = subprocess.run(["go", "list", "-export", "-f", "{{.Export}}", "os"], capture_output=True, text=True,
                         env=go_env(), check=True).stdout.strip()
    importcfg.write_text(f"packagefile os={exp}\n")
    argv = [str(BIN), compile_tool(), "-o", str(out), "-p", "main", "-importcfg", str(importcfg), "-pack",
            str(m / "main.go")]
    env = go_env(XDG_CACHE_HOME=str(tmp_path / "xdg"), TOOLEXEC_IMPORTPATH="example.com/victim",
                 REHAB_VERBOSE="1", REHAB_SERVER="off")
    r = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=m)
    assert r.returncode == 0 and out.exists(), r.stderr
    assert "warning" in r.stderr and "compiled as written" in r.stderr and "patched" not in r.stderr, r.stderr
    # with a writable log the same compile applies and records the fix (the test can fail)
    (m / "ro" / "audit.jsonl").rmdir()
    r = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=m)
    assert r.returncode == 0 and "patched file-not-closed" in r.stderr, r.stderr
    assert json.loads((m / "ro" / "audit.jsonl").read_text().splitlines()[0])["rule"] == "file-not-closed"


# ------------------------------------------------------------------ 7. loud on misconfiguration

BAD_SETTINGS = [
    ({"REHAB_RULES": "nosuch"}, "unknown rule(s): nosuch"),
    ({"REHAB_MODES": "garbage"}, "REHAB_MODES: 'garbage'"),
    ({"REHAB_MODES": "nosuch=fix"}, "REHAB_MODES: unknown rule(s): nosuch"),
    ({"REHAB_RULE_DIRS": "/nonexistent/rules"}, "REHAB_RULE_DIRS: /nonexistent/rules: no such directory"),
    ({"REHAB_INSTRUMENT": "maybe"}, "REHAB_INSTRUMENT='maybe': not a boolean"),
    ({"REHAB_FIX": "maybe"}, "REHAB_FIX='maybe': must be one of on, off, confirmed"),
    ({"REHAB_VERBOSE": "off "}, None),  # a good value, for contrast
    ({"REHAB_SERVER_IDLE": "abc"}, "REHAB_SERVER_IDLE='abc': not a number"),
    ({"REHAB_SCOPE": "everything"}, "REHAB_SCOPE='everything'"),
    ({"REHAB_RUELS": "file-not-closed"}, "REHAB_RUELS: unknown setting (did you mean REHAB_RULES?)"),
]


@pytest.mark.parametrize("env,msg", BAD_SETTINGS, ids=[next(iter(e)) + "=" + next(iter(e.values()))
                                                        for e, _ in BAD_SETTINGS])
def test_bad_settings_stop_the_build_at_v_full(tmp_path, env, msg):
    """cmd/go asks `compile -V=full` first in every build: a bad setting stops the build
    there with its message, through the launcher's cached answer too."""
    m = _module(tmp_path)
    base = go_env(XDG_CACHE_HOME=str(tmp_path / "xdg"), PWD=str(m))
    tool = compile_tool()
    cf = tmp_path / "xdg" / "toolexec-rehab" / "vfull.cache"
    for _ in range(100):  # until the launcher answers from its cache (written by the compile server)
        before = cf.read_bytes() if cf.exists() else None
        good = subprocess.run([str(BIN), tool, "-V=full"], cwd=m, env=base, capture_output=True, text=True)
        assert good.returncode == 0, good.stderr
        if before is not None and before.endswith(good.stdout.encode()):
            break
        __import__("time").sleep(0.1)
    else:
        raise AssertionError("the launcher never answered from its cache")
    r = subprocess.run([str(BIN), tool, "-V=full"], cwd=m, env={**base, **env}, capture_output=True, text=True)
    if msg is None:
        assert r.returncode == 0, r.stderr
        return
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    _no_traceback(r)
    c = rehab("check", ".", cwd=m, env=env)
    assert c.returncode == 2 and msg in c.stderr, c.stderr


def test_a_bad_rule_file_stops_the_build_with_its_location(tmp_path):
    m = _module(tmp_path)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text("id: bad\nsummary: [unclosed\n")
    env = go_env(GOFLAGS=f"-toolexec={BIN}", XDG_CACHE_HOME=str(tmp_path / "xdg"), REHAB_RULE_DIRS=str(rules))
    b = subprocess.run(["go", "build", "-o", str(tmp_path / "bin"), "."], cwd=m, env=env, capture_output=True,
                       text=True, timeout=300)
    assert b.returncode != 0 and f"{rules}/bad.yaml:2" in b.stderr, b.stderr


def test_one_boolean_parser_for_every_setting(tmp_path):
    """REHAB_VERBOSE=off used to print patch lines; every boolean now reads the same words."""
    from toolexec_rehab import settings

    for word in ("1", "true", "YES", "On"):
        assert settings.parse_bool("X", word) is True
    for word in ("0", "false", "No", "OFF"):
        assert settings.parse_bool("X", word) is False
    with pytest.raises(settings.SettingError):
        settings.parse_bool("X", "maybe")
    m = _module(tmp_path)
    r = subprocess.run([sys.executable, "-c", "import sys; from toolexec_rehab.toolexec.wrap import _verbose; "
                        "sys.exit(0 if _verbose() else 1)"], env={**os.environ, "REHAB_VERBOSE": "off"}, cwd=m)
    assert r.returncode == 1


# ------------------------------------------------------------------ 8. a complete cache key

def _fake_install(tmp_path):
    """A copy of the installed package, run by this interpreter through a copy of the
    launcher: an install whose code we may edit."""
    import toolexec_rehab

    src = os.path.dirname(toolexec_rehab.__file__)
    lib = tmp_path / "install" / "lib"
    pkg = lib / "toolexec_rehab"
    shutil.copytree(src, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    pat, tmpl = builtin_dirs()
    if not (pkg / "patterns").exists():
        shutil.copytree(pat, pkg / "patterns")
        shutil.copytree(tmpl, pkg / "templates")
    bindir = tmp_path / "install" / "bin"
    bindir.mkdir()
    shutil.copy(BIN, bindir / "toolexec-rehab")
    entry = bindir / "toolexec-rehab-py"
    entry.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(lib)!r})\n"
                     "from toolexec_rehab.shim import main\nsys.exit(main())\n")
    entry.chmod(0o755)
    return bindir / "toolexec-rehab", pkg


def test_v_full_covers_our_code_and_included_templates_recursively(tmp_path):
    """Editing a template included from a subdirectory of a rule directory, or our own code
    (same version number), changes the compiler ID that keys cmd/go's cache, also when the
    launcher answers from its cache."""
    launcher, pkg = _fake_install(tmp_path)
    m = _module(tmp_path)
    rules = tmp_path / "rules"
    _evil_rules(rules, '; defer {{ handle }}.Close(){% include "sub/inc.j2" %}')
    (rules / "templates" / "sub").mkdir()
    inc = rules / "templates" / "sub" / "inc.j2"
    inc.write_text("")
    env = go_env(XDG_CACHE_HOME=str(tmp_path / "xdg"), REHAB_RULE_DIRS=str(rules), PWD=str(m))
    tool = compile_tool()

    cf = tmp_path / "xdg" / "toolexec-rehab" / "vfull.cache"

    def vfull():
        """Ask until the launcher answered from its cache (the compile server starts in the
        background and writes the cache): every answer on the way must be the same."""
        import time

        outs = set()
        for _ in range(100):
            before = cf.read_bytes() if cf.exists() else None
            r = subprocess.run([str(launcher), tool, "-V=full"], cwd=m, env=env, capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            outs.add(r.stdout)
            if before is not None and cf.read_bytes() == before and before.endswith(r.stdout.encode()):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the launcher never answered from its cache")
        assert len(outs) == 1, outs
        return outs.pop()

    first = vfull()
    inc.write_text("{# changed #}")
    second = vfull()
    assert second != first
    with open(pkg / "rules" / "flow.py", "a") as fh:
        fh.write("\n# an edited copy of the same version\n")
    third = vfull()
    assert third not in (first, second)
    from toolexec_rehab import __version__

    assert __version__ in subprocess.run([str(launcher), "--version"], capture_output=True, text=True).stdout


def test_overlay_with_an_unwritable_home_is_a_clean_error(tmp_path):
    m = _module(tmp_path)
    env = {"HOME": "/proc/1", "XDG_CACHE_HOME": ""}
    r = rehab("overlay", ".", cwd=m, env=env)
    assert r.returncode == 2 and "-o FILE" in r.stderr and r.stdout == "", r.stderr
    _no_traceback(r)
    ok = rehab("overlay", "-o", str(tmp_path / "ov.json"), ".", cwd=m, env=env)  # the way out it names
    assert ok.returncode == 0 and json.loads((tmp_path / "ov.json").read_text())["Replace"], ok.stderr


def test_a_runtime_dir_prepared_by_someone_else_is_not_used(shared_tmp, other_user):
    """Another user pre-creates our compile server's socket directory: we never listen or
    connect there (no server: slower, never theirs), and say so."""
    rt = shared_tmp / "run"
    rt.mkdir()
    os.chmod(rt, 0o1777)
    _as(other_user, f"mkdir -m 0777 {rt}/toolexec-rehab")
    m = _module(shared_tmp, "m")
    r = rehab("check", ".", cwd=m, env={"XDG_RUNTIME_DIR": str(rt)})
    assert r.returncode == 1 and "not a private directory of yours" in r.stderr, r.stderr
    assert list((rt / "toolexec-rehab").iterdir()) == []


# ------------------------------------------------------------------ 9. fix --write on a shared tree

def _leaky_files(m, names):
    """One leaky function per file of package main, beside main.go."""
    for n in names:
        (m / f"{n}.go").write_text(f'package main\n\nimport "os"\n\nfunc Open{n.upper()}() byte {{\n'
                                   f'\tf, err := os.Open("{n}")\n\tif err != nil {{\n\t\treturn 0\n\t}}\n'
                                   f'\tb := make([]byte, 1)\n\tf.Read(b)\n\treturn b[0]\n}}\n')


def _audited_files(log) -> list[str]:
    if not os.path.exists(log):
        return []
    return sorted({os.path.basename(json.loads(x)["file"]) for x in open(log).read().splitlines()})


def test_fix_write_refuses_a_source_file_linked_out_of_the_module(tmp_path):
    """A package file that is a symbolic link to a file outside the module (someone else's
    checkout, a shared directory) is neither written through nor replaced: a clear error
    naming it, exit 2, and nothing written anywhere (main.go, fixable too, is left as well)."""
    m = _module(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _leaky_files(outside, ["shared"])
    (m / "shared.go").symlink_to(outside / "shared.go")
    assert rehab("fix", "--diff", ".", cwd=m).stdout.count("+++ ") == 2  # both files would be fixed
    log = tmp_path / "audit.jsonl"
    before = tree_digest(tmp_path)
    r = rehab("fix", "--write", ".", cwd=m, env={"REHAB_AUDIT_LOG": str(log)})
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "shared.go" in r.stderr and "outside the module" in r.stderr and "nothing written" in r.stderr, r.stderr
    _no_traceback(r)
    assert tree_digest(tmp_path) == before
    assert os.readlink(m / "shared.go") == str(outside / "shared.go")
    assert not log.exists()


def test_fix_write_writes_through_a_link_inside_the_module(tmp_path):
    """A link to a file inside the module stays a link; the file it names is fixed."""
    m = _module(tmp_path)
    (m / "testdata").mkdir()  # cmd/go ignores testdata/: the file is in package main only through the link
    _leaky_files(m / "testdata", ["shared"])
    (m / "shared.go").symlink_to("testdata/shared.go")
    old = (m / "testdata" / "shared.go").read_bytes()
    r = rehab("fix", "--write", ".", cwd=m, env={"REHAB_AUDIT_LOG": str(tmp_path / "audit.jsonl")})
    assert r.returncode == 0, r.stderr
    assert os.readlink(m / "shared.go") == "testdata/shared.go"
    assert (m / "testdata" / "shared.go").read_bytes() != old
    assert sorted(os.listdir(m)) == ["go.mod", "main.go", "shared.go", "testdata"]


def test_fix_write_keeps_each_files_mode_and_owner(tmp_path):
    """On a shared tree a fixed file stays its owner's, with its group and permission bits
    (the new file replaces the old one, so these are set on it before the rename)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another uid")
    m = _module(tmp_path)
    _leaky_files(m, ["a", "b", "c"])
    want = {"main.go": (0o644, 0, 0), "a.go": (0o640, 1234, 1234), "b.go": (0o755, 0, 4321),
            "c.go": (0o2775, 1234, 0)}
    for name, (mode, uid, gid) in want.items():
        os.chown(m / name, uid, gid)
        os.chmod(m / name, mode)
    before = tree_digest(m)
    r = rehab("fix", "--write", ".", cwd=m, env={"REHAB_AUDIT_LOG": str(tmp_path / "audit.jsonl")})
    assert r.returncode == 0, r.stderr
    after = tree_digest(m)
    assert sorted(k for k in before if before[k] != after[k]) == sorted(want), (before, after)  # all fixed
    got = {name: (stat.S_IMODE(os.lstat(m / name).st_mode), os.lstat(m / name).st_uid, os.lstat(m / name).st_gid)
           for name in want}
    assert got == want
    assert sorted(os.listdir(m)) == sorted([*want, "go.mod"])  # no temporary file left


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_fix_write_interrupted_mid_write_leaves_each_file_old_or_new(tmp_path, sig):
    """A signal while `fix --write` replaces files (REHAB_FIX_PAUSE holds it after each file):
    no temporary file is left, every file is byte for byte the old one or the fixed one, and
    every file that changed has its fixes in the audit log."""
    names = ["a", "b", "c", "d"]
    m = _module(tmp_path / "run")
    _leaky_files(m, names)
    ref = shutil.copytree(m, tmp_path / "ref" / "victim")  # what a run to the end writes
    r = rehab("fix", "--write", ".", cwd=ref, env={"REHAB_AUDIT_LOG": str(tmp_path / "ref.jsonl")})
    assert r.returncode == 0, r.stderr
    old, new = tree_digest(m), tree_digest(ref)
    assert all(old[f"{n}.go"] != new[f"{n}.go"] for n in names)
    log = tmp_path / "audit.jsonl"
    env = dict(os.environ, REHAB_AUDIT_LOG=str(log), REHAB_FIX_PAUSE="2")
    env.pop("GOFLAGS", None)
    # SIGINT as at a terminal: a suite run in the background (`cmd &`) starts with it ignored,
    # and fix --write rightly keeps what it was given
    p = subprocess.Popen([str(BIN), "fix", "--write", "."], cwd=m, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while tree_digest(m) == old and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert p.poll() is None, "fix --write ended before it was signalled: " + p.stderr.read()
    p.send_signal(sig)
    out, err = p.communicate(timeout=120)
    assert p.returncode in (130, -sig), (p.returncode, err)
    now = tree_digest(m)
    assert sorted(now) == sorted(old), sorted(now)  # no temporary file
    changed = sorted(k for k in now if now[k] != old[k])
    assert changed and all(now[k] == new[k] for k in changed), err
    assert _audited_files(log) == changed, (changed, err)
