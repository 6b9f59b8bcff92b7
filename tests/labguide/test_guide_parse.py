"""Parsing the dialect: the seed guide, the built-in pack's guide, and the quirks real guides have."""

from __future__ import annotations

from labguide.packs import load_pack
from labguide.parse import parse_guide

TASK1_STEP = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
TASK2_STEP = "0b268237-4be0-4453-a6ac-5603f697a1a9"


def test_seed_guide_has_six_tasks_and_two_steps(seed_text):
    guide = parse_guide(seed_text)

    assert [t.number for t in guide.tasks] == ["1", "2", "3", "4", "5", "6"]
    assert guide.task("1").title == "Create a Custom Vision resource"
    assert [s.number for s in guide.task("3").subtasks] == ["3.1", "3.2"]
    # "#### Task 5.1 Testing ..." has no colon in the seed; the title must still come out whole.
    assert guide.task("5.1").title == "Testing the Model with New Defective Images"
    assert [(v.step, v.task) for v in guide.validations] == [(TASK1_STEP, "1"), (TASK2_STEP, "2")]
    assert guide.inject_keys == ["Region", "AzureAdUserEmail", "AzureAdUserPassword"]
    assert not guide.problems


def test_seed_images_all_found_with_their_lines(seed_text):
    guide = parse_guide(seed_text)
    lines = seed_text.splitlines()

    assert len(guide.images) == seed_text.count("![")
    for image in guide.images:
        assert image.src in lines[image.line - 1]
    assert guide.images[0].src == "../images/unit4-lesson(8).png"


def test_builtin_pack_guide_places_every_step_in_its_task():
    pack = load_pack("spot-the-flaw")
    guide = pack.guide

    assert [t.number for t in guide.tasks] == ["1", "2", "3", "4", "5", "6"]
    assert [(v.step, v.task) for v in guide.validations] == [(s.id, s.task) for s in pack.steps]
    assert guide.validations[0].step == TASK1_STEP and guide.validations[1].step == TASK2_STEP
    assert set(guide.inject_keys) == {"Region", "ResourceGroup", "DeploymentID", "AzureAdUserEmail",
                                      "AzureAdUserPassword"}


def test_tags_in_fenced_code_are_content_not_dialect():
    text = "### Task 1: Show\n\n```\n<validation step=\"x\" />\n<inject key=\"K\"/>\n```\n"
    guide = parse_guide(text)
    assert guide.validations == [] and guide.injects == []


def test_quirky_headings_and_enable_copy():
    text = (
        "## Task 2 - Dash title\n"
        "Use <inject key='Region' enableCopy=\"false\"></inject> and <INJECT key=\"Name\"/>.\n\n"
        "<validation step=\"s2\"/>\n"
        "### Task 2.1. Dotted\n\n<validation step=\"s21\"></validation>\n"
        "## Review\n\n<validation step=\"after\"/>\n"
    )
    guide = parse_guide(text)

    assert [(t.number, t.title) for t in guide.tasks] == [("2", "Dash title")]
    assert guide.task("2.1").title == "Dotted"
    assert [(i.key, i.copy) for i in guide.injects] == [("Region", False), ("Name", True)]
    # "## Review" ends the task, so a tag after it belongs to none.
    assert [(v.step, v.task) for v in guide.validations] == [("s2", "2"), ("s21", "2.1"), ("after", None)]


def test_tag_without_key_is_reported_with_its_line():
    guide = parse_guide("### Task 1: x\n\n<inject/>\n\n<validation />\n")
    assert [(p.line, p.message.split(":")[0]) for p in guide.problems] == [
        (3, "<inject> tag without a key"),
        (5, "<validation> tag without a step id"),
    ]


MULTILINE = """# A guide

Use the region <inject
    key="Region"
    enableCopy="false" /> for every resource
you create.

## Task 1: Make it

<validation
  step="s-1"></validation>

![Diagram](images/d.png)

## Task 2: Check it
"""


def test_a_tag_over_several_lines_keeps_later_line_numbers():
    guide = parse_guide(MULTILINE)
    lines = MULTILINE.splitlines()
    assert [(t.number, t.line) for t in guide.tasks] == [("1", 8), ("2", 15)]
    assert lines[7] == "## Task 1: Make it" and lines[14] == "## Task 2: Check it"
    assert [(i.key, i.line) for i in guide.injects] == [("Region", 3)]
    assert [(v.step, v.line, v.task) for v in guide.validations] == [("s-1", 10, "1")]
    assert [(i.src, i.line) for i in guide.images] == [("images/d.png", 13)]
