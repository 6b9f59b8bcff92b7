"""Security and operations of the web service: lab ids only ever name configured packs, the platform
API's Validate rate limit, proxies, concurrent auto-migration, tokens kept out of the access log,
revocation from the command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labguide.packs import BUILTIN_DIR
from webapp.services import apikeys, labs
from webapp.services.errors import NotFound

LAB = "spot-the-flaw"


@pytest.fixture
def db_url(tmp_path):
    """These tests are about the HTTP and process surface: SQLite is enough unless a test says otherwise."""
    return f"sqlite:///{tmp_path / 'labgrader.sqlite3'}"


@pytest.fixture
def auth(app) -> dict:
    return {"Authorization": f"Bearer {apikeys.create('platform')[1]}"}


# -- lab ids name configured packs only -------------------------------------------------------------------


@pytest.fixture
def cwd_with_secrets(tmp_path, monkeypatch) -> Path:
    """A working directory like a deployment's: a .env, a Makefile, and a folder that looks like a pack."""
    work = tmp_path / "work"
    work.mkdir()
    (work / ".env").write_text("LABGRADER_SECRET_KEY=do-not-show-me\n")
    (work / "Makefile").write_text("deploy:\n\techo do-not-show-me\n")
    shutil.copytree(BUILTIN_DIR / LAB, work / "evil")
    (work / "evil" / "lab.yaml").write_text((work / "evil" / "lab.yaml").read_text().replace(LAB, "evil"))
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize("name", [".env", "../x", "Makefile", "evil", "./evil", "/etc/passwd", "EVIL", "a" * 101,
                                  "spot-the-flaw/", "spot-the-flaw\n", ""])
def test_lab_ids_outside_the_pack_folders_are_not_found(app, cwd_with_secrets, name):
    with pytest.raises(NotFound):
        labs.pack(name)


@pytest.mark.parametrize("name", [".env", "Makefile", "evil", "..%2Fx", "%2E%2E", "%2Eenv"])
def test_api_refuses_files_of_the_working_directory(client, auth, cwd_with_secrets, name):
    for method, path, body in [("PUT", f"/api/v1/labs/{name}/attendees/x", {"display_name": "x"}),
                               ("GET", f"/api/v1/labs/{name}", None),
                               ("GET", f"/api/v1/labs/{name}/progress", None)]:
        r = client.open(path, method=method, json=body, headers=auth)
        assert r.status_code == 404, (path, r.get_data(as_text=True))
        assert "do-not-show-me" not in r.get_data(as_text=True)
    listed = client.get("/api/v1/labs", headers=auth).get_json()
    assert [lab["id"] for lab in listed["labs"]] == [LAB]


def test_packs_come_from_the_app_config_not_the_environment(make_app, db_url, tmp_path, monkeypatch):
    configured, env_only = tmp_path / "configured", tmp_path / "env-only"
    for folder, pack_id in ((configured, "from-config"), (env_only, "from-env")):
        shutil.copytree(BUILTIN_DIR / LAB, folder / pack_id)
        yaml_path = folder / pack_id / "lab.yaml"
        yaml_path.write_text(yaml_path.read_text().replace(LAB, pack_id))
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, PACK_DIRS=[str(configured)])
    monkeypatch.setenv("LABGRADER_PACK_DIRS", str(env_only))  # read by labguide's CLI, not by this app
    with app.app_context():
        assert labs.pack("from-config").root == configured / "from-config"
        assert [p.id for p in labs.packs()] == ["from-config", LAB]
        with pytest.raises(NotFound):
            labs.pack("from-env")


def test_the_index_loads_once_and_rescans_only_for_a_new_pack_folder(make_app, db_url, tmp_path, monkeypatch):
    import labguide.packs

    folder = tmp_path / "packs"
    folder.mkdir()
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, PACK_DIRS=[str(folder)])
    loads = []
    real = labguide.packs.load_pack
    monkeypatch.setattr(labguide.packs, "load_pack", lambda *a, **k: loads.append(a) or real(*a, **k))
    with app.app_context():
        labs.pack(LAB)
        assert len(loads) == 1
        for _ in range(3):
            labs.packs()
            labs.pack(LAB)
            with pytest.raises(NotFound):
                labs.pack("no-such-lab")
        assert len(loads) == 1  # neither listing nor unknown ids reload from disk
        # A pack installed while running is found by its folder name, without a restart.
        shutil.copytree(BUILTIN_DIR / LAB, folder / "newer")
        (folder / "newer" / "lab.yaml").write_text((folder / "newer" / "lab.yaml").read_text().replace(LAB, "newer"))
        monkeypatch.setattr(labs, "RESCAN_SECONDS", 0.0)
        assert labs.pack("newer").id == "newer"
        assert len(loads) == 3  # one rescan: both packs


def test_a_broken_pack_does_not_hide_the_others(make_app, db_url, tmp_path):
    folder = tmp_path / "packs"
    (folder / "broken").mkdir(parents=True)
    (folder / "broken" / "lab.yaml").write_text("id: broken\nsteps: [\n")
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, PACK_DIRS=[str(folder)])
    with app.app_context():
        assert [p.id for p in labs.packs()] == [LAB]
        with pytest.raises(NotFound):
            labs.pack("broken")
