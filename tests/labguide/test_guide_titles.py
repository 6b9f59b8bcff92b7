"""One source for a task's title: the guide's heading. Every step takes its title from there, lab.yaml may
only repeat it (lint says when it does not), and where the guide has no heading lab.yaml's title serves."""

from __future__ import annotations

import re

from labguide.packs import load_pack
from tests.labguide.test_guide_lint import _edit, _line_of, _lint

TASK4 = "3c9e5f1a-7b2d-4e8f-a6c0-2d4b6e8f0a33"


def test_every_step_is_titled_by_its_guide_heading():
    pack = load_pack("spot-the-flaw")
    headings = dict(re.findall(r"^#{3,4} Task ([\d.]+): (.+)$", pack.guide_text, re.M))
    assert [(s.task, s.title) for s in pack.steps] == [(s.task, headings[s.task]) for s in pack.steps]
    assert all(s.declared_title in ("", s.title) for s in pack.steps)


def test_the_heading_wins_and_lint_names_a_title_that_differs(pack_copy):
    _edit(pack_copy / "guide.md", "### Task 4: Train the model with Quick Training", "### Task 4: Train it")
    step = load_pack(pack_copy).step(TASK4)
    assert (step.title, step.declared_title) == ("Train it", "Train the model with Quick Training")
    assert _lint(pack_copy) == [
        f"lab.yaml:{_line_of(pack_copy / 'lab.yaml', TASK4)}: step {TASK4} has the title 'Train the model with "
        "Quick Training', but guide.md calls Task 4 'Train it': students read the heading, so labgrader names "
        "the task by it everywhere; use the same words or drop the title here"
    ]


def test_a_title_left_out_of_lab_yaml_comes_from_the_guide(pack_copy):
    _edit(pack_copy / "lab.yaml", "    title: Train the model with Quick Training\n", "")
    assert load_pack(pack_copy).step(TASK4).title == "Train the model with Quick Training"
    assert _lint(pack_copy) == []


def test_without_a_heading_lab_yaml_title_serves(pack_copy):
    _edit(pack_copy / "guide.md", "### Task 4: Train the model with Quick Training", "### Training")
    assert load_pack(pack_copy).step(TASK4).title == "Train the model with Quick Training"
