"""Check that every committed translation catalog (``.mo``) says what its ``.po`` says.

Django reads only the ``.mo`` files, so a ``.po`` edited without recompiling silently ships
the old text. Each ``.po`` is compiled with GNU ``msgfmt`` when it is installed (Debian's
``gettext`` package; ``compilemessages`` uses the same tool), otherwise read by the small
parser below, and the resulting catalog is compared with the committed ``.mo`` as loaded by
``gettext``: the comparison is of messages, not bytes, so two gettext versions that lay out
the file differently still agree. Exit status 1 names every catalog that differs.

Usage: ``python3 .ci/check_catalogs.py [ROOT]`` (default: ``src/ontrack``).
"""

from __future__ import annotations

import ast
import gettext
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

Catalog = dict[object, str]


def mo_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


def msgfmt_catalog(po: Path, msgfmt: str) -> Catalog:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "compiled.mo"
        subprocess.run([msgfmt, "--check-format", "-o", str(out), str(po)], check=True)
        return mo_catalog(out)


def parsed_catalog(po: Path) -> Catalog:
    """What ``msgfmt`` would compile: translated, non-fuzzy, non-obsolete entries."""
    catalog: Catalog = {}
    entry: dict[str, str] = {}
    fuzzy = False
    field = ""

    def finish() -> None:
        nonlocal entry, fuzzy
        if "msgid" in entry and not fuzzy:
            key = entry["msgid"]
            if "msgctxt" in entry:
                key = entry["msgctxt"] + "\x04" + key
            forms = sorted(k for k in entry if k.startswith("msgstr["))
            if forms and any(entry[k] for k in forms):
                for name in forms:
                    catalog[(key, int(name[7:-1]))] = entry[name]
            elif entry.get("msgstr"):
                catalog[key] = entry["msgstr"]
        entry, fuzzy = {}, False

    for raw in po.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#~"):  # obsolete entry
            continue
        if line.startswith('"'):
            entry[field] += ast.literal_eval(line)
            continue
        keyword, _, value = line.partition(" ")
        starts_entry = not line or line.startswith("#") or keyword in ("msgctxt", "msgid")
        if starts_entry and any(k.startswith("msgstr") for k in entry):
            finish()
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        if not line or line.startswith("#"):
            continue
        field = keyword
        entry[field] = ast.literal_eval(value)
    finish()
    return catalog


def main(root: Path) -> int:
    msgfmt = shutil.which("msgfmt")
    tool = msgfmt or "the Python .po reader (msgfmt not installed)"
    failures = []
    pos = sorted(root.glob("*/locale/*/LC_MESSAGES/*.po"))
    mos = sorted(root.glob("*/locale/*/LC_MESSAGES/*.mo"))
    for mo in mos:
        if not mo.with_suffix(".po").exists():
            failures.append(f"{mo}: no .po beside it")
    for po in pos:
        mo = po.with_suffix(".mo")
        if not mo.exists():
            failures.append(f"{po}: not compiled (no {mo.name})")
            continue
        expected = msgfmt_catalog(po, msgfmt) if msgfmt else parsed_catalog(po)
        actual = mo_catalog(mo)
        if expected != actual:
            keys = {k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k)}
            sample = ", ".join(sorted(repr(k)[:60] for k in keys)[:3])
            failures.append(f"{mo}: {len(keys)} messages differ from the .po ({sample})")
    for failure in failures:
        print(failure, file=sys.stderr)
    if failures:
        print("Recompile with: uv run ontrack manage compilemessages", file=sys.stderr)
        return 1
    print(f"{len(pos)} catalogs match their .po files (compiled with {tool})")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "src/ontrack")))
