"""`ngramkit new-backend NAME`: scaffold a plugin package (see scaffold.py)."""

from __future__ import annotations

import click

from ..scaffold import files, identifiers, write_package
from .common import console


@click.command("new-backend")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    default=".",
    show_default=True,
    metavar="FOLDER",
    help="Where to create ngramkit-NAME/.",
)
def command(name: str, parent: str) -> None:
    """Create ngramkit-NAME/: a working backend, its entry point and conformance test."""
    root = write_package(name, parent)
    out = console()
    out.print(f"created {root}/")
    for rel in files(name):
        out.print(f"  {rel}")
    dist = identifiers(name)["dist"]
    out.print(
        f"next: pip install -e {root}  &&  ngramkit fit DATA --backend {name}  &&  "
        f"pytest {root}   (contract and kit: python -m pydoc ngramkit.model, "
        f"python -m pydoc ngramkit.testing; package {dist})",
        soft_wrap=True,
    )
