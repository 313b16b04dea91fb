"""`ocpi-lite cdrs import FILE|-` and `ocpi-lite cdrs credit CDR_ID`."""

import io
import json
import sys
from pathlib import Path

import pytest

from ocpi_lite.cli import main
from ocpi_lite.importing import iter_records
from ocpi_lite.store import Store

EXAMPLE = Path(__file__).resolve().parent / "fixtures/ocpi_examples/official/v2_2_1-d2__cdr_example.json"


def cdr(number: int, **changes) -> dict:
    return json.loads(EXAMPLE.read_text()) | {"id": f"c{number}"} | changes


@pytest.fixture
def config_path(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(f'[server]\ndatabase = "{tmp_path / "db.sqlite"}"\n')
    return path


def run(config_path, *args) -> int:
    return main(["cdrs", *args, "--config", str(config_path)])


def stored_ids(config_path) -> list[str]:
    store = Store(config_path.parent / "db.sqlite")
    try:
        return [row[0] for row in store.db.connection().execute("SELECT id FROM cdrs ORDER BY pk")]
    finally:
        store.close()


def test_import_json_array_reports_bad_records_by_line_and_stores_the_rest(config_path, tmp_path, capsys):
    bad_uid = cdr(2)
    bad_uid["cdr_token"]["uid"] = "x" * 40
    records = [cdr(1), bad_uid, cdr(3, currency="euro"), cdr(4)]
    # Pretty-printed: each element spans many lines; the error names the line it starts on.
    text = "[\n" + ",\n".join(json.dumps(r, indent=1) for r in records) + "\n]\n"
    starts = [i + 1 for i, line in enumerate(text.splitlines()) if line in ("{", "[{")]
    (tmp_path / "cdrs.json").write_text(text)
    assert run(config_path, "import", str(tmp_path / "cdrs.json")) == 1
    out, err = capsys.readouterr()
    assert out.strip() == "imported 2, unchanged 0, failed 2"
    assert f"line {starts[1]}: Invalid field `cdr_token.uid`" in err
    assert f"line {starts[2]}: Invalid field `currency`" in err
    assert stored_ids(config_path) == ["c1", "c4"]


def test_import_json_lines_from_stdin_is_idempotent_and_reports_conflicts(config_path, monkeypatch, capsys):
    lines = [json.dumps(cdr(1)), "", "{not json", json.dumps(cdr(2))]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(lines).encode())))
    assert run(config_path, "import", "-") == 1
    out, err = capsys.readouterr()
    assert out.strip() == "imported 2, unchanged 0, failed 1"
    assert "line 3: not valid JSON" in err

    again = "\n".join([json.dumps(cdr(1)), json.dumps(cdr(2, total_energy=1.0))])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(again.encode())))
    assert run(config_path, "import", "-") == 1
    out, err = capsys.readouterr()
    assert out.strip() == "imported 0, unchanged 1, failed 1"
    assert "line 2: CDR BE/BEC/c2 exists with other content" in err
    assert stored_ids(config_path) == ["c1", "c2"]


def test_import_of_a_clean_file_exits_0_with_progress_on_stderr(config_path, tmp_path, capsys):
    (tmp_path / "many.jsonl").write_text("\n".join(json.dumps(cdr(n)) for n in range(2100)))
    assert run(config_path, "import", str(tmp_path / "many.jsonl")) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "imported 2100, unchanged 0, failed 0"
    assert "... 1000 records" in err and "... 2000 records" in err
    assert len(stored_ids(config_path)) == 2100


def test_import_of_an_empty_array_or_a_missing_file(config_path, tmp_path, capsys):
    (tmp_path / "empty.json").write_text(" [ ] ")
    assert run(config_path, "import", str(tmp_path / "empty.json")) == 0
    assert capsys.readouterr().out.strip() == "imported 0, unchanged 0, failed 0"
    assert run(config_path, "import", str(tmp_path / "missing.json")) == 1
    assert "missing.json: cannot read" in capsys.readouterr().err


def test_a_file_holding_one_pretty_printed_cdr_is_one_record(config_path, capsys):
    assert run(config_path, "import", str(EXAMPLE)) == 0
    assert capsys.readouterr().out.strip() == "imported 1, unchanged 0, failed 0"
    assert stored_ids(config_path) == ["12345"]
    assert [r[0] for r in iter_records('\n\n{"a": 1}\n{"b": 2}\n')] == [3, 4]  # JSON lines


def test_broken_array_is_reported_once_and_reading_stops():
    records = list(iter_records('[\n{"a": 1},\n{"b": \n, {"c": 3}]'))
    assert records[0] == (2, b'{"a": 1}', None)
    assert records[1][0] == 4 and "not valid JSON" in records[1][2] and len(records) == 2
    assert list(iter_records('[{"a": 1} {"b": 2}]'))[1][2].startswith("expected ',' or ']'")


def test_credit_command(config_path, tmp_path, capsys):
    (tmp_path / "one.json").write_text(json.dumps([cdr(1)]))
    assert run(config_path, "import", str(tmp_path / "one.json")) == 0
    assert run(config_path, "credit", "c1") == 0
    assert "recorded credit CDR BE/BEC/c1-C (total_cost -4.0 excl. VAT)" in capsys.readouterr().out
    assert run(config_path, "credit", "c1") == 1
    assert "already credited" in capsys.readouterr().err
    assert run(config_path, "credit", "nope") == 1
    assert "no recorded CDR with id 'nope'" in capsys.readouterr().err
    assert stored_ids(config_path) == ["c1", "c1-C"]


def test_help_lists_the_cdrs_commands(capsys):
    with pytest.raises(SystemExit):
        main(["cdrs", "--help"])
    out = capsys.readouterr().out
    assert "import" in out and "credit" in out
