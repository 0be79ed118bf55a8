"""The affiliation map's typed model: every key of `config/affiliations.yml` with its default.

These keys are the public interface a TSC edits; the JSON Schema editors use is generated from
these classes (`coi-bot schema`), so the descriptions here are what people see as they type.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StrictInt,
    WithJsonSchema,
)

# Mail providers anyone can sign up with: their addresses say nothing about an employer.
FREE_MAIL_DOMAINS = frozenset(
    {
        "163.com",
        "126.com",
        "aol.com",
        "fastmail.com",
        "foxmail.com",
        "gmail.com",
        "googlemail.com",
        "hey.com",
        "hotmail.com",
        "icloud.com",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "sina.com",
        "tutanota.com",
        "yahoo.com",
        "yandex.com",
        "yandex.ru",
        "web.de",
        "ymail.com",
        "zoho.com",
    }
)
# Providers with a domain per country (gmx.de, yahoo.co.uk, hotmail.fr): matched by their name.
FREE_MAIL_PROVIDERS = frozenset({"gmx", "hotmail", "live", "outlook", "yahoo", "yandex"})
# GitHub's no-reply addresses (`123+login@users.noreply.github.com`) hide the employer on purpose.
NOREPLY_DOMAIN = "users.noreply.github.com"

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_PATTERN = rf"^{_LABEL}(?:\.{_LABEL})+$"
_DOMAIN = re.compile(DOMAIN_PATTERN)
# A GitHub login as accounts hold them: ASCII letters, digits and hyphens, at most 39 characters,
# no leading hyphen (older accounts may hold double or trailing ones).
LOGIN_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
# GitHub logins: letters, digits and single hyphens, at most 39 characters.
ORG_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$"
_ORG = re.compile(ORG_PATTERN)


def is_free_mail(domain: str) -> bool:
    """True for free-mail and no-reply domains: evidence of no employer."""
    labels = domain.lower().rstrip(".").split(".")
    suffixes = {".".join(labels[i:]) for i in range(len(labels))}
    if suffixes & FREE_MAIL_DOMAINS or NOREPLY_DOMAIN in suffixes:
        return True
    # gmx.de, yahoo.co.uk: a provider's name over a country suffix of at most two parts.
    country = labels[1:]
    return labels[0] in FREE_MAIL_PROVIDERS and 1 <= len(country) <= 2 and len(country[-1]) <= 3


def _domain(value: str) -> str:
    text = value
    if "@" in text:
        host = text.rsplit("@", 1)[1]
        raise ValueError(f"{value!r} is an email address: write its domain {host!r}")
    if any(c.isspace() for c in text):
        raise ValueError(f"{value!r} is not a domain: a domain has no spaces")
    lowered = text.lower()
    if not _DOMAIN.fullmatch(lowered):
        raise ValueError(f"{value!r} is not a domain name such as 'acme.com'")
    if is_free_mail(lowered):
        raise ValueError(f"{value!r} is a free-mail or no-reply domain: it names no employer")
    return lowered


def is_company_domain(text: str) -> bool:
    """True when `text` may stand in `companies.<id>.domains` as it is written."""
    try:
        return _domain(text) == text
    except ValueError:
        return False


def _org(value: str) -> str:
    if value.startswith("@"):
        raise ValueError(f"{value!r}: write the organization's login without '@'")
    if not _ORG.fullmatch(value):
        raise ValueError(f"{value!r} is not a GitHub organization login (letters, digits, '-')")
    return value


Domain = Annotated[
    str,
    AfterValidator(_domain),
    WithJsonSchema({"type": "string", "pattern": DOMAIN_PATTERN.replace("a-z", "A-Za-z")}),
]
OrgLogin = Annotated[
    str, AfterValidator(_org), WithJsonSchema({"type": "string", "pattern": ORG_PATTERN})
]

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
    domains: list[Domain] = Field(
        default_factory=list,
        description="Email domains of the company (`acme.com` covers `eng.acme.com` too).",
    )
    github_orgs: list[OrgLogin] = Field(
        default_factory=list,
        description="Logins of GitHub organizations whose membership means employment.",
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
    # Strict: `id: true` or `id: "12"` is a slip, never an account.
    id: StrictInt | None = Field(
        default=None,
        gt=0,
        description="GitHub's numeric user id of the person's login (the key): the account,"
        " recognised across renames; a login GitHub shows with another id is not this person.",
    )
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
    votes: NonNegativeInt | None = Field(
        default=None,
        description="Weight of a member's vote in TSC votes; 1 for TSC roles, 0 otherwise.",
    )

    @property
    def vote_weight(self) -> int:
        if self.votes is not None:
            return self.votes
        return 1 if self.tsc else 0


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


DURATION_PATTERN = r"^[1-9][0-9]{0,5}[dhms]$"
_DURATION = re.compile(DURATION_PATTERN)
_DURATION_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
# A vote longer than a year is a mistake (`365d` fits; `7000d` is not a week).
MAX_VOTE_DURATION = timedelta(days=366)
SHARE_PATTERN = r"^[0-9]{1,6}/[1-9][0-9]{0,5}$"
_SHARE = re.compile(SHARE_PATTERN)


def parse_duration(text: str) -> timedelta:
    """`7d`, `36h`, `90m`, `30s` as a timedelta; ValueError for anything else."""
    if not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration such as 7d, 36h, 90m or 30s")
    duration = timedelta(**{_DURATION_UNITS[text[-1]]: int(text[:-1])})
    if duration > MAX_VOTE_DURATION:
        raise ValueError(f"{text!r} is longer than {MAX_VOTE_DURATION.days} days")
    return duration


def parse_share(value: float | str) -> Fraction:
    """A share of a whole, exactly: `0.5`, `"1/2"`, `0`, `1`; ValueError outside [0, 1]."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a share such as 0.5 or '1/2'")
    if isinstance(value, str):
        if not _SHARE.fullmatch(value.replace(" ", "")):
            raise ValueError(f"{value!r} is not a share such as 0.5 or '1/2'")
        share = Fraction(value.replace(" ", ""))
    else:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a share such as 0.5 or '1/2'")
        # Through the decimal text: 0.67 is 67/100, not the binary float's nearest fraction.
        share = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    if not 0 <= share <= 1:
        raise ValueError(f"{value!r} is not between 0 and 1")
    return share


def parse_threshold(value: str) -> tuple[Fraction, bool]:
    """`majority` is (1/2, strict: more than half); `"p/q"` is (p/q, at least)."""
    if value == "majority":
        return Fraction(1, 2), True
    if not _SHARE.fullmatch(value.replace(" ", "")):
        raise ValueError(f"{value!r} is not a threshold: write majority or a fraction like '2/3'")
    share = Fraction(value.replace(" ", ""))
    if not 0 < share <= 1:
        raise ValueError(f"{value!r} is not a threshold: a fraction above 0 and at most 1")
    return share, False


def _duration(value: str) -> str:
    parse_duration(value)
    return value


def _share(value: float | str) -> float | str:
    parse_share(value)
    return value


def _threshold(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a threshold: write majority or a fraction like '2/3'")
    parse_threshold(value)
    return value


def _share_input(value: object) -> float | str:
    # Before pydantic's coercion, which would read `true` as 1.0.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} is not a share such as 0.5 or '1/2'")
    return _share(value)


Duration = Annotated[
    str,
    AfterValidator(_duration),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN}),
]
Share = Annotated[
    int | float | str,
    BeforeValidator(_share_input),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": SHARE_PATTERN},
            ]
        }
    ),
]
Threshold = Annotated[
    str,
    BeforeValidator(_threshold),
    WithJsonSchema(
        {"anyOf": [{"const": "majority"}, {"type": "string", "pattern": SHARE_PATTERN}]}
    ),
]
VoteBase = Literal["cast", "eligible"]


class VoteRule(_Strict):
    """Rules for the votes on changes to some paths; the first rule that matches wins."""

    paths: list[str] = Field(
        min_length=1, description="Glob patterns (`**` crosses directories) of the changed files."
    )
    threshold: Threshold | None = Field(default=None, description="Overrides votes.threshold.")
    of: VoteBase | None = Field(default=None, description="Overrides votes.of.")
    quorum: Share | None = Field(default=None, description="Overrides votes.quorum.")
    duration: Duration | None = Field(default=None, description="Overrides votes.duration.")


class Votes(_Strict):
    """TSC votes held on pull requests and issues that carry `label`."""

    label: str = Field(default="TSC:voting", min_length=1, description="The label that opens one.")
    check_name: str = Field(
        default="TSC vote", min_length=1, description="The check run that shows the tally."
    )
    duration: Duration = Field(default="7d", description="How long a vote runs: 7d, 36h, 90m, 30s.")
    threshold: Threshold = Field(
        default="majority",
        description="majority (more than half) or a fraction 'p/q' (at least) of the base `of`.",
    )
    of: VoteBase = Field(
        default="cast",
        description="cast: of the yes and no weight counted; eligible: of all counted weight that"
        " may vote.",
    )
    quorum: Share = Field(
        default=0, description="Share of the eligible weight that must vote (yes, no or abstain)."
    )
    company_cap: PositiveInt | None = Field(
        default=None, description="At most this much counted weight per company (and its parent)."
    )
    conflicted: Literal["abstain", "count"] = Field(
        default="abstain",
        description="abstain: a conflicted voter's vote is recorded as an abstention.",
    )
    rules: list[VoteRule] = Field(
        default_factory=list, description="Per-path rules; the first that matches wins."
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
        default="ignore",
        description="ignore: an approval of an older head commit does not count toward"
        " independence (its reviewer is asked again); count: it does, whatever was pushed since.",
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
    evidence: Literal["ignore", "warn", "block"] = Field(
        default="warn",
        description="What GitHub shows against the map (commit emails, profiles, organizations):"
        " ignore it, warn with the edit that fixes the map, or block: let it decide independence.",
    )
    votes: Votes = Field(default_factory=Votes)
    unreviewed_map: Literal["hold", "accept"] = Field(
        default="hold",
        description="A map change that landed without review: hold (PRs keep the last reviewed"
        " version until a reviewed change lands) or accept (in force at once). Either way its"
        " commit gets a failing check.",
    )


class MapDocument(_Strict):
    """The whole `affiliations.yml`."""

    version: Literal[1] = Field(description="Format version of this file.")
    companies: dict[str, Company] = Field(default_factory=dict)
    people: dict[str, Person] = Field(default_factory=dict, description="GitHub login -> person.")
    bots: list[str] = Field(default_factory=list, description="Logins whose reviews never count.")
    policy: Policy = Field(default_factory=Policy)
