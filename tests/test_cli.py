"""Every command of the README's command-line table, run as a person runs it: the ``koppel`` script in a
process of its own, in development on a fresh SQLite database, as the README says. Each one exits with 0
and prints no traceback; a wrong invocation is one line on stderr and a non-zero exit status."""
import os
import re
import sqlite3
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.config import SETTINGS
from test_demo import Demo  # koppel demo in a process of its own (tests/test_demo.py)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
KOPPEL = str(Path(sys.executable).parent / "koppel")
PASSWORD = "correct horse battery staple 42"

#: In the order a person would run them; each README row's command with values filled in.
RUNS = [
    ("init", []),
    ("db upgrade", []),
    ("create-admin", ["--email", "beheer@example.org", "--name", "Beheer", "--password", PASSWORD]),
    ("consortium add", ["Rivierenland", "--slug", "rivierenland"]),
    ("municipality add", ["--consortium", "rivierenland", "--name", "Tiel", "--cbs-code", "GM0281", "--slug", "tiel",
                          "--inhabitants", "42000"]),
    ("user add", ["--email", "coordinator@example.org", "--name", "Coördinator", "--role", "coordinator",
                  "--municipality", "tiel", "--password", PASSWORD]),
    ("tenants apply", ["tenants/regions/nijmegen.toml"]),
    ("keys rotate", ["--tenant", "tiel", "--batch-size", "100"]),
    ("keys status", []),
    ("token create", ["--name", "export", "--role", "coordinator", "--municipality", "tiel", "--days", "30",
                      "--user", "coordinator@example.org"]),
    ("token revoke", ["{prefix}"]),  # the prefix token create printed
    ("municipality suspend", ["tiel"]),
    ("municipality activate", ["tiel"]),
    ("scheduled dispatch", []),
    ("scheduled list", ["--municipality", "tiel", "--state", "failed"]),  # the failed item _failed_item made
    ("scheduled run-again", ["{item}"]),
]

#: Wrong invocations (after RUNS) and a word their one line must contain.
WRONG = [
    (["token", "create", "--name", "x", "--role", "coordinator", "--municipality", "nowhere"], {}, "nowhere"),
    (["token", "create", "--name", "x", "--role", "funder", "--municipality", "tiel", "--user",
      "coordinator@example.org"], {}, "does not hold funder there"),
    (["token", "create", "--name", "x", "--role", "coordinator", "--municipality", "tiel", "--user",
      "nobody@example.org"], {}, "no active user nobody@example.org"),
    (["user", "add", "--email", "a@example.org", "--name", "A", "--role", "wizard", "--municipality", "tiel",
      "--password", PASSWORD], {}, "--role"),
    (["user", "add", "--email", "a@example.org", "--name", "A", "--role", "coordinator", "--password", PASSWORD],
     {}, "needs a municipality"),
    (["token", "create", "--name", "x", "--role", "coordinator", "--municipality", "tiel"], {"KOPPEL_ENV": None},
     "SECRET_KEY"),
    (["scheduled", "run-again", "999"], {}, "no scheduled item 999"),
    (["scheduled", "run-again", "1"], {}, "Only a failed item"),  # run again already (and perhaps done by the demo)
    (["scheduled", "list", "--kind", "nothing"], {}, "nothing"),
    (["init"], {"SESSION_IDLE_MINUTES": "abc"}, "SESSION_IDLE_MINUTES"),
    (["init"], {"DATABASE_URL": "sqlite:////nonexistent-directory/koppel.sqlite3"}, "database"),
]


def _command_paths() -> set[str]:
    """Every command the README's command-line table shows (``koppel municipality suspend S`` / ``activate S``)."""
    section = README.read_text(encoding="utf-8").split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    paths = set()
    for row in re.findall(r"^\| `koppel .*$", section, flags=re.MULTILINE):
        first, *rest = row.split(" | ")
        group = None
        for span in re.findall(r"`([^`]+)`", first):
            words = span.split()
            if words[0] == "koppel":
                words = words[1:]
            elif group:  # "/ `activate S`": another command of the same group
                words = [group, *words]
            path = [w for w in _leading_names(words)]
            group = path[0] if len(path) > 1 else None
            paths.add(" ".join(path))
        for span in re.findall(r"`koppel ([^`]+)`", " ".join(rest)):  # "(also `koppel db upgrade`)"
            paths.add(" ".join(_leading_names(span.split())))
    return paths


def _leading_names(words):
    for word in words:
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            return
        yield word


def _environment(tmp_path: Path, **changes) -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    environment.update(KOPPEL_ENV="development", DATABASE_URL=f"sqlite:///{tmp_path / 'koppel.sqlite3'}",
                       HOME=str(tmp_path), PYTHONPATH=str(ROOT))  # the code of this tree, wherever it is installed
    for name, value in changes.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def _koppel(args, environment) -> subprocess.CompletedProcess:
    return subprocess.run([KOPPEL, *args], cwd=ROOT, env=environment, capture_output=True, text=True,
                          encoding="utf-8", timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def instance(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


def _failed_item(database: Path) -> int:
    """A failed scheduled item of Tiel, as a worker leaves one, written straight into the database."""
    with sqlite3.connect(database) as conn:
        cursor = conn.execute(
            "INSERT INTO scheduled_item (kind, key, tenant_id, subject_id, due_at, state, attempts, error,"
            " finished_at, created_at) SELECT 'evaluation_due', 'evaluation_due:1', id, 1,"
            " '2026-11-26 08:00:00.000000', 'failed', 1, 'the evaluation no longer exists',"
            " '2026-11-26 08:00:05.000000', '2026-11-26 08:00:00.000000' FROM municipality WHERE slug = 'tiel'")
        return cursor.lastrowid


@pytest.fixture(scope="module")
def runs(instance) -> dict:
    """Each command of RUNS, run in order on one fresh database: its completed process."""
    done, prefix, item = {}, None, None
    for path, args in RUNS:
        if path == "scheduled list":
            item = _failed_item(instance / "koppel.sqlite3")
        args = [a.format(prefix=prefix, item=item) for a in args]
        done[path] = _koppel([*path.split(), *args], _environment(instance))
        if path == "token create":
            found = re.search(r"^token (\S+)…", done[path].stdout, flags=re.MULTILINE)
            prefix = found.group(1) if found else "missing"
    return done


def test_the_readme_table_and_the_tests_name_the_same_commands():
    # these run until stopped: tests/test_demo.py and tests/test_workers.py run them
    assert _command_paths() == {path for path, _ in RUNS} | {"demo", "worker", "beat"}


@pytest.mark.parametrize("path", [path for path, _ in RUNS])
def test_a_command_of_the_readme_runs(runs, path):
    run = runs[path]
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "Traceback" not in output and "Error" not in output, output


def test_what_the_commands_print(runs):
    assert "database is up to date" in runs["init"].stdout
    assert "Tiel (GM0281) onboarded into Rivierenland at /tiel/" in runs["municipality add"].stdout
    assert re.search(r"^kpl_\S{30,}$", runs["token create"].stdout, flags=re.MULTILINE)
    assert "revoked" in runs["token revoke"].stdout
    assert "Tiel is suspended" in runs["municipality suspend"].stdout
    assert "Tiel is active" in runs["municipality activate"].stdout
    assert runs["scheduled dispatch"].stdout.startswith("dispatch: 0 new items (none), 0 due items handed")
    header, line = runs["scheduled list"].stdout.splitlines()
    assert header.split() == ["id", "municipality", "kind", "state", "attempts", "due", "error"]
    assert re.split(r"\s{2,}", line) == ["1", "tiel", "evaluation_due", "failed", "1", "2026-11-26 09:00",
                                   "the evaluation no longer exists"]  # due in Amsterdam time
    assert "item 1 (evaluation_due) is pending again; sent to a worker" in runs["scheduled run-again"].stdout


def test_koppel_demo_runs_on_the_same_database(runs, instance):
    running = Demo(instance / "koppel.sqlite3", KOPPEL_ENV="development", HOME=str(instance))
    try:
        url = running.started()
        with urllib.request.urlopen(url + "healthz", timeout=20) as response:
            assert response.status == 200
    finally:
        running.stop()
    assert not [line for line in running.lines if "Traceback" in line]


def test_a_wrong_invocation_is_one_line_and_fails(runs, instance):
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda case: _koppel(case[0], _environment(instance, **case[1])), WRONG))
    for (args, _, word), run in zip(WRONG, done):
        lines = run.stderr.splitlines()
        assert run.returncode != 0 and run.stdout == "", (args, run.stdout, run.stderr)
        assert len(lines) == 1 and lines[0].startswith("Fout") and " / Error: " in lines[0], (args, run.stderr)
        assert word in lines[0], (args, lines[0])
