"""Replies to leads on ingest: receipts list what was recorded and any warnings; rejections list each problem with
sheet, cell and fix, with the original attached back; each return gets one reply however often it is called."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from grants.kernel import models as m
from grants.messaging.channels import OutboxChannel
from grants.messaging.notify import Sender
from grants.messaging.replies import send_ingest_replies
from tests.factories import add_return, load_example
from tests.notify_support import attachment_names, read_eml

NOW = datetime(2025, 1, 14, 11, tzinfo=UTC)
PROBLEMS = [
    {"code": "not-a-number", "severity": "error", "sheet": "Spend", "cell": "D7", "field": "spend_actual",
     "message": "'about 300' is not an amount: type the pounds spent, e.g. 300 or 300.00"},
    {"code": "missing-sign-off", "severity": "error", "sheet": "Sign-off", "cell": "B4", "field": "signed_name",
     "message": "the return is not signed: type your name in B4"},
]
WARNING = [{"code": "variance-unexplained", "severity": "warning", "sheet": "Spend", "cell": "L9",
            "field": "explanation", "message": "spend is 25% below profile: add an explanation"}]


def _reply(engine: Engine, outbox: Path, ids: list[int]) -> dict[int, str]:
    with Session(engine) as session:
        return send_ingest_replies(session, ids, NOW, Sender([OutboxChannel(outbox)]), return_to="returns@example.org")


def test_receipt_lists_spend_outputs_milestones_and_warnings(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    with Session(engine) as session:
        ret = add_return(session, "active-bystander", "2024-25-Q3", received=date(2025, 1, 14),
                         spend={"delivery": 560000, "materials": 12345}, outputs={"people_trained": 120},
                         milestones={"training_package": date(2024, 10, 20)}, problems_json=json.dumps(WARNING))
        session.commit()
        assert ret.id is not None
        return_id = ret.id
    assert _reply(engine, tmp_path, [return_id]) == {return_id: "sent"}
    mail = read_eml(tmp_path / f"reply_{return_id}.eml")
    assert mail["To"] == "Jordan Ellis <active.bystander@example.org>" and mail["Cc"] is None
    assert mail["Subject"].startswith("Received: Active Bystander training") and "(version 1)" in mail["Subject"]
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    for expected in ("£5,600.00", "£123.45", "Total: £5,723.45", "People trained in Active Bystander: 120 people",
                     "delivered on Sunday 20 October 2024", "Spend!L9: spend is 25% below profile"):
        assert expected in text
    assert attachment_names(mail) == []


def test_receipt_counts_agree_with_their_nouns(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    with Session(engine) as session:
        ret = add_return(session, "active-bystander", "2024-25-Q3", received=date(2025, 1, 14),
                         outputs={"people_trained": 1, "trainers_trained": 2, "schools_engaged": 1})
        session.commit()
        assert ret.id is not None
        return_id = ret.id
    _reply(engine, tmp_path, [return_id])
    text = read_eml(tmp_path / f"reply_{return_id}.eml").get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "People trained in Active Bystander: 1 person" in text
    assert "Trainers trained through Train the Trainer: 2 people" in text
    assert "Schools engaged in the young people's programme: 1 school\n" in text


def test_rejection_lists_each_problem_and_attaches_the_original_under_the_name_the_lead_sent(
    engine: Engine, tmp_path: Path
) -> None:
    load_example(engine)
    original = tmp_path / "archive" / "3f" / "3f9a0c.xlsx"  # archived by content hash
    original.parent.mkdir(parents=True)
    original.write_bytes(b"PK\x03\x04 the lead's own file")
    with Session(engine) as session:
        ret = add_return(session, "active-bystander", "2024-25-Q3", received=date(2025, 1, 14),
                         status=m.ReturnStatus.rejected, problems_json=json.dumps(PROBLEMS))
        ret.archive_path = str(original)
        ret.source_name = "Q3 return FINAL (2).xlsx"
        session.add(ret)
        session.commit()
        return_id = ret.id
    assert return_id is not None
    _reply(engine, tmp_path / "outbox", [return_id])
    mail = read_eml(tmp_path / "outbox" / f"reply_{return_id}.eml")
    assert "community.safety.officer@example.org" in mail["Cc"]
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert 'Sheet "Spend", cell D7\n' in text and "type the pounds spent" in text  # no internal names
    assert 'Sheet "Sign-off", cell B4\n' in text and "Nothing from it has been recorded" in text
    assert "spend_actual" not in text and "it is due Wednesday 15 January 2025" in text
    assert attachment_names(mail) == ["Q3 return FINAL (2).xlsx"]
    assert next(mail.iter_attachments()).get_payload(decode=True) == original.read_bytes()


def test_each_return_gets_one_reply_however_often_replies_run(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    with Session(engine) as session:
        first = add_return(session, "purple-flag", "2024-25-Q3", received=date(2025, 1, 10),
                           status=m.ReturnStatus.rejected, problems_json=json.dumps(PROBLEMS))
        second = add_return(session, "purple-flag", "2024-25-Q3", received=date(2025, 1, 14))
        dup = add_return(session, "purple-flag", "2024-25-Q3", received=date(2025, 1, 14),
                         status=m.ReturnStatus.duplicate)
        session.commit()
        ids = [r.id for r in (first, second, dup) if r.id is not None]
    assert list(_reply(engine, tmp_path, ids).values()) == ["sent", "sent", "no reply"]
    assert list(_reply(engine, tmp_path, ids).values()) == ["skipped", "skipped", "no reply"]
    assert sorted(p.name for p in tmp_path.glob("*.eml")) == sorted(f"reply_{i}.eml" for i in ids[:2])


def test_rejection_lists_problems_in_sheet_order_under_the_leads_labels_and_says_when_now_overdue(
        engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    problems = [  # as validation might report them: out of order, with defined names
        {"code": "required-field-missing", "severity": "error", "sheet": "Narrative and sign-off", "cell": "B12",
         "field": "signoff_name", "message": "type your name"},
        {"code": "not-a-number", "severity": "error", "sheet": "Spend", "cell": "F10", "field": "spend__materials",
         "message": "not an amount"},
        {"code": "not-a-number", "severity": "error", "sheet": "Spend", "cell": "F9", "field": "spend__delivery",
         "message": "not an amount"},
        {"code": "not-a-whole-number", "severity": "error", "sheet": "Outputs", "cell": "E7",
         "field": "output__people_trained", "message": "not a whole number"},
    ]
    with Session(engine) as session:
        ret = add_return(session, "active-bystander", "2024-25-Q3", received=date(2025, 1, 20),
                         status=m.ReturnStatus.rejected, problems_json=json.dumps(problems))
        session.commit()
        return_id = ret.id
    assert return_id is not None
    _reply(engine, tmp_path, [return_id])
    body = read_eml(tmp_path / f"reply_{return_id}.eml").get_body(("plain",))
    assert body is not None
    text = body.get_content()
    cells = [line.split(", cell ")[1].split(":")[0] for line in text.splitlines() if ", cell " in line]
    assert cells == ["F9", "F10", "E7", "B12"]  # Spend, Outputs, then sign-off; row before column
    assert "spend__" not in text and "output__" not in text and "signoff_name" not in text
    assert "Spend this quarter on 'Training delivery" in text or "Spend this quarter on '" in text
    assert "it was due Wednesday 15 January 2025, so it is now overdue" in text


def test_a_receipt_for_a_second_version_says_which_version_it_replaced_so_a_wrong_quarter_shows(
        engine: Engine, tmp_path: Path) -> None:
    # A lead who sends last quarter's workbook again with this quarter's figures overwrites last quarter: the receipt
    # must say so plainly, not only "version 2".
    load_example(engine)
    with Session(engine) as session:
        first = add_return(session, "active-bystander", "2024-25-Q2", received=date(2024, 10, 7))
        second = add_return(session, "active-bystander", "2024-25-Q2", received=date(2025, 1, 14))
        session.commit()
        ids = [first.id, second.id]
    assert None not in ids
    _reply(engine, tmp_path, ids)  # type: ignore[arg-type]
    texts = [read_eml(tmp_path / f"reply_{i}.eml").get_body(("plain",)).get_content()  # type: ignore[union-attr]
             for i in ids]
    assert "replaces" not in texts[0]
    assert "It replaces version 1 of your 2024-25-Q2 return, received Monday 7 October 2024, which no\nlonger " \
        "counts. If you meant to send another quarter's return, send that quarter's workbook." in texts[1]
