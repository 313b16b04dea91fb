import sqlite3
import threading

from ocpi_lite.store import Store
from ocpi_lite.store.schema import MIGRATIONS


def test_migrations_apply_once_and_record_numbers(tmp_path):
    path = tmp_path / "x.db"
    Store(path).close()
    store = Store(path)  # second open: nothing re-applied
    rows = store.db.connection().execute("SELECT number, name FROM schema_migrations").fetchall()
    assert rows == [(i, m.__name__) for i, m in enumerate(MIGRATIONS, start=1)]
    store.close()


def test_wal_and_busy_timeout(tmp_path):
    store = Store(tmp_path / "x.db")
    conn = store.db.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    store.close()


def test_one_connection_per_thread(tmp_path):
    store = Store(tmp_path / "x.db")
    seen = []
    thread = threading.Thread(target=lambda: seen.append(store.db.connection()))
    thread.start()
    thread.join()
    assert seen[0] is not store.db.connection()
    assert store.db.connection() is store.db.connection()
    store.close()


def test_transaction_rolls_back_on_error(tmp_path):
    store = Store(tmp_path / "x.db")
    try:
        with store.db.transaction() as tx:
            tx.execute("INSERT INTO parties (label, state, created_at, updated_at) VALUES ('a','INVITED','t','t')")
            raise sqlite3.IntegrityError("boom")
    except sqlite3.IntegrityError:
        pass
    assert store.db.connection().execute("SELECT count(*) FROM parties").fetchone() == (0,)
    store.close()


def _open_and_close(path: str) -> None:
    Store(path).close()


def test_many_processes_opening_a_new_file_at_once(tmp_path):
    """gunicorn workers boot together on a fresh database: none may fail with "locked"."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    for round_number in range(8):
        path = str(tmp_path / f"fresh{round_number}.db")
        workers = [context.Process(target=_open_and_close, args=(path,)) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert [w.exitcode for w in workers] == [0] * 6


def test_recorded_cdr_queries_use_the_recorded_only_indexes(tmp_path):
    # Migration 5 made the paging and id indexes partial (RECORDED rows): a query that binds
    # `source` instead of spelling it would silently scan the table.
    from ocpi_lite.store.cdrs import SenderFilter

    store = Store(tmp_path / "x.db")
    conn = store.db.connection()
    statements = []
    conn.set_trace_callback(statements.append)
    store.cdrs.sender_page(SenderFilter(("DE/TNM",)), after=None, offset=0, limit=51)
    store.cdrs.sender_page(SenderFilter(None), after=(1, 1), offset=0, limit=51)
    store.cdrs.sender_count(SenderFilter(("DE/TNM",), from_us=1))
    store.cdrs.recorded_with_id("abc")
    conn.set_trace_callback(None)
    plans = [
        " / ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
        for sql in statements if sql.startswith("SELECT") and "cdrs" in sql
    ]
    assert len(plans) == 4
    for plan in plans:
        assert "USING INDEX cdrs_recorded_" in plan, plan
    store.close()
