"""The affiliation map's typed model: every key of `config/affiliations.yml` with its default.

These keys are the public interface a TSC edits; the JSON Schema editors use is generated from
these classes (`coi-bot schema`), so the descriptions here are what people see as they type.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt

DEFAULT_CHECK_NAME = "COI review"


class _Strict(BaseModel):
    # Unknown keys are errors (with a "did you mean"), never silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Company(_Strict):
    name: str = Field(min_length=1, description="Display name of the company.")
    aliases: list[str] = Field(
        default_factory=list,
        description="Other spellings found in OWNERS.md, gitdm or GitHub profiles.",
    )
    parent: str | None = Field(
        default=None, description="Id of the parent company: one group is one side of a conflict."
    )
    independent: bool = Field(
        default=False, description="Members never conflict with each other by company."
    )


class DateRange(_Strict):
    """A window of days: `from` is inclusive, `until` is exclusive (as in cncf/gitdm)."""

    from_: date | None = Field(default=None, alias="from", description="First day (inclusive).")
    until: date | None = Field(default=None, description="First day no longer in force.")

    def covers(self, day: date) -> bool:
        starts_by = self.from_ is None or self.from_ <= day
        return starts_by and (self.until is None or day < self.until)


class Affiliation(DateRange):
    company: str = Field(description="Company id (a key of `companies`).")


class Conflict(DateRange):
    company: str = Field(description="Company id this person declares a standing conflict with.")
    reason: str | None = Field(default=None, description="Why, for the check run's summary.")


class Away(DateRange):
    """A window in which the person is never requested as a reviewer."""


class Person(_Strict):
    name: str | None = Field(default=None, description="Full name.")
    logins: list[str] = Field(
        default_factory=list, description="Other GitHub accounts of the same person."
    )
    emails: list[str] = Field(
        default_factory=list,
        description="Emails that identify commit authors and Co-authored-by trailers.",
    )
    role: str | None = Field(default=None, description="One of `policy.roles`' keys.")
    affiliations: list[Affiliation] = Field(
        default_factory=list, description="Dated affiliations; ranges must not overlap."
    )
    conflicts: list[Conflict] = Field(default_factory=list, description="Standing conflicts.")
    away: list[Away] = Field(default_factory=list, description="Windows of absence.")


class Role(_Strict):
    tsc: bool = Field(default=False, description="Members of this role sit on the TSC.")


def _default_roles() -> dict[str, Role]:
    return {
        "leader": Role(tsc=True),
        "senior-maintainer": Role(tsc=True),
        "maintainer": Role(tsc=True),
        "contributor": Role(tsc=False),
    }


class MajorRules(_Strict):
    """A pull request is major when ANY rule matches."""

    paths: list[str] = Field(
        default_factory=list, description="Glob patterns (`**` crosses directories)."
    )
    changed_lines: PositiveInt | None = Field(
        default=500, description="Additions + deletions at or above which a change is major."
    )
    changed_files: PositiveInt | None = Field(
        default=30, description="Changed files at or above which a change is major."
    )
    labels: list[str] = Field(
        default_factory=lambda: ["major"], description="Labels that mark a change major."
    )


class Policy(_Strict):
    roles: dict[str, Role] = Field(default_factory=_default_roles)
    major: MajorRules = Field(default_factory=MajorRules)
    minor_labels: list[str] = Field(
        default_factory=list, description="Labels set by the TSC: never major."
    )
    require: Literal["when_conflicted", "always"] = Field(
        default="when_conflicted",
        description="when_conflicted: independent approval only after a same-company approval.",
    )
    independent_approvals: NonNegativeInt = Field(
        default=1, description="Approvals needed from TSC members outside the authors' companies."
    )
    request_reviewers: NonNegativeInt = Field(
        default=1, description="Third-party reviewers requested when one is needed."
    )
    unknown_people: Literal["conflicted", "independent"] = Field(
        default="conflicted", description="How approvals by people missing from the map count."
    )
    stale_approvals: Literal["count", "ignore"] = Field(
        default="count", description="Whether approvals of an older head commit count."
    )
    protected_files: list[str] = Field(
        default_factory=lambda: [".github/affiliations.yml"],
        description="Files whose change needs approvals from several companies.",
    )
    protected_companies: PositiveInt = Field(
        default=2,
        description="Distinct companies whose TSC members must approve a protected change.",
    )
    enforcement: Literal["required", "advisory"] = Field(
        default="required", description="required => action_required; advisory => neutral."
    )
    check_name: str = Field(default=DEFAULT_CHECK_NAME, min_length=1)
    command_prefix: str = Field(default="/coi", min_length=1)


class MapDocument(_Strict):
    """The whole `affiliations.yml`."""

    version: Literal[1] = Field(description="Format version of this file.")
    companies: dict[str, Company] = Field(default_factory=dict)
    people: dict[str, Person] = Field(default_factory=dict, description="GitHub login -> person.")
    bots: list[str] = Field(default_factory=list, description="Logins whose reviews never count.")
    policy: Policy = Field(default_factory=Policy)
