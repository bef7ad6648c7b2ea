"""Settings come from EDGESTORE_* variables or a TOML file, with documented defaults."""

from pathlib import Path

from edge.settings import EdgeSettings


def test_defaults_work_with_no_configuration(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = EdgeSettings()
    assert settings.port == 8080
    assert settings.host == "127.0.0.1"
    assert settings.sqlite_synchronous == "FULL"
    assert settings.database_path == Path("edgestore-data/edge.sqlite3")


def test_environment_and_toml_file(monkeypatch, tmp_path):
    config = tmp_path / "node.toml"
    config.write_text('port = 9000\nstore_id = "store-a"\ndata_dir = "/var/lib/edgestore"\n')
    monkeypatch.setenv("EDGESTORE_CONFIG_FILE", str(config))
    monkeypatch.setenv("EDGESTORE_PORT", "9100")  # the environment beats the file
    settings = EdgeSettings()
    assert settings.port == 9100
    assert settings.store_id == "store-a"
    assert settings.data_dir == Path("/var/lib/edgestore")
    assert EdgeSettings(port=9200).port == 9200  # CLI flags beat both


def test_a_configured_device_id_wins_over_the_one_the_node_made(tmp_path):
    from edge.node import Node

    first = Node.open(EdgeSettings(data_dir=tmp_path))
    made = first.device_id
    first.close()
    provisioned = Node.open(EdgeSettings(data_dir=tmp_path, device_id="01JDEVICE0000000000000000A"))
    assert provisioned.device_id == "01JDEVICE0000000000000000A" != made
    provisioned.close()
    again = Node.open(EdgeSettings(data_dir=tmp_path))  # remembered without the setting
    assert again.device_id == "01JDEVICE0000000000000000A"
    again.close()
