"""``labgrader lab new``: a new lab pack to start from, with fresh step ids, that lints clean."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")

_LAB_YAML = """\
# yaml-language-server: $schema={schema}
# {name}: the lab as data. guide.md places a <validation step="..."/> for each step below; each step runs
# its checks (`labgrader checks list` shows them all, with their expectation keys) with these expectations.
# Strings of template keys may use {{Key}}: the attendee's inject value of that key.
id: {name}
title: "{title}"
version: 1
guide: guide.md

injects:
  Region:
    description: Azure region the attendee must create resources in.
    default: eastus
  ResourceGroup:
    description: Resource group the lab platform created for the attendee.
    default: rg-{name}
  DeploymentID:
    description: Per-attendee suffix that keeps globally unique resource names unique.
    default: "100001"

steps:
  - id: {step1}
    task: "1"
    checks:
      - id: account_training_exists
        expect:
          resource_group: "{{ResourceGroup}}"
          name: {{ pattern: "customvision-{name}-?{{DeploymentID}}", example: "customvision-{name}-{{DeploymentID}}" }}
      - id: account_training_region
        expect: {{ region: "{{Region}}" }}
      - id: account_training_tier
        expect: {{ sku: F0 }}
      - id: account_training_provisioned

  - id: {step2}
    task: "2"
    requires: [{step1}]
    checks:
      - id: project_exists
        expect: {{ name: "{title}" }}
"""

_GUIDE = """\
# {title}

Say in a few sentences what the student builds and why.

## What you will do

- Task 1: Create a Custom Vision resource
- Task 2: Create the project

### Task 1: Create a Custom Vision resource

1. In the Azure portal, search for **Custom Vision** and select **+ Create**.

1. Choose resource group **<inject key="ResourceGroup" enableCopy="false"/>**, region
   **<inject key="Region" enableCopy="false"/>**, name **customvision-{name}-<inject key="DeploymentID"/>**
   and the **Free F0** pricing tier, then select **Review + create**.

<validation step="{step1}" />

### Task 2: Create the project

1. Sign in to **customvision.ai**, select **NEW PROJECT**, name it **{title}**, choose the resource from
   Task 1, and select **Create project**.

<validation step="{step2}" />
"""


class ScaffoldError(ValueError):
    """The pack cannot be created (a bad name, or the folder exists)."""


def scaffold(name: str, parent: Path) -> Path:
    """Create pack ``name`` under ``parent`` and return its folder; raises :class:`ScaffoldError`."""
    if not _NAME.fullmatch(name):
        raise ScaffoldError(f"a pack name is lower-case letters, digits and hyphens (like 'find-the-flaw'), "
                            f"not {name!r}")
    root = parent / name
    if root.exists():
        raise ScaffoldError(f"{root} exists already: choose another name or folder")
    from labguide.schema import PUBLISHED

    title = name.replace("-", " ").capitalize()
    values = {"name": name, "title": title, "step1": uuid.uuid4(), "step2": uuid.uuid4(),
              "schema": PUBLISHED.as_uri()}
    (root / "images").mkdir(parents=True)
    (root / "lab.yaml").write_text(_LAB_YAML.format(**values), encoding="utf-8")
    (root / "guide.md").write_text(_GUIDE.format(**values), encoding="utf-8")
    return root
