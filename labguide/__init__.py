"""The lab as data: the guide dialect (parse, lint, render) and lab packs (guide.md + lab.yaml + images/).

Public interface::

    from labguide import load_pack, available_packs, render_guide, render_page, lint_pack
    pack = load_pack("spot-the-flaw")        # LabPack: .guide (parsed), .steps, .injects, .secret_keys
    html = render_guide(pack, injects, step_url=..., image_url=..., reveal_url=...)
"""

from importlib import import_module

from labguide.model import Guide, ImageRef, InjectRef, Task, ValidationRef
from labguide.packs import CheckSpec, InjectSpec, LabPack, PackError, StepSpec, available_packs, load_pack
from labguide.parse import parse_guide

# Linting and rendering load when first named: grading a lab (labgrader validate) uses neither.
_LAZY = {"Problem": "labguide.lint", "lint_pack": "labguide.lint", "render_guide": "labguide.render",
         "render_markdown": "labguide.render", "render_page": "labguide.render", "sanitize": "labguide.render"}

__all__ = [
    "CheckSpec", "Guide", "ImageRef", "InjectRef", "InjectSpec", "LabPack", "PackError", "Problem", "StepSpec",
    "Task", "ValidationRef", "available_packs", "lint_pack", "load_pack", "parse_guide", "render_guide",
    "render_markdown", "render_page", "sanitize",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'labguide' has no attribute {name!r}")
