"""The demo's script: what the officers and the eight project leads of the example programme do in 2024/25.

Leads behave as the monitoring issue's scenario and the seeds suggest: money reached projects two months late, so
Q1 spend is nil everywhere; then one project is on track (M.A.N Culture), one behind on its outputs (Active
Bystander, against the 500-trained condition), one spending far below profile (Purple Flag), one always late
(Impact Project), one overspending (community co-production), one whose return is rejected and then corrected
(speech and language). The figures are typed as people type them ("£1,750.00", " 300 ", numbers).

`submissions()` turns the script into workbook values by defined name, from the budget profiles and due dates read
from the database, so a change to the example config changes the figures the leads send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from grants.programme.periods import ENGLAND_AND_WALES
from grants.returns.layout import forecast_name, milestone_names, output_name, spend_name

GRANT = "SVD-2024-25"
QUARTERS = ("2024-25-Q1", "2024-25-Q2", "2024-25-Q3", "2024-25-Q4")
RELEASE = (date(2024, 7, 1), "125000")  # seeds: conditions confirmed 30 May; money in two months after 1 May
PAYMENTS_ON = date(2024, 7, 8)  # the council pays every project its allocation a week later

Profiles = Mapping[str, Mapping[str, Decimal]]  # budget line key -> period label -> profiled pounds


@dataclass(frozen=True)
class Lead:
    """How one lead behaves: when they send (working days from the due date), how they spend and forecast
    (factors of the profile), what they achieve each quarter, and how they type money."""

    code: str
    sends: Mapping[str, int]  # period -> working days after the due date (negative: before)
    spend: Mapping[str, float] = field(default_factory=dict)  # period -> factor of the profile (default 1)
    forecast: float = 1.0  # factor of the profile for the quarters still to come
    outputs: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # period -> target -> this quarter
    milestones: Mapping[str, Mapping[str, date]] = field(default_factory=dict)  # period -> milestone -> delivered
    typed: Callable[[Decimal], object] = float
    progress: Mapping[str, str] = field(default_factory=dict)
    rejected_first: str | None = None  # a period whose first file has mistakes (then corrected 2 working days on)


def pounds_text(amount: Decimal) -> str:
    """Money as some leads type it: '£1,750.00'."""
    return f"£{amount:,.2f}"


def padded_text(amount: Decimal) -> str:
    """Money as others paste it: a number stored as text with spaces."""
    return f" {amount:.2f} "


ON_TIME = {"2024-25-Q1": -2, "2024-25-Q2": -3, "2024-25-Q3": -1, "2024-25-Q4": -4}

LEADS: tuple[Lead, ...] = (
    Lead("purple-flag", ON_TIME, spend={"2024-25-Q2": 0.3, "2024-25-Q3": 0.3, "2024-25-Q4": 0.5}, forecast=0.4,
         outputs={"2024-25-Q2": {"nte_staff_trained": 20}, "2024-25-Q3": {"nte_staff_trained": 25},
                  "2024-25-Q4": {"nte_staff_trained": 30}},
         progress={"2024-25-Q2": "Recruitment of the welfare team is slow; training started in September."}),
    Lead("community-coproduction", ON_TIME, spend={"2024-25-Q3": 1.4, "2024-25-Q4": 1.4}, forecast=1.4,
         outputs={"2024-25-Q2": {"conversations_held": 5, "residents_engaged": 50},
                  "2024-25-Q3": {"conversations_held": 7, "residents_engaged": 80},
                  "2024-25-Q4": {"conversations_held": 8, "residents_engaged": 90}},
         typed=padded_text,
         progress={"2024-25-Q3": "Demand from community groups exceeded the small-grants budget."}),
    Lead("active-bystander", ON_TIME, typed=pounds_text,
         outputs={"2024-25-Q2": {"people_trained": 40, "schools_engaged": 1},
                  "2024-25-Q3": {"people_trained": 110, "trainers_trained": 6, "schools_engaged": 1},
                  "2024-25-Q4": {"people_trained": 200, "trainers_trained": 8}},
         milestones={"2024-25-Q3": {"training_package": date(2024, 11, 12)}},
         progress={"2024-25-Q2": "Training package co-produced with young people; first sessions in schools.",
                   "2024-25-Q3": "Fewer community sessions than planned: venues booked late after the funding delay."}),
    Lead("man-culture", ON_TIME,
         outputs={"2024-25-Q2": {"workshops": 3}, "2024-25-Q3": {"workshops": 4}, "2024-25-Q4": {"workshops": 5}},
         milestones={"2024-25-Q4": {"conference": date(2025, 3, 14), "sustainability_plan": date(2025, 3, 25)}}),
    Lead("impact-project", {"2024-25-Q1": 3, "2024-25-Q2": 6, "2024-25-Q3": 12, "2024-25-Q4": 4},
         spend={"2024-25-Q2": 0.9, "2024-25-Q3": 0.9, "2024-25-Q4": 1.0},
         outputs={"2024-25-Q2": {"children_supported": 8}, "2024-25-Q3": {"children_supported": 14},
                  "2024-25-Q4": {"children_supported": 16}}),
    Lead("speech-language", {"2024-25-Q1": -2, "2024-25-Q2": -4, "2024-25-Q3": -2, "2024-25-Q4": -3},
         outputs={"2024-25-Q2": {"young_people_supported": 15}, "2024-25-Q3": {"young_people_supported": 20},
                  "2024-25-Q4": {"young_people_supported": 25}},
         milestones={"2024-25-Q4": {"findings_report": date(2025, 3, 20)}}, rejected_first="2024-25-Q2"),
    Lead("csa-prevention", ON_TIME,
         outputs={"2024-25-Q2": {"practitioners_trained": 25}, "2024-25-Q3": {"practitioners_trained": 35},
                  "2024-25-Q4": {"practitioners_trained": 40}},
         milestones={"2024-25-Q2": {"campaign_launched": date(2024, 9, 16)}}),
    Lead("prevention-feasibility", ON_TIME, milestones={"2024-25-Q4": {"feasibility_report": date(2025, 3, 28)}}),
)


@dataclass(frozen=True)
class Submission:
    """One file a lead drops in the inbox: the day, the values typed into the workbook (by defined name), and what
    the demo expects of it."""

    code: str
    period: str
    day: date
    values: dict[str, object]
    spend_pounds: Decimal  # what this file reports as spent this quarter
    expect: str  # accepted | rejected
    note: str


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _values(lead: Lead, period: str, profiles: Profiles, signed_on: date) -> tuple[dict[str, object], Decimal]:
    factor = Decimal(str(lead.spend.get(period, 1.0))) if period != QUARTERS[0] else Decimal(0)
    later = QUARTERS[QUARTERS.index(period) + 1:]
    values: dict[str, object] = {}
    spent = Decimal(0)
    for line, profile in profiles.items():
        amount = _round(profile.get(period, Decimal(0)) * factor)
        spent += amount
        values[spend_name(line)] = lead.typed(amount) if amount else ("" if lead.typed is float else 0)
        for label in later:
            values[forecast_name(line, label)] = float(_round(profile.get(label, Decimal(0)) * Decimal(str(
                lead.forecast))))
    for key, count in lead.outputs.get(period, {}).items():
        values[output_name(key)] = count
    for key, delivered in lead.milestones.get(period, {}).items():
        yes, on, evidence = milestone_names(key)
        values |= {yes: "Yes", on: delivered, evidence: "Shared drive: Delivery/Evidence"}
    values |= {"narrative_progress": lead.progress.get(period, "Delivery as planned this quarter."),
               "signoff_name": "Project lead", "signoff_role": "Project lead", "signoff_date": signed_on}
    return values, spent


def submissions(profiles: Mapping[str, Profiles], due: Mapping[str, date]) -> list[Submission]:
    """Every file the leads send in the year, in the order they arrive (profiles by project code, due by period)."""
    out: list[Submission] = []
    for lead in LEADS:
        for period in QUARTERS:
            offset = lead.sends[period]
            day = ENGLAND_AND_WALES.add_working_days(due[period], offset)
            timing = "on time" if offset <= 0 else f"{offset} working days late"
            values, spent = _values(lead, period, profiles[lead.code], day)
            if lead.rejected_first == period:
                first_line = next(iter(profiles[lead.code]))
                wrong = {**values, spend_name(first_line): "about 2500", "signoff_name": None}
                out.append(Submission(lead.code, period, day, wrong, Decimal(0), "rejected",
                                      "spend typed as 'about 2500' and no sign-off"))
                day = ENGLAND_AND_WALES.add_working_days(day, 2)
                values["signoff_date"] = day
                timing = "corrected after the rejection"
            out.append(Submission(lead.code, period, day, values, spent, "accepted", timing))
    return sorted(out, key=lambda s: (s.day, s.code))
