"""`dnc-api export`: the same CSV an admin downloads, to a file (whole or not at all) or to
stdout; an unknown organization or status is refused and leaves no file behind."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from api.settings import Settings
from models import DncEntryStatus, DncReason
from tests.support.export import export, make_entry, read_csv
from tests.support.factories import make_tenant
from tests.support.processes import Cli


def files_in(folder: Path) -> list[str]:
    """What the command left behind (a cut-short export must leave nothing)."""
    return sorted(path.name for path in folder.iterdir())


async def run_export_command(
    database_url: str, cwd: Path, *args: str
) -> subprocess.CompletedProcess[bytes]:
    """`dnc-api export ...` as an operator runs it, beside the app serving the same database."""
    return await asyncio.to_thread(Cli(database_url, cwd).run_bytes, "export", *args)


async def test_the_command_writes_the_same_csv(
    http: httpx.AsyncClient, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    tenant = await make_tenant(settings)
    other = await make_tenant(settings, "Other")
    now = datetime.now(UTC)
    await make_entry(tenant, 0, note='=1+1, "quoted"\nnext', added_by_id=tenant.admin.id)
    await make_entry(tenant, 1, status=DncEntryStatus.REMOVED, removed_at=now)
    await make_entry(tenant, 2, expires_at=now - timedelta(days=1), reason=DncReason.OTHER)
    await make_entry(other, 3, note="not ours")
    org = str(tenant.organization.id)
    out = tmp_path / "export.csv"

    written = await run_export_command(database_url, tmp_path, "--org", org, "--out", str(out))
    removed = await run_export_command(database_url, tmp_path, "--org", org, "--status", "removed")

    assert written.returncode == 0, written.stderr
    assert b"exported 3 entries" in written.stdout
    assert out.read_bytes().decode() == (await export(http, tenant.admin_token)).text
    assert files_in(tmp_path) == ["export.csv"]
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.decode() == (await export(http, tenant.admin_token, "REMOVED")).text
    assert len(read_csv(removed.stdout.decode())) == 1


async def test_the_command_refuses_an_unknown_organization_or_status(
    http: httpx.AsyncClient, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    tenant = await make_tenant(settings)
    out = tmp_path / "export.csv"

    unknown = await run_export_command(
        database_url, tmp_path, "--org", str(uuid.uuid4()), "--out", str(out)
    )
    not_an_id = await run_export_command(database_url, tmp_path, "--org", "acme")
    bad_status = await run_export_command(
        database_url, tmp_path, "--org", str(tenant.organization.id), "--status", "DELETED"
    )

    for result, mention in [
        (unknown, b"no organization"),
        (not_an_id, b"--org"),
        (bad_status, b"--status"),
    ]:
        assert result.returncode == 2, result.stderr
        assert mention in result.stderr
        assert b"Traceback" not in result.stderr
        assert result.stdout == b""
    assert files_in(tmp_path) == []
