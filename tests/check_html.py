#!/usr/bin/env python3
"""Checks that an HTML page dcgan wrote is well formed and self-contained.

    check_html.py PAGE.html [--max-bytes N]

Parses PAGE with Python's html.parser and fails (exit 1, one line per problem) when an element is
closed out of order or left open, when the page is not UTF-8 or lacks <!DOCTYPE html>, when it
loads anything from the network or an external script, stylesheet or font, when an image or link
points at a file that does not exist beside it, or when it is larger than --max-bytes (10 MB).
Prints the counts of elements it saw on success.
"""
import collections
import html.parser
import os
import sys
import urllib.parse

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr"}


class Checker(html.parser.HTMLParser):
    def __init__(self, folder):
        super().__init__(convert_charrefs=True)
        self.folder = folder
        self.stack = []
        self.problems = []
        self.counts = collections.Counter()
        self.doctype = False

    def where(self):
        line, column = self.getpos()
        return f"line {line}, column {column}"

    def handle_decl(self, decl):
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def check_reference(self, tag, name, value):
        if value is None:
            return
        url = urllib.parse.urlparse(value)
        if url.scheme or value.startswith("//"):
            self.problems.append(f"{self.where()}: <{tag} {name}=\"{value}\"> is not a relative file")
            return
        path = os.path.join(self.folder, urllib.parse.unquote(url.path))
        if url.path and not os.path.exists(path):
            self.problems.append(f"{self.where()}: <{tag} {name}=\"{value}\">: {path} does not exist")

    def start(self, tag, attrs, closed):
        self.counts[tag] += 1
        attributes = dict(attrs)
        if tag == "script" and "src" in attributes:
            self.problems.append(f"{self.where()}: external script {attributes['src']}")
        if tag == "link":
            self.problems.append(f"{self.where()}: <link> (external stylesheet or font)")
        for name in ("src", "href", "data-src"):
            if name in attributes:
                self.check_reference(tag, name, attributes[name])
        if tag not in VOID and not closed:
            self.stack.append((tag, self.where()))

    def handle_starttag(self, tag, attrs):
        self.start(tag, attrs, closed=False)

    def handle_startendtag(self, tag, attrs):
        self.start(tag, attrs, closed=True)

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problems.append(f"{self.where()}: </{tag}> closes a void element")
        elif not self.stack:
            self.problems.append(f"{self.where()}: </{tag}> without an open element")
        elif self.stack[-1][0] != tag:
            open_tag, opened = self.stack[-1]
            self.problems.append(f"{self.where()}: </{tag}> closes <{open_tag}> opened at {opened}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if "@import" in data or "url(" in data:
            self.problems.append(f"{self.where()}: style loads an external resource")


def main():
    args = sys.argv[1:]
    max_bytes = 10 * 1000 * 1000
    if "--max-bytes" in args:
        at = args.index("--max-bytes")
        max_bytes = int(args[at + 1])
        del args[at:at + 2]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    path = args[0]
    data = open(path, "rb").read()
    problems = []
    if len(data) > max_bytes:
        problems.append(f"{len(data)} bytes, more than {max_bytes}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        print(f"{path}: not UTF-8 ({error})")
        return 1
    checker = Checker(os.path.dirname(os.path.abspath(path)))
    checker.feed(text)
    checker.close()
    problems += checker.problems
    if not checker.doctype:
        problems.append("no <!DOCTYPE html>")
    for tag, opened in checker.stack:
        problems.append(f"<{tag}> opened at {opened} is never closed")
    for problem in problems:
        print(f"{path}: {problem}")
    if problems:
        return 1
    print(" ".join(f"{tag}={count}" for tag, count in sorted(checker.counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
