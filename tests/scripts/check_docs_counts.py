#!/usr/bin/env python3
"""Counts written in the documentation against the sources they count.

    check_docs_counts.py REPO_ROOT

- tests/apps/bad_inputs.cmake: the bad_input(...) calls are the refused command lines,
  the odd_input(...) calls the valid ones. docs/reliability.md must say, once,
  "The corpus holds N command lines: R refused and V valid" with exactly these numbers.
  Any other "<n> command lines" or "<n> refused" in that page must carry the same
  numbers, unless it is written "then <n> ..." (a count as it stood at a past run).
- tests/reliability/bad_inputs_test.cpp: the entries of library_corpus() against
  "`tests/reliability/bad_inputs_test.cpp`: <n> bad inputs" in docs/reliability.md.
- src/solvers/registry.cpp: the {{"name", description} rows of registrations() against
  any solver count written in README.md or docs/*.md ("12 solvers", "eleven registered
  solvers").
- docs/map-ga-study.md quotes the output of benchmarks/map_ga_study/paired_test.py on
  docs/results/map_ga_study/report.jsonl (against PGDM and against DPS): each table row
  and summary line must appear in the page as the script prints it now.

Prints what it checked; exits 1 with a message per mismatch. Standard library only.
"""

import glob
import os
import re
import subprocess
import sys

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20,
}


def read(root, path):
    with open(os.path.join(root, path), encoding="utf-8") as stream:
        return stream.read()


def without_comments(cmake):
    return "\n".join(line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
                     for line in cmake.splitlines())


def tool_corpus(root):
    text = without_comments(read(root, "tests/apps/bad_inputs.cmake"))
    refused = len(re.findall(r"^\s*bad_input\(", text, re.MULTILINE))
    valid = len(re.findall(r"^\s*odd_input\(", text, re.MULTILINE))
    return refused, valid


def library_corpus(root):
    text = read(root, "tests/reliability/bad_inputs_test.cpp")
    match = re.search(r"^std::vector<BadInput> library_corpus\(.*?^}", text,
                      re.MULTILINE | re.DOTALL)
    if not match:
        return None
    # One entry per {"name", action, "expected"} at the initialiser list's indentation.
    return len(re.findall(r'^      \{"', match.group(0), re.MULTILINE))


def registered_solvers(root):
    text = read(root, "src/solvers/registry.cpp")
    match = re.search(r"registrations\(\)\s*\{(.*?)^}", text, re.MULTILINE | re.DOTALL)
    if not match:
        return None
    return re.findall(r'\{\{"([^"]+)",', match.group(1))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    problems = []

    # The tool's corpus in docs/reliability.md.
    refused, valid = tool_corpus(root)
    total = refused + valid
    print(f"tests/apps/bad_inputs.cmake: {total} command lines, {refused} refused "
          f"(bad_input) and {valid} valid (odd_input)")
    page = "docs/reliability.md"
    text = read(root, page)
    flat = re.sub(r"\s+", " ", text)
    statements = re.findall(
        r"corpus holds (\d+) command lines: (\d+) refused and (\d+) valid", flat)
    if len(statements) != 1:
        problems.append(f'{page}: expected one "The corpus holds N command lines: R refused '
                        f'and V valid", found {len(statements)}')
    else:
        stated = tuple(int(n) for n in statements[0])
        print(f"{page}: states {stated[0]} command lines: {stated[1]} refused and "
              f"{stated[2]} valid")
        if stated != (total, refused, valid):
            problems.append(f"{page} states {stated[0]} command lines, {stated[1]} refused and "
                            f"{stated[2]} valid; tests/apps/bad_inputs.cmake has {total}, "
                            f"{refused} and {valid}")
    canonical = re.sub(r"corpus holds \d+ command lines: \d+ refused and \d+ valid", "", flat)
    for match in re.finditer(r"(\bthen,? )?\b(\d+) (command lines|refused)", canonical):
        number, kind = int(match.group(2)), match.group(3)
        if match.group(1):
            print(f"{page}: '{match.group(0)}' is a past count, not checked")
            continue
        expected = total if kind == "command lines" else refused
        print(f"{page}: '{match.group(0)}' (corpus: {expected})")
        if number != expected:
            problems.append(f"{page} says '{match.group(0)}'; tests/apps/bad_inputs.cmake has "
                            f"{expected} {kind}")

    # The library's corpus.
    entries = library_corpus(root)
    stated = re.search(r"`tests/reliability/bad_inputs_test.cpp`: (\d+) bad inputs", flat)
    if entries is None:
        problems.append("tests/reliability/bad_inputs_test.cpp: no library_corpus() found")
    elif not stated:
        problems.append(f"{page}: no \"`tests/reliability/bad_inputs_test.cpp`: N bad inputs\"")
    else:
        print(f"tests/reliability/bad_inputs_test.cpp: {entries} entries in library_corpus(); "
              f"{page} states {stated.group(1)}")
        if int(stated.group(1)) != entries:
            problems.append(f"{page} states {stated.group(1)} library bad inputs; "
                            f"tests/reliability/bad_inputs_test.cpp has {entries}")

    # Solver counts in README.md and docs/*.md.
    names = registered_solvers(root)
    if not names:
        problems.append("src/solvers/registry.cpp: no registrations() table found")
    else:
        print(f"src/solvers/registry.cpp: {len(names)} registered solvers ({', '.join(names)})")
        words = "|".join(NUMBER_WORDS)
        pattern = re.compile(rf"\b(\d+|{words}) (?:registered )?solvers\b", re.IGNORECASE)
        pages = ["README.md"] + sorted(
            os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "docs", "*.md")))
        found = 0
        for doc in pages:
            for number, line in ((m.group(1), text.count("\n", 0, m.start()) + 1)
                                 for text in [read(root, doc)]
                                 for m in pattern.finditer(text)):
                found += 1
                count = int(number) if number.isdigit() else NUMBER_WORDS[number.lower()]
                print(f"{doc}:{line}: '{number} solvers' (registry: {len(names)})")
                if count != len(names):
                    problems.append(f"{doc}:{line} says {number} solvers; "
                                    f"src/solvers/registry.cpp registers {len(names)}")
        if not found:
            print(f"README.md, docs/*.md ({len(pages)} pages): no solver count stated")

    # The paired test quoted in docs/map-ga-study.md.
    study = read(root, "docs/map-ga-study.md")
    script = os.path.join(root, "benchmarks", "map_ga_study", "paired_test.py")
    report = os.path.join(root, "docs", "results", "map_ga_study", "report.jsonl")
    for baseline in ("pgdm", "dps"):
        run = subprocess.run([sys.executable, script, report, "--baseline", baseline],
                             capture_output=True, text=True)
        if run.returncode != 0:
            problems.append(f"paired_test.py --baseline {baseline} failed: {run.stderr.strip()}")
            continue
        lines = [line for line in run.stdout.splitlines() if line.strip()]
        missing = [line for line in lines if line not in study]
        print(f"docs/map-ga-study.md: paired_test.py --baseline {baseline}: "
              f"{len(lines) - len(missing)} of {len(lines)} output lines quoted "
              f"('{lines[-1]}')")
        for line in missing:
            problems.append(f"docs/map-ga-study.md does not quote paired_test.py --baseline "
                            f"{baseline}'s line: {line}")

    if problems:
        for problem in problems:
            print(f"MISMATCH: {problem}", file=sys.stderr)
        sys.exit(1)
    print("all counts agree")


if __name__ == "__main__":
    main()
