"""fix, overlay, explain, rules, audit, SARIF, go vet -vettool and .rehab.yaml, driven as a user
would: subprocesses on a real Go module, real `go build`/`go test`/`go vet`."""

import json
import os
import pty
import select
import shutil
import subprocess
import textwrap

import pytest
from helpers import BIN, LEAKY, go_env, rehab, tree_digest

# Fails without the fix: 200 reads leak 200 descriptors (no GC runs to finalize them).
FD_TEST = textwrap.dedent('''\
    package p

    import (
    	"os"
    	"runtime/debug"
    	"testing"
    )

    func TestNoFdLeak(t *testing.T) {
    	debug.SetGCPercent(-1)
    	before, _ := os.ReadDir("/proc/self/fd")
    	for i := 0; i < 200; i++ {
    		if _, err := Read("p.go"); err != nil {
    			t.Fatal(err)
    		}
    	}
    	after, _ := os.ReadDir("/proc/self/fd")
    	if n := len(after) - len(before); n > 10 {
    		t.Fatalf("%d descriptors leaked", n)
    	}
    }
    ''')

WRAP = textwrap.dedent('''\
    package q

    import "os"

    func Load(name string) ([]byte, error) {
    	data, err := os.ReadFile(name)
    	if err != nil {
    		return nil, err
    	}
    	return data, nil
    }
    ''')


def _module(tmp_path, files=None):
    root = tmp_path / "mod"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    for rel, body in (files or {"p/p.go": LEAKY}).items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body)
    return root


def _gofmt_l(path) -> str:
    return subprocess.run(["gofmt", "-l", str(path)], capture_output=True, text=True, check=True).stdout


def _go(*args, cwd):
    return subprocess.run(["go", *args], cwd=cwd, env=go_env(), capture_output=True, text=True, timeout=600)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Our cache dir (default audit log, overlays) under tmp; GOCACHE stays the shared one."""
    gocache = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    monkeypatch.setenv("GOCACHE", gocache)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("REHAB_CONFIG", "off")
    monkeypatch.delenv("CI", raising=False)
    return tmp_path


# ------------------------------------------------------------------ fix

def test_fix_diff_is_gofmt_clean_applies_and_touches_nothing(isolated):
    root = _module(isolated)
    before = tree_digest(root)
    r = rehab("fix", "--diff", "./...", cwd=root)
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith("--- a/p/p.go\n+++ b/p/p.go\n"), r.stdout
    assert "+\tdefer f.Close()\n" in r.stdout
    assert tree_digest(root) == before
    copy = isolated / "copy"
    shutil.copytree(root, copy)
    subprocess.run(["patch", "-s", "-p1"], input=r.stdout, cwd=copy, text=True, check=True)
    assert _gofmt_l(copy) == ""
    assert _go("vet", "./...", cwd=copy).returncode == 0
    again = rehab("fix", "--diff", "./...", cwd=copy)
    assert (again.returncode, again.stdout) == (0, ""), again.stderr


def test_fix_write_is_audited_and_tampering_is_detected(isolated):
    root = _module(isolated, {"p/p.go": LEAKY, "q/q.go": LEAKY.replace("package p", "package q")})
    os.chmod(root / "p" / "p.go", 0o640)
    log = isolated / "audit.jsonl"
    env = {"REHAB_AUDIT_LOG": str(log)}
    r = rehab("fix", "--write", "./p", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    assert "fixed ./p/p.go: file-not-closed@9" in r.stderr
    text = (root / "p" / "p.go").read_text()
    assert "\tdefer f.Close()\n" in text and _gofmt_l(root) == ""
    assert oct(os.stat(root / "p" / "p.go").st_mode & 0o777) == oct(0o640)
    (entry,) = [json.loads(x) for x in log.read_text().splitlines()]
    node = json.loads(rehab("check", "--format", "json", "./q", cwd=root).stdout)[0]["node_id"]
    assert entry["rule"] == "file-not-closed" and entry["line"] == 9 and entry["source"] == "fix --write"
    assert entry["prev"] == "0" * 64 and entry["patch_hash"].startswith("sha256:")
    assert {"time", "user", "node_id", "file", "hash"} <= entry.keys() and entry["file"].endswith("p/p.go")
    assert rehab("fix", "--write", "./q", cwd=root, env=env).returncode == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["node_id"] == node
    ok = rehab("audit", "verify", "--log", str(log))
    assert ok.returncode == 0 and "2 entries, chain intact" in ok.stdout, ok.stderr
    head = ok.stdout.split("head ")[-1].strip()

    changed = lines[0].replace('"line":9', '"line":10')
    log.write_text(changed + "\n" + lines[1] + "\n")
    bad = rehab("audit", "verify", "--log", str(log))
    assert bad.returncode == 1 and f"{log}:1: entry was changed" in bad.stderr

    log.write_text(lines[1] + "\n")  # the first entry removed
    bad = rehab("audit", "verify", "--log", str(log))
    assert bad.returncode == 1 and f"{log}:1: chain broken" in bad.stderr

    log.write_text(lines[0] + "\n")  # the last entry removed: only a recorded head shows it
    assert rehab("audit", "verify", "--log", str(log)).returncode == 0
    bad = rehab("audit", "verify", "--log", str(log), "--head", head)
    assert bad.returncode == 1 and "expected " + head in bad.stderr


def test_fix_write_unwritable_audit_log_writes_nothing(isolated):
    root = _module(isolated)
    before = tree_digest(root)
    r = rehab("fix", "--write", "./...", cwd=root, env={"REHAB_AUDIT_LOG": "/dev/null/audit.jsonl"})
    assert r.returncode == 2 and "cannot write the audit log" in r.stderr
    assert tree_digest(root) == before


def test_source_mode_adds_the_import_a_fix_needs(isolated):
    root = _module(isolated, {"q/q.go": WRAP})
    # error-wrap is a suggestion: --write leaves it (and says so) unless --suggestions
    r = rehab("fix", "--write", "--rules", "error-wrap", "./...", cwd=root)
    assert r.returncode == 0 and "1 suggestion(s) not applied" in r.stderr, r.stderr
    assert (root / "q" / "q.go").read_text() == WRAP
    r = rehab("fix", "--write", "--suggestions", "--rules", "error-wrap", "./...", cwd=root)
    assert r.returncode == 0, r.stderr
    text = (root / "q" / "q.go").read_text()
    assert 'import (\n\t"fmt"\n\t"os"\n)' in text and 'fmt.Errorf("Load: %w", err)' in text
    assert _gofmt_l(root) == "" and _go("build", "./...", cwd=root).returncode == 0


# ------------------------------------------------------------------ overlay

def test_overlay_is_used_by_go_build_and_go_test(isolated):
    root = _module(isolated, {"p/p.go": LEAKY, "p/p_test.go": FD_TEST})
    before = tree_digest(root)
    plain = _go("test", "-count=1", "./...", cwd=root)
    assert plain.returncode == 1 and "descriptors leaked" in plain.stdout  # the test can fail
    ov = isolated / "ov" / "overlay.json"
    r = rehab("overlay", "-o", str(ov), "./...", cwd=root)
    assert r.returncode == 0, r.stderr
    replace = json.loads(ov.read_text())["Replace"]
    assert list(replace) == [str(root / "p" / "p.go")]
    assert os.path.dirname(replace[str(root / "p" / "p.go")]) == str(ov) + ".d"
    assert _go("build", "-overlay", str(ov), "./...", cwd=root).returncode == 0
    fixed = _go("test", "-count=1", "-overlay", str(ov), "./...", cwd=root)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert tree_digest(root) == before


# ------------------------------------------------------------------ explain, rules

def test_explain_a_finding_and_a_rule(isolated):
    root = _module(isolated)
    (finding,) = json.loads(rehab("check", "--format", "json", cwd=root).stdout)
    r = rehab("explain", finding["node_id"], cwd=root)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert finding["node_id"] in out and "file-not-closed" in out and "./p/p.go:9" in out
    assert "left open" in out and "13" in out  # the path evidence: the return at line 13
    assert "+\tdefer f.Close()" in out  # before/after
    r = rehab("explain", "body-not-closed")
    assert r.returncode == 0 and "resp.Body" in r.stdout
    r = rehab("explain", "ast-node-0123456789abcdef", cwd=root)
    assert r.returncode == 2 and "ast-node-0123456789abcdef" in r.stderr


def test_rules_list_and_validate(isolated, root):
    r = rehab("rules", "list")
    assert r.returncode == 0 and "rows-not-closed" in r.stdout and "error-wrap" in r.stdout
    ok = rehab("rules", "validate", os.path.join(root, "patterns"))
    assert ok.returncode == 0, ok.stdout + ok.stderr

    rules = isolated / "rules"
    rules.mkdir()
    src = open(os.path.join(root, "patterns", "file-not-closed.yaml")).read()
    body = src.replace("id: file-not-closed", "id: my-file-rule", 1).replace(
        "- acquires: {}", "- acquires: {resources: [os-file]}")
    rule = rules / "my-file-rule.yaml"
    rule.write_text(body.replace("summary:", "sumary:", 1))
    r = rehab("rules", "validate", str(rules))
    line = body.splitlines().index(next(x for x in body.splitlines() if x.startswith("summary:"))) + 1
    assert r.returncode == 2 and f"my-file-rule.yaml:{line}: sumary: unknown key" in r.stderr, r.stderr

    # a rule whose example does not match what it does
    rule.write_text(body.replace("defer f.Close()", "defer f.Sync()"))
    r = rehab("rules", "validate", str(rules))
    assert r.returncode != 0 and "my-file-rule" in (r.stdout + r.stderr)


# ------------------------------------------------------------------ SARIF

def _apply_sarif_fix(src: bytes, fix) -> bytes:
    reps = fix["artifactChanges"][0]["replacements"]
    for rep in sorted(reps, key=lambda x: -x["deletedRegion"]["byteOffset"]):
        reg = rep["deletedRegion"]
        src = src[:reg["byteOffset"]] + rep["insertedContent"]["text"].encode() + src[reg["byteOffset"] + reg["byteLength"]:]
    return src


def test_sarif_validates_and_its_fix_is_the_fix(isolated, root):
    jsonschema = pytest.importorskip("jsonschema")
    # the schema is not committed: ../shared next to the checkout, or the workspace's copy (CI clones elsewhere)
    candidates = [os.environ.get("REHAB_SARIF_SCHEMA", ""),
                  os.path.join(os.path.dirname(root), "shared", "sarif-schema-2.1.0.json"),
                  "/work/shared/sarif-schema-2.1.0.json"]
    schema_path = next((c for c in candidates if c and os.path.isfile(c)), None)
    if schema_path is None:
        pytest.skip(f"no SARIF schema (looked at {', '.join(filter(None, candidates))}; set REHAB_SARIF_SCHEMA)")
    mod = _module(isolated, {"p/p.go": LEAKY, "p/w.go": "package p\n\nimport \"os\"\n\nfunc W() { os.Remove(\"x\") }\n"})
    subprocess.run(["git", "init", "-q", str(mod)], check=True)
    r = rehab("check", "--format", "sarif", "./...", cwd=mod / "p")
    assert r.returncode == 1, r.stderr
    log = json.loads(r.stdout)
    jsonschema.validate(log, json.load(open(schema_path)))
    run = log["runs"][0]
    ids = [x["id"] for x in run["tool"]["driver"]["rules"]]
    assert "file-not-closed" in ids and all(x["help"]["markdown"] for x in run["tool"]["driver"]["rules"])
    by_rule = {x["ruleId"]: x for x in run["results"]}
    res = by_rule["file-not-closed"]
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "p/p.go", "uriBaseId": "%SRCROOT%"}  # relative to the repo root
    assert (loc["region"]["startLine"], loc["region"]["startColumn"]) == (9, 12)
    assert ids[res["ruleIndex"]] == "file-not-closed" and res["partialFingerprints"]
    diff = rehab("fix", "--diff", "./p", cwd=mod)
    copy = isolated / "copy"
    shutil.copytree(mod, copy)
    subprocess.run(["patch", "-s", "-p1"], input=diff.stdout, cwd=copy, text=True, check=True)
    fixed = _apply_sarif_fix((mod / "p" / "p.go").read_bytes(), res["fixes"][0])
    assert fixed == (copy / "p" / "p.go").read_bytes()
    assert "fixes" not in by_rule["unchecked-error"]


# ------------------------------------------------------------------ go vet -vettool

def test_go_vet_vettool(isolated):
    root = _module(isolated, {"p/p.go": LEAKY, "ok/ok.go": "package ok\n\nfunc F() int { return 1 }\n"})
    tool = str(BIN)
    r = _go("vet", f"-vettool={tool}", "./...", cwd=root)
    assert r.returncode == 1
    assert "p/p.go:9:12: f from os.Open is not closed on every path" in r.stderr, r.stderr
    r = _go("vet", f"-vettool={tool}", "-json", "./p", cwd=root)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    data = json.loads(out[out.index("{"):])
    (diag,) = data["example.com/m/p"]["file-not-closed"]
    assert diag["posn"] == f"{root}/p/p.go:9:12" and diag["suggested_fixes"]
    assert _go("vet", f"-vettool={tool}", "./ok", cwd=root).returncode == 0
    # per-rule flags, as with go vet's own analyzers
    r = _go("vet", f"-vettool={tool}", "-file-not-closed=false", "./p", cwd=root)
    assert r.returncode == 0 and "file-not-closed" not in r.stderr, r.stderr
    r = _go("vet", f"-vettool={tool}", "-no-such-flag", "./p", cwd=root)
    assert r.returncode != 0


# ------------------------------------------------------------------ .rehab.yaml

def test_config_rules_modes_and_packages(isolated, monkeypatch):
    monkeypatch.delenv("REHAB_CONFIG")
    root = _module(isolated, {"p/p.go": LEAKY, "legacy/l.go": LEAKY.replace("package p", "package legacy")})
    assert len(json.loads(rehab("check", "--format", "json", cwd=root).stdout)) == 2
    cfg = root / ".rehab.yaml"
    cfg.write_text("packages:\n  exclude: [example.com/m/legacy/...]\n")
    (f,) = json.loads(rehab("check", "--format", "json", "./...", cwd=root).stdout)
    assert f["file"] == "./p/p.go"
    cfg.write_text("rules:\n  file-not-closed: report\n")
    r = rehab("fix", "--diff", cwd=root)
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    assert rehab("check", cwd=root).returncode == 1  # still reported
    cfg.write_text("rules:\n  file-not-closed: off\n")
    assert rehab("check", cwd=root).returncode == 0


def test_config_is_read_at_the_module_root_only(isolated, monkeypatch):
    """From any directory of the module, the module root's .rehab.yaml applies; one above
    the module root is never read (README "Trust")."""
    monkeypatch.delenv("REHAB_CONFIG")
    root = _module(isolated)
    (isolated / ".rehab.yaml").write_text("rules:\n  file-not-closed: off\n")  # above the module
    assert rehab("check", cwd=root / "p").returncode == 1
    (root / ".rehab.yaml").write_text("rules:\n  file-not-closed: off\n")
    assert rehab("check", cwd=root / "p").returncode == 0


def test_config_rule_dirs(isolated, monkeypatch, root):
    monkeypatch.delenv("REHAB_CONFIG")
    mod = _module(isolated)
    extra = mod / "rehab-rules"
    extra.mkdir()
    src = open(os.path.join(root, "patterns", "file-not-closed.yaml")).read()
    (extra / "team-file-rule.yaml").write_text(src.replace("id: file-not-closed", "id: team-file-rule", 1)
                                               .replace("- acquires: {}", "- acquires: {resources: [os-file]}"))
    (mod / ".rehab.yaml").write_text("rule_dirs: [rehab-rules]\n")
    out = rehab("check", cwd=mod).stdout
    assert "(team-file-rule)" in out, out


BAD_CONFIGS = [
    ("rules:\n  file-not-closed: on\nbuild:\n  fix: on\n  colour: red\n", ":5: unknown key 'colour' in build"),
    ("rules:\n  no-such-rule: off\n", ":2: unknown rule 'no-such-rule'"),
    ("packages: [a\n", ":1:"),
    ("rule_dirs: [does-not-exist]\n", ":1:"),
]


@pytest.mark.parametrize("text,msg", BAD_CONFIGS, ids=["unknown-key", "unknown-rule", "yaml", "rule-dir"])
def test_bad_config_is_exit_2_with_its_line(isolated, monkeypatch, text, msg):
    monkeypatch.delenv("REHAB_CONFIG")
    root = _module(isolated)
    (root / ".rehab.yaml").write_text(text)
    before = tree_digest(root)
    for args in (["check"], ["fix", "--write"], ["overlay", "-o", str(isolated / "o.json")]):
        r = rehab(*args, cwd=root)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert ".rehab.yaml" + msg in r.stderr, r.stderr
    assert tree_digest(root) == before and not (isolated / "o.json").exists()


WRONG_TYPE = ("rules:\n  file-not-closed: on\nbuild: [fix]\n", ":3: build must be a mapping")


@pytest.mark.parametrize("text,msg", [*BAD_CONFIGS, WRONG_TYPE],
                         ids=["unknown-key", "unknown-rule", "yaml", "rule-dir", "wrong-type"])
def test_go_vet_reports_a_bad_config_with_its_line(isolated, monkeypatch, text, msg):
    """cmd/go runs `TOOL -flags` first and throws its stderr away ("-flags failed: exit
    status 2"): the bad .rehab.yaml must still reach the user with its file:line, also when
    a rule flag is given (go vet accepts it only if -flags listed it)."""
    monkeypatch.delenv("REHAB_CONFIG")
    root = _module(isolated)
    (root / ".rehab.yaml").write_text(text)
    for flags in ([], ["-unchecked-error=false"]):
        r = _go("vet", f"-vettool={BIN}", *flags, "./...", cwd=root)
        assert r.returncode != 0, r.stderr
        assert ".rehab.yaml" + msg in r.stderr, (flags, r.stderr)  # cmd/go may shorten the path


def test_flags_with_a_bad_config_still_list_every_shipped_rule(isolated, monkeypatch):
    """What `-flags` answers while the config is bad (the shipped rules, from their file
    names) is what it answers with a good one."""
    monkeypatch.delenv("REHAB_CONFIG")
    root = _module(isolated)
    good = rehab("-flags", cwd=root, check=True)
    (root / ".rehab.yaml").write_text("rules:\n  file-not-closed: on\nbogus: 1\n")
    bad = rehab("-flags", cwd=root, check=True)
    assert [f["Name"] for f in json.loads(bad.stdout)] == [f["Name"] for f in json.loads(good.stdout)]
    assert ".rehab.yaml:3: unknown key 'bogus'" in bad.stderr, bad.stderr


def test_go_vet_reports_a_bad_setting(isolated):
    """The same for a bad REHAB_* variable: named, not lost with -flags' stderr."""
    root = _module(isolated)
    r = subprocess.run(["go", "vet", f"-vettool={BIN}", "./..."], cwd=root, env=go_env(REHAB_FIX="sometimes"),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode != 0, r.stderr
    assert "REHAB_FIX='sometimes'" in r.stderr, r.stderr


TAGGED = [  # a tag on a value, on a key, on a mapping; each at line 3
    "rules:\n  file-not-closed: on\n  unchecked-error: !!python/object:os.system off\n",
    "rules:\n  file-not-closed: on\n  !!str unchecked-error: off\n",
    "packages:\n  include: [example.com/m/...]\nbuild: !custom\n  fix: on\n",
]


@pytest.mark.parametrize("where", ["repo", "user"])
@pytest.mark.parametrize("text", TAGGED, ids=["python-object", "str-on-key", "custom-on-mapping"])
def test_a_yaml_tag_in_a_config_is_an_error_with_its_line(isolated, monkeypatch, text, where):
    """The config is plain data: any tag, even a harmless `!!str`, is refused with file:line,
    in the repository's .rehab.yaml and in the user's config.yaml, by `check` and `go vet`."""
    monkeypatch.delenv("REHAB_CONFIG")
    root = _module(isolated)
    if where == "repo":
        cfg = root / ".rehab.yaml"
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", str(isolated / "config"))
        cfg = isolated / "config" / "toolexec-rehab" / "config.yaml"
        cfg.parent.mkdir(parents=True)
    cfg.write_text(text)
    r = rehab("check", "./...", cwd=root)
    assert r.returncode == 2 and f"{cfg}:3: YAML tag" in r.stderr, (r.stdout, r.stderr)
    r = _go("vet", f"-vettool={BIN}", "./...", cwd=root)
    assert r.returncode != 0 and f"{cfg}:3: YAML tag" in r.stderr, (r.stdout, r.stderr)


def test_build_honours_config_and_audits(isolated, monkeypatch):
    monkeypatch.delenv("REHAB_CONFIG")
    # a nonce: an earlier run at the same temp path would make this compile a cache hit, which
    # cmd/go replays (the patch line included) without running the compiler, so nothing is audited
    nonce = f"\n// {os.urandom(8).hex()}\n"
    root = _module(isolated, {"p/p.go": LEAKY + nonce, "legacy/l.go": LEAKY.replace("package p", "package legacy"),
                              "main.go": 'package main\n\nimport (\n\t_ "example.com/m/legacy"\n\t_ "example.com/m/p"\n)\n\nfunc main() {}\n'})
    (root / ".rehab.yaml").write_text("packages:\n  exclude: [example.com/m/legacy]\naudit_log: audit.jsonl\n"
                                      "build:\n  audit: on\n")
    before = tree_digest(root)
    env = go_env(GOFLAGS=f"-toolexec={BIN}", REHAB_VERBOSE="1")
    r = subprocess.run(["go", "build", "-o", os.devnull, "."], cwd=root, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    patched = [x for x in r.stderr.splitlines() if x.startswith("REHAB: patched")]
    assert len(patched) == 1 and patched[0].endswith("p/p.go:9"), r.stderr
    (entry,) = [json.loads(x) for x in (root / "audit.jsonl").read_text().splitlines()]
    assert entry["source"] == "build" and entry["file"].endswith("p/p.go")
    assert tree_digest(root) == {**before, "audit.jsonl": tree_digest(root)["audit.jsonl"]}
    # a bad config fails the build with the file and line, instead of silently building something else
    (root / ".rehab.yaml").write_text("packages:\n  exclud: [x]\n")
    r = subprocess.run(["go", "build", "-o", os.devnull, "."], cwd=root, env=env, capture_output=True, text=True)
    assert r.returncode != 0 and ".rehab.yaml:2: unknown key 'exclud'" in r.stderr, r.stderr


# ------------------------------------------------------------------ everyday use

def _stderr_on_pty(args, cwd, env):
    master, slave = pty.openpty()
    e = dict(os.environ, **env)
    e.pop("GOFLAGS", None)
    p = subprocess.Popen([str(BIN), *args], cwd=cwd, env=e, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait(timeout=60)
    os.close(master)
    return out.decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_only(isolated):
    root = _module(isolated, {f"p{i}/p.go": LEAKY.replace("package p", f"package p{i}") for i in range(4)})
    out = _stderr_on_pty(["check", "./..."], root, {"TERM": "xterm"})
    assert "check [" in out and "4/4 ./p3" in out, repr(out)
    assert "\r" in out
    assert _stderr_on_pty(["check", "./..."], root, {"TERM": "xterm", "CI": "true"}).strip() == ""
    piped = rehab("check", "./...", cwd=root)  # stderr is a pipe
    assert piped.stderr == ""


def test_pre_commit_hooks_file(root):
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load(open(os.path.join(root, ".pre-commit-hooks.yaml")))
    ids = {h["id"]: h for h in hooks}
    assert ids["toolexec-rehab-check"]["entry"].startswith("toolexec-rehab check")
    assert all(h["language"] == "python" and h["types"] == ["go"] for h in hooks)


# ------------------------------------------------------------------ bad input: exit 2, nothing written

SYNTAX = "package p\n\nfunc F( {\n"


def _bad_rule_dir(tmp):
    d = tmp / "badrules"
    d.mkdir()
    (d / "r.yaml").write_text("id: broken\nsummary: x\nseverity: loud\n")
    return d


BAD_INPUTS = {
    "unknown-flag": (["--frobnicate"], {}, "unrecognized arguments: --frobnicate"),
    "missing-path": (["./nope/..."], {}, "nope"),
    "syntax-error": (["./..."], {"broken/b.go": SYNTAX}, "b.go:3:"),
    "bad-rule-file": (["./..."], {"@rules": True}, "r.yaml"),
}
COMMANDS = [["check"], ["fix", "--diff"], ["fix", "--write"], ["overlay", "-o", "OUT"]]


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exit_2_nothing_written(isolated, case):
    args, files, msg = BAD_INPUTS[case]
    env = {}
    extra = {k: v for k, v in files.items() if not k.startswith("@")}
    root = _module(isolated, {"p/p.go": LEAKY, **extra})
    if "@rules" in files:
        env["REHAB_RULE_DIRS"] = str(_bad_rule_dir(isolated))
    before = tree_digest(root)
    out = isolated / "o.json"
    for cmd in COMMANDS:
        cmd = [str(out) if x == "OUT" else x for x in cmd]
        r = rehab(*cmd, *args, cwd=root, env=env)
        assert r.returncode == 2, (cmd, case, r.stdout, r.stderr)
        assert msg in r.stderr, (cmd, case, r.stderr)
        assert "Traceback" not in r.stderr
        assert tree_digest(root) == before and not out.exists() and not os.path.exists(str(out) + ".d")
    assert not os.path.exists(isolated / "xdg" / "toolexec-rehab" / "audit.jsonl")


@pytest.mark.parametrize("args,msg", [
    (["explain"], "ast-node-ID|RULE"),
    (["explain", "no-such-rule"], "no-such-rule"),
    (["rules", "validate", "/nonexistent"], "/nonexistent"),
    (["audit", "verify", "--log", "/nonexistent.jsonl"], "/nonexistent.jsonl"),
    (["fix", "--from-trace", "/nonexistent.json"], "/nonexistent.json"),
    (["fix", "--diff", "--write"], "not allowed with"),
    (["check", "--format", "xml"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_exit_2(isolated, args, msg):
    root = _module(isolated)
    before = tree_digest(root)
    r = rehab(*args, cwd=root)
    assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    assert tree_digest(root) == before


CHAIN = ('package p\n\nimport "os"\n\nfunc save(p string, b []byte) error {\n\tf, err := os.Create(p)\n'
         '\tif err != nil {\n\t\treturn err\n\t}\n\tf.Write(b)\n\treturn f.Close()\n}\n')


def test_fix_reaches_a_fixpoint_when_one_fix_enables_another(isolated):
    """unchecked-error=fix adds `return err` before `f.Close()`: file-not-closed must then fix
    the new path in the same run, so that fixing again finds nothing."""
    root = _module(isolated, {"p/p.go": CHAIN})
    env = {"REHAB_MODES": "unchecked-error=fix"}
    r = rehab("fix", "--write", "--suggestions", "./...", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    text = (root / "p" / "p.go").read_text()
    assert "\tdefer f.Close()\n\tif _, err := f.Write(b); err != nil {" in text, text
    again = rehab("fix", "--diff", "./...", cwd=root, env=env)
    assert (again.returncode, again.stdout) == (0, ""), again.stdout + again.stderr
    assert _go("vet", "./...", cwd=root).returncode == 0
