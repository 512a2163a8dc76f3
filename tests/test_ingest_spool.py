"""The spool: a file that cannot be loaded, or that a limit stops, is set aside with its reason and
never holds up the files after it; a mapping given to `odwatch ingest` travels with its files."""

from __future__ import annotations

import shutil
import zlib

import pytest
from ingest_helpers import event, line, write_lines

from ingest.spool import drop_into_spool, ingest_spool, pending_files, set_aside_files


@pytest.fixture(autouse=True)
def empty_spool(settings):
    """The spool belongs to the test session's data directory: start from an empty one."""
    shutil.rmtree(settings.spool_dir, ignore_errors=True)


def bomb(path, size: int = 64 * 1024 * 1024):
    """A gzip file of `size` empty lines, compressed a block at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as out:
        for _ in range(size // (1024 * 1024)):
            out.write(packer.compress(b"\n" * 1024 * 1024))
        out.write(packer.flush())
    return path


def test_a_poisoned_spool_file_is_set_aside_and_the_next_file_loads(client, settings, tmp_path):
    junk = tmp_path / "blob.bin"
    junk.write_bytes(bytes(range(256)) * 16)                          # no format odwatch can tell
    expanding = bomb(tmp_path / "gateway.jsonl.gz")
    good = write_lines(tmp_path / "late.jsonl", [line(event(n, event_id=f"spool-{n}")) for n in range(12)])
    for path in (junk, expanding, good):
        drop_into_spool(settings, [path])
    assert len(pending_files(settings)) == 3

    summaries = ingest_spool(client, settings)
    assert pending_files(settings) == []
    loaded = client.query("SELECT count() FROM access_log WHERE startsWith(event_id, 'spool-')")
    assert loaded.result_rows == [(12,)]
    assert [s.inserted for s in summaries] == [0, 12]                 # the stopped file, then the good one
    aside = {f.name: f for f in set_aside_files(settings)}
    assert set(aside) == {"blob.bin", "gateway.jsonl.gz"}
    assert "Cannot tell the format" in aside["blob.bin"].reason
    assert "more than 100 times its compressed size" in aside["gateway.jsonl.gz"].reason
    assert "lines before it were read and accounted for" in aside["gateway.jsonl.gz"].reason
    assert aside["gateway.jsonl.gz"].path.read_bytes() == expanding.read_bytes()
    assert [p.name.split("--")[-1] for p in (settings.spool_dir / "done").iterdir()] == ["late.jsonl"]
    assert ingest_spool(client, settings) == []                       # nothing waits, nothing is retried


def test_a_mapping_given_with_spooled_files_is_used_to_load_them(client, settings, tmp_path):
    log = tmp_path / "export.csv"
    log.write_text("reqId,when,addr,code,via\nx-1,2026-11-20T10:00:00+08:00,10.0.0.1,200,接口\n",
                   encoding="utf-8")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[access_log.columns]\nreqId = "event_id"\nwhen = "ts"\naddr = "client_ip"\n'
                       'code = "status"\nvia = "channel"\n', encoding="utf-8")
    drop_into_spool(settings, [log], mapping_file=mapping)
    (summary,) = ingest_spool(client, settings)
    assert (summary.inserted, summary.rejected) == (1, 0)
    assert client.query("SELECT event_id, channel FROM access_log").result_rows == [("x-1", "api")]
    assert list((settings.spool_dir / "done").iterdir())[0].name.endswith("--export.csv")
    assert [p.name for p in settings.spool_dir.iterdir() if p.is_file()] == []     # no options file left
