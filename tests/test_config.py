from pathlib import Path

import msgspec
import pytest

from ocpi_lite import config as config_module
from ocpi_lite.config import Config, ConfigError, decode, load
from ocpi_lite.urls import Urls

ROOT = Path(__file__).resolve().parents[1]


def test_embedded_defaults_match_design():
    config = Config()
    assert config.party.roles == ["CPO"]
    assert config.server.public_url == "http://127.0.0.1:8000/ocpi"
    assert config.server.page_limit == 100
    assert config.push.max_attempts == 0


def test_example_file_lists_every_key_with_default_values():
    text = (ROOT / "config.example.toml").read_text()
    assert decode(text, "config.example.toml") == Config()
    for section in ("party", "server", "push"):
        struct = getattr(Config(), section)
        for key in struct.__struct_fields__:
            assert f"{key} =" in text, f"config.example.toml does not list {section}.{key}"


def test_packaged_template_is_the_example_file():
    packaged = ROOT / "ocpi_lite" / "config_template.toml"
    assert packaged.read_text() == (ROOT / "config.example.toml").read_text()


@pytest.mark.parametrize(
    "text, message",
    [
        ('[server]\npubic_url = "http://x"\n', "f.toml: unknown key `server.pubic_url`"),
        ("[serve]\n", "f.toml: unknown key `serve`"),
        ('[server]\npage_limit = "ten"\n', "f.toml: `server.page_limit`: Expected `int`, got `str`"),
        ('[party]\nroles = ["CSO"]\n', "f.toml: `party.roles[0]`: Invalid enum value 'CSO'"),
        ('[party]\ncountry_code = "NLD"\n', "f.toml: `party.country_code`"),
        ("[push]\nbackoff_initial = 10.0\nbackoff_max = 1.0\n", "backoff_max"),
        ("[push\n", "f.toml: not valid TOML"),
    ],
)
def test_bad_config_names_the_key_and_the_file(text, message):
    with pytest.raises(ConfigError) as excinfo:
        decode(text, "f.toml")
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_load_order_and_environment_overrides(tmp_path, monkeypatch):
    # The environment is the documented interface here, so the test sets it.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OCPI_LITE_CONFIG", raising=False)
    monkeypatch.delenv("OCPI_LITE_DATABASE", raising=False)
    monkeypatch.delenv("OCPI_LITE_PUBLIC_URL", raising=False)
    assert load() == Config()

    (tmp_path / "ocpi_lite.toml").write_text('[party]\nparty_id = "ABC"\n')
    assert load().party.party_id == "ABC"

    other = tmp_path / "other.toml"
    other.write_text('[party]\nparty_id = "XYZ"\n')
    monkeypatch.setenv("OCPI_LITE_CONFIG", str(other))
    assert load().party.party_id == "XYZ"

    monkeypatch.setenv("OCPI_LITE_DATABASE", "/tmp/elsewhere.db")
    monkeypatch.setenv("OCPI_LITE_PUBLIC_URL", "https://ocpi.example.com/base")
    loaded = load()
    assert loaded.server.database == "/tmp/elsewhere.db"
    assert loaded.public_url == "https://ocpi.example.com/base"
    assert Urls(loaded.public_url).route(Urls(loaded.public_url).versions()) == "/base/versions"

    monkeypatch.setenv("OCPI_LITE_PUBLIC_URL", "not a url")
    with pytest.raises(ConfigError, match="OCPI_LITE_PUBLIC_URL"):
        load()


def test_missing_file_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load(tmp_path / "absent.toml")
