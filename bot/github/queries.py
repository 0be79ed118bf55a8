"""The GraphQL documents the bot sends. Tests validate each against GitHub's published schema.

One evaluation = one SNAPSHOT query; the page queries run only when a connection holds more than
its first page (100 items, GitHub's per-connection maximum; 50 for commits and reviews, whose
nodes read profiles: each connection under them costs a request per node). What each document
costs by GitHub's formula (bot/github/query_cost.py) is pinned in tests/github/test_query_cost.py.
"""

from __future__ import annotations

from collections.abc import Sequence

_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
# Users' numeric ids: people are accounts, and a login may change hands (`Actor` has none).
_USER_ID = "... on User { databaseId }"
_ACTOR = f"author {{ __typename login {_USER_ID} }}"
# A person's profile as evidence against the map (issue 14), read for the people a verdict
# depends on (opener, commit authors, reviewers); only a User has these fields.
_PROFILE_FIELDS = "databaseId company organizations(first: 10) { nodes { login } }"
_PERSON = f"author {{ __typename login ... on User {{ {_PROFILE_FIELDS} }} }}"

FILES = f"totalCount {_PAGE_INFO} nodes {{ path additions deletions changeType }}"
COMMITS = (
    f"totalCount {_PAGE_INFO} nodes {{ commit {{ oid message "
    f"author {{ email user {{ login {_PROFILE_FIELDS} }} }} "
    "committer { email user { login databaseId } } } }"
)
REVIEWS = (
    f"{_PAGE_INFO} nodes {{ id databaseId {_PERSON} state submittedAt commit {{ oid }} "
    "authorCanPushToRepository }"
)
COMMENTS = (
    f"{_PAGE_INFO} nodes {{ id databaseId url {_ACTOR} body createdAt updatedAt viewerDidAuthor "
    f"editor {{ __typename login {_USER_ID} }} lastEditedAt "
    "isMinimized reactionGroups { content viewerHasReacted } }"
)
# Removed review requests: whoever was removed is not requested again (issue 6).
REMOVED_REQUESTS = (
    "nodes { __typename ... on ReviewRequestRemovedEvent { createdAt "
    f"actor {{ __typename login {_USER_ID} }} "
    "requestedReviewer { __typename ... on User { login databaseId } ... on Bot { login } "
    "... on Mannequin { login } } } }"
)
# Who last set each label: a minor label counts only when set by a TSC member with no conflict.
_LABEL_CHANGE = f"createdAt actor {{ __typename login {_USER_ID} }} label {{ name }}"
LABEL_CHANGES = (
    f"nodes {{ __typename ... on LabeledEvent {{ {_LABEL_CHANGE} }} "
    f"... on UnlabeledEvent {{ {_LABEL_CHANGE} }} }}"
)
# Who deleted whose comment: a declaration deleted by someone conflicted stands (issue 20).
COMMENT_DELETIONS = (
    "nodes { __typename ... on CommentDeletedEvent { createdAt "
    f"actor {{ __typename login {_USER_ID} }} "
    "deletedCommentAuthor { __typename login } } }"
)

# The open PRs that contain the head commit: those whose head it is share its one check run, so
# each is judged and the worst verdict written (a twin PR must never pass another's head).
SAME_HEAD_LIMIT = 50
_SAME_HEAD = (
    f"associatedPullRequests(first: {SAME_HEAD_LIMIT}) {{ totalCount "
    "nodes { number state headRefOid repository { nameWithOwner } } }"
)

# What the verdict reads of a PR, shared by the App's snapshot and the report's merged PRs.
_PULL_REQUEST_FACTS = f"""
      {_PERSON}
      labels(first: 100) {{ nodes {{ name }} }}
      files(first: 100) {{ {FILES} }}
      commits(first: 50) {{ {COMMITS} }}
      reviews(first: 50) {{ {REVIEWS} }}
      comments(first: 100) {{ {COMMENTS} }}
      reviewRequests(first: 100) {{
        nodes {{ requestedReviewer {{
          __typename ... on User {{ login databaseId }} ... on Bot {{ login }}
          ... on Team {{ slug }}
        }} }}
      }}
      labelChanges: timelineItems(last: 100, itemTypes: [LABELED_EVENT, UNLABELED_EVENT]) {{
        {LABEL_CHANGES}
      }}
"""

# GitHub keeps one check suite per App and commit: `checkSuites(first: 1)` holds all its runs.
SNAPSHOT = f"""
query Snapshot($owner: String!, $name: String!, $number: Int!, $mapPath: String!,
               $appId: Int) {{
  rateLimit {{ remaining resetAt cost }}
  repository(owner: $owner, name: $name) {{
    # The default branch's map judges every PR, whatever its base (one map for people).
    defaultBranchRef {{ name target {{ ... on Commit {{
      baseMap: file(path: $mapPath) {{ oid }}
      baseMapChange: history(path: $mapPath, first: 1) {{ nodes {{ oid }} }}
    }} }} }}
    pullRequest(number: $number) {{
      id number title isDraft state baseRefName headRefOid
      {_PULL_REQUEST_FACTS}
      removedRequests: timelineItems(last: 100, itemTypes: [REVIEW_REQUEST_REMOVED_EVENT]) {{
        {REMOVED_REQUESTS}
      }}
      commentDeletions: timelineItems(last: 100, itemTypes: [COMMENT_DELETED_EVENT]) {{
        {COMMENT_DELETIONS}
      }}
      headCommit: commits(last: 1) {{
        nodes {{ commit {{
          oid
          mapFile: file(path: $mapPath) {{ object {{ ... on Blob {{ oid text }} }} }}
          {_SAME_HEAD}
          checkSuites(first: 1, filterBy: {{appId: $appId}}) {{
            nodes {{ checkRuns(first: 20, filterBy: {{checkType: ALL}}) {{
              nodes {{ databaseId name externalId status conclusion text }}
            }} }}
          }}
        }} }}
      }}
    }}
  }}
}}
"""

# Follow-up pages of one connection of the pull request, after the snapshot's first 100.
_PAGE = """
query {name}($owner: String!, $name: String!, $number: Int!, $after: String!) {{
  repository(owner: $owner, name: $name) {{
    pullRequest(number: $number) {{ {field}(first: 100, after: $after) {{ {selection} }} }}
  }}
}}
"""
PAGE_QUERIES = {
    "files": _PAGE.format(name="FilesPage", field="files", selection=FILES),
    "commits": _PAGE.format(name="CommitsPage", field="commits", selection=COMMITS),
    "reviews": _PAGE.format(name="ReviewsPage", field="reviews", selection=REVIEWS),
    "comments": _PAGE.format(name="CommentsPage", field="comments", selection=COMMENTS),
}


def review_load_query(
    logins: list[str], *, profiles: bool = False, accounts: Sequence[str] = ()
) -> str:
    """Open PRs awaiting each login's review, for every candidate in one request (issue 6).

    The same request reads who this PR asks now: if a racing evaluation has just asked an
    eligible reviewer, this one asks nobody (its snapshot predates that request). `profiles`:
    also each candidate's profile (`p0`, ...), for `evidence: block` to rule out those GitHub
    shows in an author's company. `accounts`: logins whose numeric id to read (`a0`, ...): a
    login the map binds to an id is asked only while GitHub shows it with that id.
    """
    fields = "\n".join(
        f'  c{i}: search(query: "is:pr is:open review-requested:{login}", type: ISSUE, first: 1) '
        "{ issueCount }"
        for i, login in enumerate(logins)
    )
    if profiles:
        fields += "\n" + "\n".join(
            f'  p{i}: user(login: "{login}") {{ login {_PROFILE_FIELDS} }}'
            for i, login in enumerate(logins)
        )
    fields += "".join(
        f'\n  a{i}: user(login: "{login}") {{ databaseId }}' for i, login in enumerate(accounts)
    )
    pending = (
        "  pending: repository(owner: $owner, name: $name) { pullRequest(number: $number) {\n"
        "    reviewRequests(first: 100) { nodes { requestedReviewer {\n"
        "      __typename ... on User { login } ... on Bot { login } } } } } }"
    )
    return (
        "query ReviewLoad($owner: String!, $name: String!, $number: Int!) {\n"
        + pending
        + "\n"
        + fields
        + "\n}"
    )


# `coi-bot report` (issue 8): a merged PR with the same facts as SNAPSHOT, its merge time, the
# map's blob at the merge commit's first parent (the base as it was when merged), when each
# reviewer was asked (the timeline's review requests), and the App's check runs on its head.
_REQUESTED = (
    f"{_PAGE_INFO} nodes {{ __typename ... on ReviewRequestedEvent {{ createdAt "
    "requestedReviewer { __typename ... on User { login } ... on Bot { login } } } }"
)
MERGED_PULL_REQUEST = f"""
query MergedPullRequest($owner: String!, $name: String!, $number: Int!, $mapPath: String!,
                        $appId: Int) {{
  rateLimit {{ remaining resetAt cost }}
  repository(owner: $owner, name: $name) {{
    defaultBranchRef {{ name }}
    pullRequest(number: $number) {{
      id number title url isDraft state baseRefName baseRefOid headRefOid mergedAt
      {_PULL_REQUEST_FACTS}
      requested: timelineItems(first: 100, itemTypes: [REVIEW_REQUESTED_EVENT]) {{
        {_REQUESTED}
      }}
      mergeCommit {{
        oid
        parents(first: 1) {{ nodes {{ oid mapFile: file(path: $mapPath) {{ oid }} }} }}
      }}
      headCommit: commits(last: 1) {{
        nodes {{ commit {{
          checkSuites(first: 20, filterBy: {{appId: $appId}}) {{
            nodes {{ checkRuns(first: 20) {{ nodes {{ name status conclusion }} }} }}
          }}
        }} }}
      }}
    }}
  }}
}}
"""
REQUESTED_PAGE = f"""
query RequestedPage($owner: String!, $name: String!, $number: Int!, $after: String!) {{
  repository(owner: $owner, name: $name) {{
    pullRequest(number: $number) {{
      requested: timelineItems(first: 100, after: $after, itemTypes: [REVIEW_REQUESTED_EVENT]) {{
        {_REQUESTED}
      }}
    }}
  }}
}}
"""
# A merge group's commits (those of its head ref not on its base) with the PRs each belongs to:
# the group holds every PR ahead of it in the queue, not only the one its branch name names.
GROUP_PULL_REQUESTS_PER_COMMIT = 10
MERGE_GROUP_COMMITS = f"""
query MergeGroupCommits($owner: String!, $name: String!, $baseRef: String!, $headRef: String!,
                        $after: String) {{
  rateLimit {{ remaining resetAt cost }}
  repository(owner: $owner, name: $name) {{
    ref(qualifiedName: $baseRef) {{
      compare(headRef: $headRef) {{
        commits(first: 100, after: $after) {{
          {_PAGE_INFO}
          nodes {{
            oid
            associatedPullRequests(first: {GROUP_PULL_REQUESTS_PER_COMMIT}) {{
              totalCount nodes {{ number state headRefOid }}
            }}
          }}
        }}
      }}
    }}
  }}
}}
"""

# The map's text at one commit, read once per blob SHA however many PRs it judged.
MAP_AT_COMMIT = """
query MapAtCommit($owner: String!, $name: String!, $oid: GitObjectID!, $mapPath: String!) {
  repository(owner: $owner, name: $name) {
    object(oid: $oid) {
      ... on Commit { mapFile: file(path: $mapPath) { object { ... on Blob { oid text } } } }
    }
  }
}
"""

# Two bots can post the same reply at once (GitHub has no create-if-absent): the younger copy
# is hidden as a duplicate, as GitHub's own UI does.
MINIMIZE_DUPLICATE_REPLY = """
mutation MinimizeDuplicateReply($subjectId: ID!) {
  minimizeComment(input: {subjectId: $subjectId, classifier: DUPLICATE}) {
    minimizedComment { isMinimized }
  }
}
"""
# The App's `+1` says "applied": taken back from a comment edited so that nothing in it applies.
# GraphQL, because the REST operations the App may call cannot delete a reaction.
REMOVE_APPLIED_MARK = """
mutation RemoveAppliedMark($subjectId: ID!) {
  removeReaction(input: {subjectId: $subjectId, content: THUMBS_UP}) {
    subject { id }
  }
}
"""

# `coi-bot audit` (issue 14): what many profiles show, one alias and one variable per login (a
# login GitHub does not know answers NOT_FOUND for its alias alone).
AUDIT_PROFILE = "login databaseId url company organizations(first: 100) { nodes { login url } }"


def audit_people_query(count: int) -> str:
    """Profiles of `count` logins, passed as variables `u0`, `u1`, ..."""
    variables = ", ".join(f"$u{i}: String!" for i in range(count))
    fields = "\n".join(f"  u{i}: user(login: $u{i}) {{ {AUDIT_PROFILE} }}" for i in range(count))
    return f"query AuditPeople({variables}) {{\n{fields}\n}}"


# The pull requests last updated first, with their commits' author emails, 50 at a time.
AUDIT_PULL_REQUESTS = f"""
query AuditPullRequests($owner: String!, $name: String!, $after: String) {{
  rateLimit {{ remaining resetAt cost }}
  repository(owner: $owner, name: $name) {{
    pullRequests(first: 50, after: $after, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      {_PAGE_INFO}
      nodes {{
        number url updatedAt
        commits(first: 100) {{
          nodes {{ commit {{ oid url author {{ email user {{ login }} }} }} }}
        }}
      }}
    }}
  }}
}}
"""

# The default branch's map at a moment (a PR merged into another branch is reported as judged
# by it: one map for people): the branch's last commit by then, and the map's blob there.
DEFAULT_MAP_AT = """
query DefaultMapAt($owner: String!, $name: String!, $until: GitTimestamp!, $mapPath: String!) {
  repository(owner: $owner, name: $name) {
    defaultBranchRef { target { ... on Commit {
      history(first: 1, until: $until) { nodes { oid mapFile: file(path: $mapPath) { oid } } }
    } } }
  }
}
"""

# The map a vote opened under, by its blob's id: a vote keeps its rules when the map changes.
MAP_BLOB = """
query MapBlob($owner: String!, $name: String!, $oid: GitObjectID!) {
  repository(owner: $owner, name: $name) { object(oid: $oid) { ... on Blob { oid text } } }
}
"""

# A vote on a change to OWNERS.md: the file on the base branch and at the PR's head, to find
# whose line the PR adds, removes or changes (the vote's subjects).
OWNERS_TEXTS = """
query OwnersTexts($owner: String!, $name: String!, $before: String!, $after: String!) {
  repository(owner: $owner, name: $name) {
    before: object(expression: $before) { ... on Blob { text } }
    after: object(expression: $after) { ... on Blob { text } }
  }
}
"""

# A vote on an issue (GitHub's issues share labels, comments and the label timeline with PRs).
ISSUE_VOTE = f"""
query IssueVote($owner: String!, $name: String!, $number: Int!) {{
  rateLimit {{ remaining resetAt cost }}
  repository(owner: $owner, name: $name) {{
    defaultBranchRef {{ name }}
    issue(number: $number) {{
      id number title state
      {_ACTOR}
      labels(first: 100) {{ nodes {{ name }} }}
      comments(first: 100) {{ {COMMENTS} }}
      labelChanges: timelineItems(last: 100, itemTypes: [LABELED_EVENT, UNLABELED_EVENT]) {{
        {LABEL_CHANGES}
      }}
      commentDeletions: timelineItems(last: 100, itemTypes: [COMMENT_DELETED_EVENT]) {{
        {COMMENT_DELETIONS}
      }}
    }}
  }}
}}
"""
# The issue's comments after the first 100: a vote counts every one, and finds its own records.
ISSUE_COMMENTS_PAGE = f"""
query IssueCommentsPage($owner: String!, $name: String!, $number: Int!, $after: String!) {{
  repository(owner: $owner, name: $name) {{
    issue(number: $number) {{ comments(first: 100, after: $after) {{ {COMMENTS} }} }}
  }}
}}
"""

# The map file's history on a branch (issue 22): each change with the merged pull request that
# brought it and the App's own check runs on that PR's head (and on the tip, where a push's
# verdict is written). Read once per map blob the bot has not judged before; `$rev` is a branch
# or a commit.
_OWN_CHECKS = (
    "checkSuites(first: 5, filterBy: {appId: $appId}) { nodes { "
    "checkRuns(first: 5, filterBy: {checkName: $checkName}) { nodes { databaseId name externalId "
    "status conclusion } } "
    "} }"
)
# The PR that brought a commit, its check at merge and its approvers: one merged PR brings a
# commit to a branch, two leave room for an open one GitHub lists beside it.
_HEAD_CHECKS = (
    "checkSuites(first: 2, filterBy: {appId: $appId}) { nodes { "
    "checkRuns(first: 3, filterBy: {checkName: $checkName}) { nodes { databaseId name externalId "
    "status conclusion } } } }"
)
_LANDED_BY = (
    "associatedPullRequests(first: 2) { nodes { number merged baseRefName mergedBy { login } "
    f"headCommit: commits(last: 1) {{ nodes {{ commit {{ {_HEAD_CHECKS} }} }} }} "
    "reviews(last: 50, states: [APPROVED]) { nodes { author { login } } } } }"
)
MAP_HISTORY_DEPTH = 30
MAP_HISTORY = f"""
query MapHistory($owner: String!, $name: String!, $rev: String!, $mapPath: String!,
                 $appId: Int, $checkName: String, $ownerRepository: String!) {{
  rateLimit {{ remaining resetAt cost }}
  repository(owner: $owner, name: $name) {{
    tip: object(expression: $rev) {{
      ... on Commit {{
        oid url
        mapFile: file(path: $mapPath) {{ oid object {{ ... on Blob {{ text }} }} }}
        {_OWN_CHECKS}
        {_LANDED_BY}
        history(path: $mapPath, first: {MAP_HISTORY_DEPTH}) {{
          pageInfo {{ hasNextPage }}
          nodes {{
            oid url committedDate author {{ user {{ login }} }}
            mapFile: file(path: $mapPath) {{ oid }}
            {_LANDED_BY}
          }}
        }}
      }}
    }}
  }}
  # When the owner's `.github` map changed: a repository's first map is a bootstrap only if
  # that map did not govern it before. NOT_FOUND here (no such repository) means none.
  ownerMap: repository(owner: $owner, name: $ownerRepository) {{
    defaultBranchRef {{ target {{ ... on Commit {{
      history(path: $mapPath, first: {MAP_HISTORY_DEPTH}) {{
        pageInfo {{ hasNextPage }} nodes {{ committedDate }}
      }}
    }} }} }}
  }}
}}
"""
