"""360Giving export of the example programme: required fields, awards = allocations, disbursed = payments."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.kernel.errors import GrantsError
from grants.kernel.settings import Settings
from grants.reporting.giving360 import REQUIRED, build_package, missing_fields, to_csv
from tests.cli_support import grants as cli_grants
from tests.factories import load_example, project

MODIFIED = datetime(2025, 4, 30, 12, 0, tzinfo=UTC)


def _pay(engine: Engine, code: str, pence: int, day: date) -> None:
    with session_scope(engine) as session:
        session.add(m.Payment(project_id=project(session, code).id, amount_pence=pence, paid_on=day,
                              recorded_at=MODIFIED))


def test_every_grant_has_the_required_fields_and_awards_add_up_to_the_allocations(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        package = build_package(session, "SVD-2024-25", date(2025, 3, 31), MODIFIED)
    grants = package["grants"]
    assert len(grants) == 8
    for record in grants:
        assert missing_fields(record) == []
        assert all(record[f] not in (None, "", []) for f in REQUIRED)
        assert record["currency"] == "GBP"
        assert record["fundingOrganization"] == [{"id": "GB-LAE-PLY", "name": "Plymouth City Council (Safer Plymouth)"}]
        assert record["id"].startswith("360G-example-plymouth-SVD-2024-25-")
        assert record["awardDate"] == "2024-06-03"
    assert sum(Decimal(str(g["amountAwarded"])) for g in grants) == Decimal("125000")
    assert len({g["id"] for g in grants}) == 8


def test_amount_disbursed_is_the_payments_recorded_up_to_the_date(engine: Engine) -> None:
    load_example(engine)
    _pay(engine, "active-bystander", 1_500_000, date(2024, 7, 15))
    _pay(engine, "active-bystander", 750_050, date(2024, 10, 1))
    _pay(engine, "man-culture", 500_000, date(2025, 4, 2))  # after the date asked about
    with session_scope(engine) as session:
        package = build_package(session, "SVD-2024-25", date(2025, 3, 31), MODIFIED)
    by_id = {g["id"].rsplit("SVD-2024-25-", 1)[1]: g for g in package["grants"]}
    assert by_id["active-bystander"]["amountDisbursed"] == 22500.5
    assert [t["value"] for t in by_id["active-bystander"]["disbursementTransaction"]] == [15000, 7500.5]
    assert by_id["man-culture"]["amountDisbursed"] == 0
    assert sum(g["amountDisbursed"] for g in package["grants"]) == 22500.5


def test_a_project_missing_a_required_field_is_a_clear_error_naming_it(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        row = session.exec(select(m.Project).where(m.Project.code == "impact-project")).one()
        row.description = ""
        session.add(row)
    with session_scope(engine) as session, pytest.raises(GrantsError) as error:
        build_package(session, "SVD-2024-25", date(2025, 3, 31), MODIFIED)
    assert "project 'impact-project': description: required by the 360Giving standard but empty" in str(error.value)


def test_flat_csv_has_the_standard_column_titles_and_one_row_per_grant(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        package = build_package(session, "SVD-2024-25", date(2025, 3, 31), MODIFIED)
    rows = list(csv.DictReader(io.StringIO(to_csv(package))))
    assert len(rows) == 8
    assert rows[2]["Title"] == "Active Bystander training (Hate, Race, Domestic Abuse)"
    assert rows[2]["Amount Awarded"] == "30000"
    assert rows[2]["Recipient Org:Name"] == "Commissioned training provider"
    assert rows[2]["Funding Org:Identifier"] == "GB-LAE-PLY"
    assert rows[2]["Planned Dates:Start Date"] == "2024-04-01"


def test_export_command_writes_json_and_csv(settings: Settings) -> None:
    assert cli_grants("init").returncode == 0
    out = settings.data_dir / "open" / "svd.json"
    result = cli_grants("export", "360giving", "--out", str(out), "--as-of", "2025-03-31")
    assert result.returncode == 0, result.stderr
    assert "8 grants, £125,000.00 awarded, £0.00 disbursed by 2025-03-31" in result.stdout
    assert len(json.loads(out.read_text())["grants"]) == 8
    assert out.with_suffix(".csv").read_text().startswith("Identifier,Title,Description,Currency")


def test_one_organisation_leading_two_projects_is_one_recipient_and_an_org_id_given_is_kept(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        for code, organisation in (("purple-flag", "Northshire BID"), ("csa-prevention", "Northshire BID"),
                                   ("impact-project", "Zoë's Café & Co.")):
            row = project(session, code)
            row.lead_organisation = organisation
            session.add(row)
        project(session, "man-culture").recipient_org_id = "GB-CHC-1234567"
    with session_scope(engine) as session:
        package = build_package(session, "SVD-2024-25", date(2025, 3, 31), MODIFIED)
    by_project = {g["id"].rsplit("SVD-2024-25-", 1)[1]: g["recipientOrganization"][0]["id"] for g in package["grants"]}
    assert by_project["purple-flag"] == by_project["csa-prevention"] == "360G-example-plymouth-ORG-northshire-bid"
    assert by_project["impact-project"] == "360G-example-plymouth-ORG-zoe-s-cafe-co"
    assert by_project["man-culture"] == "GB-CHC-1234567"
    assert len(set(by_project.values())) == 7  # eight projects, seven organisations
