"""`ocpi-lite init` and `ocpi-lite token create`, run as a user runs them."""

import subprocess
import sys

from ocpi_lite.cli import main, new_token
from ocpi_lite.config import load
from ocpi_lite.store import Store
from ocpi_lite.store.parties import token_digest


def test_init_writes_config_and_database(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OCPI_LITE_CONFIG", raising=False)
    monkeypatch.delenv("OCPI_LITE_DATABASE", raising=False)
    assert main(["init"]) == 0
    assert (tmp_path / "ocpi_lite.toml").exists()
    assert (tmp_path / "ocpi_lite.db").exists()
    assert main(["init"]) == 1
    assert "exists; use --force" in capsys.readouterr().err
    assert main(["init", "--force"]) == 0


def test_token_create_prints_token_and_versions_url(tmp_path, monkeypatch, capsys):
    config_path = tmp_path / "c.toml"
    config_path.write_text(f'[server]\ndatabase = "{tmp_path / "db.sqlite"}"\n'
                           'public_url = "https://cpo.example.com/ocpi"\n')
    assert main(["token", "create", "--name", "Some eMSP", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert lines["versions_url"] == "https://cpo.example.com/ocpi/versions"
    store = Store(load(config_path).server.database)
    caller = store.parties.authenticate(lines["token"])
    assert caller is not None and caller.registration_only and caller.peer.label == "Some eMSP"
    assert store.db.connection().execute(
        "SELECT count(*) FROM tokens WHERE digest = ?", (token_digest(lines["token"]),)
    ).fetchone() == (1,)
    store.close()


def test_misspelt_key_fails_commands_with_one_line(tmp_path):
    config_path = tmp_path / "bad.toml"
    config_path.write_text('[party]\nparty_idd = "ABC"\n')
    result = subprocess.run(
        [sys.executable, "-m", "ocpi_lite", "token", "create", "--name", "x", "--config", str(config_path)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr == f"ocpi-lite: {config_path}: unknown key `party.party_idd`\n"


def test_every_subcommand_has_help():
    for argv in (["--help"], ["init", "--help"], ["token", "create", "--help"]):
        result = subprocess.run([sys.executable, "-m", "ocpi_lite", *argv], capture_output=True, text=True)
        assert result.returncode == 0 and "usage:" in result.stdout


def test_new_tokens_never_look_like_an_option_and_dashed_ones_pass_after_double_dash():
    # One token_urlsafe in 64 starts with "-": `register URL -abc` then failed as an option.
    tokens = [new_token() for _ in range(3000)]
    assert not any(token.startswith("-") for token in tokens)
    assert len(set(tokens)) == len(tokens) and all(len(token) == 43 for token in tokens)
    from ocpi_lite.cli import build_parser

    args = build_parser().parse_args(["register", "http://127.0.0.1:9/versions", "--", "-abc"])
    assert (args.versions_url, args.token) == ("http://127.0.0.1:9/versions", "-abc")
