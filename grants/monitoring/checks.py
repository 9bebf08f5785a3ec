"""All the checks of one run, computed together from one ledger (spend, outputs, returns, funds)."""

from __future__ import annotations

from dataclasses import dataclass

from grants.kernel import models as m
from grants.monitoring.compliance import ComplianceCheck, compliance_checks
from grants.monitoring.funds import FundsCheck, funds_checks
from grants.monitoring.ledger import Ledger
from grants.monitoring.outputs import MilestoneCheck, TargetCheck, output_checks
from grants.monitoring.spend import SpendCheck, spend_checks
from grants.programme.thresholds import MonitoringRules, rules_from_json


@dataclass(frozen=True)
class Checks:
    """The results of every check as of the ledger's date, keyed by project id (or grant id for funds)."""

    ledger: Ledger
    rules: dict[int, MonitoringRules]
    spend: dict[int, SpendCheck]
    targets: dict[int, list[TargetCheck]]
    milestones: dict[int, list[MilestoneCheck]]
    returns: dict[int, ComplianceCheck]
    grant_funds: dict[int, FundsCheck]
    project_funds: dict[int, FundsCheck]

    by_grant: dict[int, list[m.Project]]

    def projects_of(self, grant: m.Grant) -> list[m.Project]:
        return self.by_grant.get(grant.id or 0, [])


def run_all(ledger: Ledger) -> Checks:
    """Run every check over the ledger with each grant's own thresholds."""
    rules = {g.id: rules_from_json(g.rules_json) for g in ledger.grants if g.id is not None}
    outputs = output_checks(ledger, rules)
    grant_funds, project_funds = funds_checks(ledger, rules)
    by_grant: dict[int, list[m.Project]] = {}
    for project in ledger.projects:
        by_grant.setdefault(project.grant_id, []).append(project)
    return Checks(
        ledger=ledger, rules=rules, spend=spend_checks(ledger, rules),
        targets={pid: counts for pid, (counts, _) in outputs.items()},
        milestones={pid: milestones for pid, (_, milestones) in outputs.items()},
        returns=compliance_checks(ledger, rules), grant_funds=grant_funds, project_funds=project_funds,
        by_grant=by_grant,
    )
