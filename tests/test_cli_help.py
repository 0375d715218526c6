"""`--help` is complete: every flag and argument of every command, subcommands included, has a
help text, and `app.train --help` / `tuning.search --help` list the --set keys (every field of
`app.config.Config`) with their types and defaults. The parsers are built in-process: building
one imports nothing heavy (tests/test_cli_start.py checks that in a fresh process)."""

import argparse
import dataclasses
import importlib

import pytest

from app.config import Config

# "module:function" returning each command's parser.
PARSERS = ["app.train:parser", "app.predict:parser", "app.data.__main__:parser",
           "app.models.__main__:parser", "app.bench:parser", "app.inspect.__main__:parser",
           "app.regression:parser", "app.scratch.mnist:parser", "app.scratch.gradcheck:parser",
           "app.scratch.circles:parser", "app.baselines.circles:parser",
           "app.baselines.mnist:parser", "tuning.search:parser", "tuning.report:parser",
           "tuning.nested:parser", "app.runs.__main__:parser", "app.lr_find:parser",
           "app.reports.__main__:parser"]
DISPATCHERS = ["app.scratch.__main__", "app.baselines.__main__"]


def build(name):
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)()


def undocumented(parser, prefix=""):
    """The actions of `parser` and its subparsers without a help text, as 'prog: flag'."""
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
            missing.append(f"{parser.prog}: {name}")
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for command, sub in action.choices.items():
                if not (helps.get(command) or "").strip():
                    missing.append(f"{parser.prog}: command {command}")
                missing += undocumented(sub)
    return missing


@pytest.mark.parametrize("name", PARSERS)
def test_every_flag_has_help(name):
    assert undocumented(build(name)) == []


@pytest.mark.parametrize("module", DISPATCHERS)
def test_every_subcommand_has_help(module):
    commands = importlib.import_module(module).COMMANDS
    assert commands and all(text.strip() for text, _ in commands.values())
    # Each subcommand's own flags are checked above: its parser must be listed there.
    assert {target.replace(":main", ":parser") for _, target in commands.values()} <= set(PARSERS)


@pytest.mark.parametrize("name", ["app.train:parser", "tuning.search:parser"])
def test_help_lists_every_config_key_with_its_type(name):
    text = build(name).format_help()
    lines = {line.split()[0]: line.split()[1:] for line in text.splitlines()
             if line.startswith("  ") and line.split()}
    for field in dataclasses.fields(Config):
        if field.name == "name":  # fixed by the experiment: apply_overrides refuses it
            continue
        assert field.name in lines, field.name
        kind, *default = lines[field.name]
        assert kind == field.type.__name__, field.name
        if field.default is not dataclasses.MISSING and field.default != "":
            assert default == [str(field.default).lower() if field.type is bool
                               else str(field.default)], field.name
