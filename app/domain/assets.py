"""Assets as writers describe them, checked and cleaned, and the rules of change.

Ids: an asset's id is chosen by whoever creates it when it has a stable one
(an inventory's instance id, a CMDB configuration item), so a later sync finds
the same asset again; `POST /api/assets` without an id gets a server id
(`asset-<32 hex>`). Ids are global across environments.

Nothing here knows HTTP or the database.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    MISSING,
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictStr,
    model_validator,
)

from app.contract.payloads import Action, AssetData, Environment, RiskLevel
from app.normalize.text import clean

MAX_SYNC_ASSETS = 10_000

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
# RFC 1123: dot-separated labels of letters, digits and inner hyphens, 1-63 each, 253 in all.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_PATTERN = rf"^{_LABEL}(?:\.{_LABEL})*$"


def _plain_text(max_chars: int, name: str) -> AfterValidator:
    def check(value: str) -> str:
        cleaned = clean(value, 4 * max_chars)
        if cleaned is None:
            raise ValueError(f"{name} must keep some text once markup is removed")
        return cleaned

    return AfterValidator(check)


def _canonical_ip(value: str) -> str:
    if "%" in value:
        raise ValueError("ip_address must not carry a zone id")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value[:64]!r} is not an IPv4 or IPv6 address") from None


AssetId = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=128,
        pattern=_ID_PATTERN,
        description="Letters, digits and `._:-`, starting with a letter or digit; at most 128 characters.",
        examples=["i-0a1b2c3d4e5f67890"],
    ),
]
SourceName = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=64,
        pattern=_ID_PATTERN,
        description="The inventory that pushed the asset (`aws-inventory`, `cmdb`); null when made by hand.",
        examples=["aws-inventory"],
    ),
]
Hostname = Annotated[
    StrictStr,
    Field(min_length=1, max_length=253, pattern=HOSTNAME_PATTERN, description="An RFC 1123 host name."),
]
IpAddress = Annotated[
    StrictStr,
    Field(
        min_length=2,
        max_length=45,
        description="IPv4 or IPv6; stored in its canonical form (`2001:DB8:0::1` becomes `2001:db8::1`).",
        json_schema_extra={"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
    ),
    AfterValidator(_canonical_ip),
]
AssetType = Annotated[
    StrictStr,
    Field(min_length=1, max_length=128, description="What the asset is: `EC2`, `VM`, `database`, ..."),
    _plain_text(128, "asset_type"),
]
Owner = Annotated[StrictStr, Field(min_length=1, max_length=256), _plain_text(256, "owner")]

_EXAMPLE: dict[str, JsonValue] = {
    "hostname": "web-server-01",
    "asset_type": "EC2",
    "ip_address": "10.0.1.100",
    "risk_level": "medium",
    "owner": "platform@example.com",
    "environment": "production",
}


class _Described(BaseModel):
    """What an asset is, apart from its id, environment and source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hostname: Hostname
    asset_type: AssetType
    risk_level: RiskLevel
    ip_address: IpAddress | None = None
    owner: Owner | None = None


class AssetFields(_Described):
    """A whole asset as a writer states it (`PUT` replaces every field with these)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**_EXAMPLE, "source": "aws-inventory"}]})

    environment: Environment
    source: SourceName | None = None


class AssetCreate(AssetFields):
    """A new asset; `id` when the writer has a stable one, else the service assigns one."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "i-0a1b2c3d4e5f67890", **_EXAMPLE}, _EXAMPLE]})

    id: AssetId | None = None


class AssetPatch(BaseModel):
    """A JSON merge patch: fields present replace the stored ones; null clears
    `ip_address`, `owner` or `source`; absent fields stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"examples": [{"risk_level": "high", "owner": None}]},
    )

    hostname: Hostname | MISSING = MISSING
    asset_type: AssetType | MISSING = MISSING
    risk_level: RiskLevel | MISSING = MISSING
    environment: Environment | MISSING = MISSING
    ip_address: IpAddress | MISSING | None = MISSING
    owner: Owner | MISSING | None = MISSING
    source: SourceName | MISSING | None = MISSING

    def applied_to(self, current: AssetView) -> AssetFields:
        stated = self.model_dump(exclude_unset=True)
        stored = current.model_dump(include=set(AssetFields.model_fields))
        return AssetFields.model_validate({**stored, **stated})


class AssetSyncItem(_Described):
    """One asset of an inventory snapshot: its stable id is required."""

    id: AssetId
    environment: Environment | None = Field(default=None, description="If given, must be the sync's environment.")


class AssetSync(BaseModel):
    """An inventory's snapshot of one environment."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "environment": "production",
                    "source": "aws-inventory",
                    "delete_missing": True,
                    "assets": [
                        {"id": "i-0a1b2c3d4e5f67890", **{k: v for k, v in _EXAMPLE.items() if k != "environment"}},
                        {"id": "i-0f9e8d7c6b5a43210", "hostname": "db-01", "asset_type": "RDS", "risk_level": "high"},
                    ],
                }
            ]
        },
    )

    environment: Environment
    source: SourceName | None = Field(
        default=None,
        description="Marks every asset of the snapshot; with delete_missing, only this source's assets are deleted.",
    )
    delete_missing: StrictBool = Field(
        default=False,
        description="Delete the environment's assets (of this source, when one is named) missing from the snapshot.",
    )
    assets: list[AssetSyncItem] = Field(max_length=MAX_SYNC_ASSETS)

    @model_validator(mode="after")
    def _consistent(self) -> AssetSync:
        repeated = sorted(asset_id for asset_id, n in Counter(a.id for a in self.assets).items() if n > 1)
        if repeated:
            raise ValueError(f"asset ids must be unique in a snapshot; repeated: {', '.join(repeated[:5])}")
        elsewhere = [a.id for a in self.assets if a.environment not in (None, self.environment)]
        if elsewhere:
            raise ValueError(f"assets of another environment in a {self.environment} snapshot: {elsewhere[0]}")
        return self

    def fields_of(self, item: AssetSyncItem) -> AssetFields:
        # Every part is validated already; validating (and cleaning) again costs a
        # noticeable share of a 10,000-asset sync.
        described = item.model_dump(include=set(_Described.model_fields))
        return AssetFields.model_construct(**described, environment=self.environment, source=self.source)


class AssetView(AssetData):
    """An asset as the API returns it: the contract's payload and its source."""

    source: str | None = None

    def data(self) -> AssetData:
        """The contract payload, as subscribers receive it."""
        return AssetData.model_validate(self.model_dump(exclude={"source"}))


def new_asset_id() -> str:
    return f"asset-{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class AssetStep:
    """One message to send about an asset."""

    action: Action
    asset: AssetView


@dataclass(frozen=True, slots=True)
class AssetWrite:
    """What one write does to one asset: its stored state before and after, and the messages."""

    before: AssetView | None
    after: AssetView | None
    steps: tuple[AssetStep, ...]

    @property
    def kind(self) -> Literal["insert", "update", "delete", "none"]:
        if self.before == self.after:
            return "none"
        if self.before is None:
            return "insert"
        return "delete" if self.after is None else "update"


_CONTRACT_FIELDS = frozenset(AssetFields.model_fields) - {"source"}


def plan_upsert(asset_id: str, current: AssetView | None, fields: AssetFields, now: datetime) -> AssetWrite:
    """`fields` written over `current`: created, updated, unchanged, or moved.

    Only a change subscribers can see is a change: one to `source` alone is
    stored without a message and without touching `updated_at`. A move to
    another environment is announced as `deleted` there and `created` here,
    so that subscribers of the old environment drop it.
    """
    stated: dict[str, Any] = fields.model_dump()
    if current is None:
        created = AssetView(id=asset_id, created_at=now, updated_at=now, **stated)
        return AssetWrite(None, created, (AssetStep("created", created),))
    if all(getattr(current, name) == stated[name] for name in _CONTRACT_FIELDS):
        return AssetWrite(current, current.model_copy(update={"source": fields.source}), ())
    after = AssetView(id=asset_id, created_at=current.created_at, updated_at=now, **stated)
    if after.environment != current.environment:
        return AssetWrite(current, after, (AssetStep("deleted", current), AssetStep("created", after)))
    return AssetWrite(current, after, (AssetStep("updated", after),))


def plan_delete(current: AssetView) -> AssetWrite:
    return AssetWrite(current, None, (AssetStep("deleted", current),))


def summarize(writes: Iterable[AssetWrite]) -> dict[str, int]:
    """Assets per outcome, and the messages sent, as a sync answers them."""
    counts = {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0, "events": 0}
    for write in writes:
        counts["events"] += len(write.steps)
        if not write.steps:
            counts["unchanged"] += 1
        elif write.kind == "insert":
            counts["created"] += 1
        elif write.kind == "delete":
            counts["deleted"] += 1
        else:
            counts["updated"] += 1
    return counts
