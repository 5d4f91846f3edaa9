"""The root `workshop` group: every command, registered by concern (see `workshop.cli`)."""

from __future__ import annotations

import click

from workshop.cli import classroom as _classroom
from workshop.cli import instructor as _instructor
from workshop.cli import learner as _learner
from workshop.cli import room as _room


def _show_version(context, _parameter, value):
    if not value or context.resilient_parsing:
        return
    from workshop.version import kit_version

    click.echo(f"workshop, version {kit_version()}")
    context.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the kit's version and the commit it comes from (two copies told apart).",
)
def cli():
    """A hands-on Docker workshop, checked against your real Docker engine.

    Start with `workshop next`: it shows the first step. Type the docker commands it shows in
    your terminal, then run `workshop next` again to have them checked.

    \b
    Exit status, for every command:
      0    done
      1    an error: the message says what stopped the command and how to fix it
      2    a usage error (a wrong option, an unknown step or lab)
      3    the step looked at is not done yet (next, check)
      130  interrupted (Ctrl-C)
    """


for _module in (_learner, _instructor, _classroom, _room):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
