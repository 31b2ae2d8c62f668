"""Which squad an issue belongs to: custom field, component, label prefix, project map, project key."""

from __future__ import annotations

from typing import Any

import pytest

from app.adapters.jira.mapping import SquadRule
from app.adapters.jira.squads import squad_of
from app.errors import InvalidPayload

FIELDS: dict[str, Any] = {
    "customfield_10060": [{"value": "Checkout", "id": "10130"}, {"value": "edge", "id": "10132"}],
    "components": [{"id": "10040", "name": "Checkout API"}, {"id": "10047", "name": "edge-proxy"}],
    "labels": ["env-prod", "squad-payments"],
}
EVERY_RULE = SquadRule(
    custom_field="customfield_10060", from_component=True, label_prefix="squad-", projects={"OPS": "platform"}
)


def test_with_no_rule_the_squad_is_the_project_key_in_lower_case() -> None:
    assert squad_of(FIELDS, "OPS", SquadRule()) == "ops"


@pytest.mark.parametrize(
    ("rule", "squad"),
    [
        (EVERY_RULE, "checkout"),
        (SquadRule(from_component=True, label_prefix="squad-", projects={"OPS": "platform"}), "checkout-api"),
        (SquadRule(label_prefix="squad-", projects={"OPS": "platform"}), "payments"),
        (SquadRule(projects={"OPS": "platform"}), "platform"),
        (SquadRule(projects={"PLAT": "core"}), "ops"),
    ],
)
def test_rules_apply_in_order_of_precedence_where_set(rule: SquadRule, squad: str) -> None:
    assert squad_of(FIELDS, "OPS", rule) == squad


def test_a_rule_that_finds_nothing_gives_way_to_the_next() -> None:
    bare = {"customfield_10060": None, "components": [], "labels": ["env-prod"]}
    assert squad_of(bare, "OPS", EVERY_RULE) == "platform"


@pytest.mark.parametrize(
    ("value", "squad"),
    [
        ({"value": "Core Data", "id": "1"}, "core-data"),  # select
        ([{"value": "Search"}], "search"),  # multi-select: the first
        ({"value": "EU Central", "child": {"value": "fra-dc2"}}, "eu-central"),  # cascading: the parent
        ({"id": "4f0a", "name": "Payments Squad", "title": "Payments Squad"}, "payments-squad"),  # Cloud team
        ({"id": "4f0a", "title": "Growth"}, "growth"),
        ("  SRE   Team ", "sre-team"),  # text
        (42, "42"),
    ],
)
def test_the_custom_field_reads_select_multi_select_cascading_team_or_text(value: Any, squad: str) -> None:
    assert squad_of({"customfield_1": value}, "OPS", SquadRule(custom_field="customfield_1")) == squad


def test_a_label_equal_to_the_prefix_names_no_squad() -> None:
    assert squad_of({"labels": ["squad-", "Squad-Search"]}, "OPS", SquadRule(label_prefix="squad-")) == "search"


def test_a_custom_field_of_an_unreadable_shape_is_refused_by_name() -> None:
    with pytest.raises(InvalidPayload, match="customfield_1"):
        squad_of({"customfield_1": [[1]]}, "OPS", SquadRule(custom_field="customfield_1"))
