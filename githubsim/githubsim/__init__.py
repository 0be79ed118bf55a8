"""A stateful GitHub for tests, benchmarks and `coi-bot demo`: REST, GraphQL and signed webhooks.

A development tool: it imports nothing of the bot, and the bot's wheel and image leave it out.
It serves, over real HTTP on aiohttp, the REST operations listed in GitHub's description of the
calls the bot may make (`reference/openapi-subset.json`) and a GraphQL endpoint executed by
graphql-core against GitHub's published schema (`reference/graphql/schema.graphql`), both over
one in-memory state. Whatever
happens in it (a PR opened, a review submitted, a comment posted) is sent to the bot as a webhook
signed like GitHub's.

    sim = GitHubSimulator(app_id=1, app_public_key_pem=pem, webhook_secret="s",
                          webhook_url="http://127.0.0.1:8080/webhook")
    await sim.start()                       # sim.url (REST base), sim.graphql_url
    sim.add_installation("acme"); sim.add_user("alice", email="alice@acme.example")
    sim.add_repo("acme", "widgets", files={".github/affiliations.yml": "..."})
    sim.set_permission("acme/widgets", "alice", "write")
    number = await sim.open_pull_request("acme/widgets", author="alice", title="t",
                                         files={"src/a.py": "print()\\n"})
    await sim.submit_review("acme/widgets", number, reviewer="bob")
    await sim.settle(); await sim.close()

Seeding (synchronous, no webhook): `add_user`, `add_org`, `add_team`, `add_installation`,
`add_repo`, `set_permission`.
Acting (each sends the matching webhook and awaits the bot's answer; the status codes are kept
in `deliveries`): `install_app` (installation.created), `add_installation_repository`
(installation_repositories.added), `open_pull_request` (check_suite.requested, then
pull_request.opened), `open_pull_request_at` (a PR from a new branch on an existing commit, as
a fork or a second branch opens one: pull_request.opened only), `push_commits`
(check_suite.requested, pull_request.synchronize),
`edit_pull_request`, `set_labels`, `mark_ready`, `close_pull_request` (merge=True pushes the head
tree to the base branch), `reopen_pull_request`, `submit_review`, `edit_review`,
`dismiss_review`, `post_comment`, `edit_comment`, `delete_comment`, `push_to_branch` (push,
check_suite.requested), `click_button` (check_run.requested_action), `rerequest_check`,
`rerequest_check_suite`, `enqueue` (merge queue: a group per PR on
`gh-readonly-queue/<base>/pr-<n>-<sha>`, check_suite.requested, merge_group.checks_requested),
`request_merge_group_checks` (the same group asked again), and `deliver(event, payload)` for a
raw delivery.
Events caused by the App's own REST writes (its comments, labels) are delivered in the
background like GitHub does (`echo_app_events=False` turns that off); `settle()` waits for them.

Inspection: `calls` (`Call(method, path, operation_id, status, kind, query_name)`),
`violations` (requests GitHub would not recognise or that fail the validators; tests assert it
stays empty), `deliveries`, `tokens_minted`, `check_runs(repo, head_sha)`,
`review_requests(repo, number)`, `comments(repo, number)`, `reactions(repo, comment_id)`,
`pull(repo, number)`, `merge_queues`, `reset_calls()`.
Fault injection: `inject_failure(operation_id or "graphql", status=502, times=1, headers=...)`,
`set_rate_limit_remaining(installation_id, 0)`; time comes from `clock` (a callable).
Validation hooks: `request_validator(RestRequest) -> problems` and `graphql_validator(query) ->
problems`; `githubsim.validation` builds both from the vendored reference data
(`githubsim.reference`), which the simulator itself reads only for the GraphQL schema.
"""

from githubsim.rest import RestRequest
from githubsim.simulator import Call, GitHubSimulator

__all__ = ["Call", "GitHubSimulator", "RestRequest"]
