#!/usr/bin/env python3
"""Checks that the repository stands on its own, over the files git tracks.

  check_repository.py paths REPO   no tracked file names a path outside the repository: a
                                   development machine's work tree, or the data and tools folder
                                   beside a checkout (tests may read its data when it is there, and
                                   skip without it)
  check_repository.py links REPO   every relative link and image in the Markdown files resolves to
                                   a tracked file, and every #anchor to a heading of its page

Exits 1 with one line per problem (file:line: what), 77 (CTest's skip) outside a git checkout.
"""
import os
import re
import subprocess
import sys

# Built from parts so that this file does not name them itself.
OUTSIDE = ["/" + "work/", "../" + "shared", "shared/" + "tools/"]
# Tests may read the data beside a checkout, and must skip with a reason when it is absent.
MAY_READ_OUTSIDE = re.compile(r"^tests/")


def tracked_files(repo):
    try:
        out = subprocess.run(["git", "-C", repo, "ls-files", "-z"], check=True,
                             capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        print("check_repository: %s is not a git checkout; nothing to check" % repo)
        sys.exit(77)
    return [name for name in out.decode().split("\0") if name]


def text_of(repo, name):
    try:
        with open(os.path.join(repo, name), encoding="utf-8") as f:
            return f.read()
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        return None  # binary data, or deleted in the work tree


def check_paths(repo, files):
    problems = []
    for name in files:
        text = text_of(repo, name)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for outside in OUTSIDE:
                if outside not in line:
                    continue
                if outside == "../" + "shared" and MAY_READ_OUTSIDE.match(name):
                    continue
                problems.append("%s:%d: names %s, which a clone of the repository does not have"
                                % (name, number, outside))
    return problems


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text):
    found = set()
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def check_links(repo, files):
    tracked = set(files)
    folders = set()  # a link may name a folder
    for f in files:
        folder = os.path.dirname(f)
        while folder:
            folders.add(folder)
            folder = os.path.dirname(folder)
    problems = []
    for name in files:
        if not name.endswith(".md"):
            continue
        text = text_of(repo, name)
        if text is None:
            continue
        in_code = False
        for number, line in enumerate(text.splitlines(), 1):
            if line.startswith("```"):
                in_code = not in_code
            if in_code:
                continue
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target):  # http:, https:, mailto: (no network here)
                    continue
                path, _, anchor = target.partition("#")
                resolved = (os.path.normpath(os.path.join(os.path.dirname(name), path)) if path
                            else name)
                if path and resolved not in tracked and resolved not in folders:
                    problems.append("%s:%d: link to %s: no such file in the repository"
                                    % (name, number, target))
                    continue
                if anchor and resolved.endswith(".md"):
                    page = text if resolved == name else text_of(repo, resolved) or ""
                    if anchor not in anchors(page):
                        problems.append("%s:%d: link to %s: %s has no heading #%s"
                                        % (name, number, target, resolved, anchor))
    return problems


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("paths", "links"):
        sys.exit(__doc__)
    repo = sys.argv[2]
    files = tracked_files(repo)
    problems = (check_paths if sys.argv[1] == "paths" else check_links)(repo, files)
    for problem in problems:
        print(problem)
    if problems:
        sys.exit("check_repository %s: %d problem(s)" % (sys.argv[1], len(problems)))
    print("check_repository %s: %d tracked files, no problems" % (sys.argv[1], len(files)))


if __name__ == "__main__":
    main()
