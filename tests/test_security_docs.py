"""docs/security.md and the ASVS tests agree: every requirement claimed as met names a test that exists and is
named after it, and every test named after a requirement is claimed in the docs."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "security.md"
#: A row of the "met" table: | 6.3.3 | 2 | requirement | `test_asvs_6_3_3_...` | BIO ... |
MET_ROW = re.compile(r"^\|\s*(\d+\.\d+\.\d+)\s*\|\s*[123]\s*\|[^|]+\|\s*((?:`test_asvs_\w+`[,\s]*)+)\|\s*[^|]+\|\s*$")


def _tests_named_after_requirements() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_asvs_"):
                found.setdefault(node.name, set()).add(path.name)
    return found


def _claimed() -> dict[str, set[str]]:
    """test name -> the requirements it is listed under."""
    claimed: dict[str, set[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = MET_ROW.match(line)
        if match:
            for name in re.findall(r"`(test_asvs_\w+)`", match.group(2)):
                claimed.setdefault(name, set()).add(match.group(1))
    return claimed


def test_every_claimed_requirement_has_its_test():
    claimed, tests = _claimed(), _tests_named_after_requirements()
    assert claimed, "docs/security.md claims no requirement"
    missing = sorted(name for name in claimed if name not in tests)
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"
    misnamed = sorted(name for name, reqs in claimed.items()
                      if not all(f"_{req.replace('.', '_')}_" in name for req in reqs))
    assert not misnamed, f"tests not named after the requirement they are listed under: {misnamed}"


def test_every_requirement_test_is_claimed_in_the_docs():
    unlisted = sorted(set(_tests_named_after_requirements()) - set(_claimed()))
    assert not unlisted, f"tests named after an ASVS requirement but missing from docs/security.md: {unlisted}"
