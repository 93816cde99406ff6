"""The extension loads in a real Jupyter server and answers under /dx/api."""


async def test_extension_answers_an_empty_project_list(dx_api):
    status, body = await dx_api("projects")
    assert (status, body) == (200, {"projects": []})


async def test_created_project_is_listed(dx_api):
    status, created = await dx_api("projects", "POST", {"name": "demo"})
    assert status == 201 and created["name"] == "demo" and created["id"]
    _, listing = await dx_api("projects")
    assert [p["name"] for p in listing["projects"]] == ["demo"]


async def test_a_data_dir_the_extension_creates_is_private_to_its_user(jp_serverapp, tmp_path):
    import stat

    from dx_jupyter.app import DXJupyter

    created = tmp_path / "fresh" / "dx_jupyter"
    app = DXJupyter(data_dir=str(created))
    app.serverapp = jp_serverapp
    app.initialize_settings()
    try:
        assert stat.S_IMODE(created.stat().st_mode) == 0o700
    finally:
        await app.stop_extension()
