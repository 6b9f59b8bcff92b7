"""``python -m azuresim serve ...``: the simulator's command line without labgrader's (see :mod:`.cli`)."""

from .cli import sim

sim(prog_name="azuresim")
