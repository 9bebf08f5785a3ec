"""The one layout spec of the quarterly return workbook, used by both the writer and the reader.

Sheets, the input fields (each an Excel defined name), their types and allowed values, the hidden metadata sheet and
its HMAC signature. Cell positions are the writer's business: the reader finds every input by its defined name, so
rows a lead inserts or moves don't break ingestion.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

TEMPLATE_ID = "grants-quarterly-return"
TEMPLATE_VERSION = "1"

INSTRUCTIONS = "Instructions"
PROJECT = "Project"
SPEND = "Spend"
OUTPUTS = "Outputs"
SIGN_OFF = "Narrative and sign-off"
META = "_meta"
SHEETS = (INSTRUCTIONS, PROJECT, SPEND, OUTPUTS, SIGN_OFF, META)
CHECKED_SHEETS = (SPEND, OUTPUTS)  # sheets whose tables, worked-out cells and totals are checked, not only inputs

# The metadata sheet: one key per row in column A, its value in column B, in this order.
META_KEYS = ("template_id", "template_version", "grant", "project", "period", "fields", "signature")

YES, NO = "Yes", "No"
YES_WORDS = frozenset({"yes", "y", "true", "delivered", "done", "complete", "completed"})
NO_WORDS = frozenset({"no", "n", "false", "not yet", "", "n/a", "na"})
BLANK_WORDS = frozenset({"", "-", "n/a", "na", "nil", "none"})


class FieldKind(StrEnum):
    """How an input cell is read and checked."""

    money = "money"
    whole = "whole"
    yes_no = "yes_no"
    date = "date"
    text = "text"


@dataclass(frozen=True)
class InputField:
    """One input cell: its defined name, sheet, type, the label a lead sees, and how a blank is read."""

    name: str
    sheet: str
    kind: FieldKind
    label: str
    required: bool = False
    blank_is_zero: bool = False
    subject: str = ""  # budget line key or target key
    period_label: str = ""  # for forecasts: the later period


@dataclass(frozen=True)
class Subject:
    """A budget line or target as the layout needs it: key and name."""

    key: str
    name: str


def period_suffix(label: str) -> str:
    """'2024-25-Q3' -> '2024_25_Q3' (defined names allow letters, digits, underscores and dots)."""
    return label.replace("-", "_")


def spend_name(line_key: str) -> str:
    return f"spend__{line_key}"


def forecast_name(line_key: str, period_label: str) -> str:
    return f"forecast__{line_key}__{period_suffix(period_label)}"


def output_name(target_key: str) -> str:
    return f"output__{target_key}"


def milestone_names(target_key: str) -> tuple[str, str, str]:
    """(delivered?, date delivered, evidence) names of a milestone."""
    return f"ms_delivered__{target_key}", f"ms_date__{target_key}", f"ms_evidence__{target_key}"


NARRATIVE = (("narrative_progress", "Progress this quarter", True), ("narrative_issues", "Issues", False),
             ("narrative_risks", "Risks", False))


class SignoffNames:
    """The defined names of the narrative and sign-off inputs."""

    TEXT = ("narrative_progress", "narrative_issues", "narrative_risks", "signoff_name", "signoff_role")
    DATE = "signoff_date"


SIGNATURE_FIELDS = (("signoff_name", "Name", FieldKind.text), ("signoff_role", "Role", FieldKind.text),
                    ("signoff_date", "Date", FieldKind.date))


def input_fields(
    lines: Sequence[Subject], counts: Sequence[Subject], milestones: Sequence[Subject], later_periods: Sequence[str]
) -> list[InputField]:
    """Every input of one project's return, in the order the writer lays them out."""
    fields = [InputField(spend_name(b.key), SPEND, FieldKind.money, f"Spend this quarter on '{b.name}'",
                         blank_is_zero=True, subject=b.key) for b in lines]
    fields += [
        InputField(forecast_name(b.key, label), SPEND, FieldKind.money, f"Forecast for {label} on '{b.name}'",
                   blank_is_zero=True, subject=b.key, period_label=label)
        for b in lines for label in later_periods
    ]
    fields += [InputField(output_name(t.key), OUTPUTS, FieldKind.whole, f"'{t.name}' achieved this quarter",
                          blank_is_zero=True, subject=t.key) for t in counts]
    for t in milestones:
        delivered, on, evidence = milestone_names(t.key)
        fields += [
            InputField(delivered, OUTPUTS, FieldKind.yes_no, f"'{t.name}' delivered?", subject=t.key),
            InputField(on, OUTPUTS, FieldKind.date, f"Date '{t.name}' was delivered", subject=t.key),
            InputField(evidence, OUTPUTS, FieldKind.text, f"Evidence for '{t.name}'", subject=t.key),
        ]
    fields += [InputField(name, SIGN_OFF, FieldKind.text, label, required=req) for name, label, req in NARRATIVE]
    fields += [InputField(name, SIGN_OFF, kind, f"Sign-off: {label}", required=True)
               for name, label, kind in SIGNATURE_FIELDS]
    return fields


def fields_fingerprint(names: Sequence[str]) -> str:
    """A short digest of the set of input names: binds the signature to this project's lines and targets."""
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:32]


def sign(key: bytes, template_id: str, version: str, grant: str, project: str, period: str, fields: str) -> str:
    """HMAC-SHA256 (hex) over the workbook's identity: template, grant, project, period and its input names."""
    message = "\n".join((template_id, version, grant, project, period, fields)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_valid(key: bytes, meta: dict[str, str]) -> bool:
    """True if the metadata's signature matches its other values under `key` (constant-time compare)."""
    expected = sign(key, *(meta.get(k, "") for k in META_KEYS[:-1]))
    # Bytes, not str: compare_digest refuses str holding non-ASCII characters (a TypeError stopped every run).
    return hmac.compare_digest(expected.encode(), meta.get("signature", "").encode("utf-8", "replace"))
