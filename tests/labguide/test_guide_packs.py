"""Loading packs: the built-in one, packs from configured folders, and bad input."""

from __future__ import annotations

import pytest

from labguide.packs import PACK_DIRS_ENV, PackError, available_packs, load_pack


def test_builtin_pack_loads_with_steps_and_secrets():
    pack = load_pack("spot-the-flaw")
    assert pack.id == "spot-the-flaw" and pack.guide_path.name == "guide.md"
    assert [s.task for s in pack.steps] == ["1", "2", "3.1", "3.2", "4", "5.1", "5.2", "6"]
    assert pack.step("0b268237-4be0-4453-a6ac-5603f697a1a9").title == "Create the Custom Vision project"
    assert pack.secret_keys == {"AzureAdUserPassword"}
    assert pack.demo_injects()["DeploymentID"] == "100001"
    with pytest.raises(KeyError):
        pack.step("nope")


def test_packs_from_configured_folders(tmp_path, monkeypatch, pack_copy):
    extra = tmp_path / "extra"
    (extra / "other").mkdir(parents=True)
    (extra / "other" / "lab.yaml").write_text("id: other-lab\ntitle: Other\nsteps: []\n")
    (extra / "other" / "guide.md").write_text("# Other\n")
    monkeypatch.setenv(PACK_DIRS_ENV, str(extra))

    ids = [p.id for p in available_packs()]
    assert ids == ["find-the-flaw", "other-lab", "spot-the-flaw"]
    assert load_pack("other").title == "Other"
    assert load_pack("other-lab").root == extra / "other"
    # extra_dirs (the web app's configuration) are searched too.
    monkeypatch.delenv(PACK_DIRS_ENV)
    assert load_pack("spot-the-flaw", extra_dirs=[pack_copy.parent]).root == pack_copy


def test_malformed_lab_yaml_is_a_pack_error(tmp_path):
    (tmp_path / "lab.yaml").write_text("id: [unclosed\n")
    with pytest.raises(PackError, match="not valid YAML"):
        load_pack(tmp_path)
