"""Every `unweave` command in the code blocks of README.md and docs/ parses: its subcommand,
method or trainer, and every flag exist. (A cluster command once named a flag that its trainer
does not take.) Nothing runs; inline fragments and elided sketches (`...`) are left out."""

import re
import shlex
from pathlib import Path

import pytest

from unweave.cli import parse_args

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _shell_blocks(text: str):
    """The code blocks of a Markdown page fenced as sh, bash, console or nothing."""
    block, language = None, ""
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            if block is None:
                block, language = [], line.strip()[3:].strip()
            else:
                if language in ("", "sh", "bash", "console"):
                    yield "\n".join(block)
                block = None
        elif block is not None:
            block.append(line)


def _commands(text: str):
    """``(line, argv)`` for each `unweave` command line in a code block (continuation lines
    joined; a comment, redirection or pipe after it cut off)."""
    for block in _shell_blocks(text):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = line.strip()
            found = re.search(r"(?:^|[\s/])unweave\s+(.*)$", line)  # also `-m unweave`
            if found and not line.startswith("#") and "pip " not in line \
                    and "..." not in line:  # elided: a sketch, not a command
                yield line, shlex.split(re.split(r"\s(?:#|>|\||&&|;)", found.group(1))[0])


CASES = [(page.name, line, argv) for page in PAGES if page.exists()
         for line, argv in _commands(page.read_text())]


def test_the_docs_have_commands():
    assert len(CASES) > 20


@pytest.mark.parametrize("page,line,argv", CASES, ids=[f"{p}:{i}" for i, (p, _, _) in
                                                       enumerate(CASES)])
def test_documented_command_parses(page, line, argv):
    parse_args(argv)  # raises on an unknown subcommand, method, trainer, flag or bad value
