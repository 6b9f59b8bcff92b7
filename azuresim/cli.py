"""``labgrader sim ...``: run the simulator and drive it (placeholder being written)."""

import click


@click.group()
def sim() -> None:
    """azuresim: a loopback Azure for tests, demos and dry runs."""
