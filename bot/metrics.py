"""Prometheus metrics, one registry per app so that tests and several apps never share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[int, tuple[str, ...]], Counter] = {}
        self._define_delivery_metrics(self.registry)
        self._define_evaluation_metrics(self.registry)
        self._define_github_metrics(self.registry)
        self._define_job_metrics(self.registry)
        self._define_redis_metrics(self.registry)

    def _define_delivery_metrics(self, registry: CollectorRegistry) -> None:
        """Webhook deliveries: the ack, routing after it, and the evaluation queue."""
        self.deliveries = Counter(
            "coi_webhook_deliveries",
            "Webhook deliveries received, by event, action and outcome.",
            ["event", "action", "outcome"],
            registry=registry,
        )
        self.routed_deliveries = Counter(
            "coi_routed_deliveries",
            "Acknowledged deliveries after routing, by event, action and outcome "
            "(queued, ignored, malformed, fault: a handler raised after the 202).",
            ["event", "action", "outcome"],
            registry=registry,
        )
        self.inbox_depth = Gauge(
            "coi_inbox_depth", "Acknowledged deliveries waiting to be routed.", registry=registry
        )
        self.routing_waits = Counter(
            "coi_routing_waits",
            "Times the router waited for room in a full evaluation queue (backpressure).",
            registry=registry,
        )
        self.queue_depth = Gauge(
            "coi_queue_depth", "Pull requests waiting for evaluation.", registry=registry
        )
        self.router_restarts = Counter(
            "coi_router_restarts",
            "Times the delivery router failed (a bug) and was started again.",
            registry=registry,
        )
        self.job_restarts = Counter(
            "coi_background_job_restarts",
            "Times a background job's task had died and was started again, by job.",
            ["job"],
            registry=registry,
        )

    def _define_evaluation_metrics(self, registry: CollectorRegistry) -> None:
        """Evaluations: how they ended and how long they took."""
        self.evaluations = Counter(
            "coi_evaluations", "Evaluations run, by outcome.", ["outcome"], registry=registry
        )
        self.evaluation_seconds = Histogram(
            "coi_evaluation_seconds",
            "Time from the start of an evaluation to its last GitHub write.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )

    def _define_github_metrics(self, registry: CollectorRegistry) -> None:
        """Calls to GitHub, its rate limit and installation tokens."""
        self.github_calls = Counter(
            "coi_github_calls",
            "Calls to GitHub, by operation and HTTP status.",
            ["operation", "status"],
            registry=registry,
        )
        self.rate_limit_remaining = Gauge(
            "coi_github_rate_limit_remaining",
            "GitHub's x-ratelimit-remaining on the latest response.",
            registry=registry,
        )
        self.budget_remaining = Gauge(
            "coi_github_budget_remaining",
            "What GitHub's latest answer left of the hour's primary limit, by identity (the App,"
            " or an installation's id) and resource (core: REST requests, graphql: points).",
            ["installation", "resource"],
            registry=registry,
        )
        self.github_spent = Counter(
            "coi_github_spent",
            "Primary rate limit spent, by operation and resource: REST requests (a 304 is free)"
            " and GraphQL points by GitHub's cost formula (bot/github/query_cost.py).",
            ["operation", "resource"],
            registry=registry,
        )
        self.tokens_minted = Counter(
            "coi_installation_tokens_minted", "Installation tokens minted.", registry=registry
        )

    def _define_job_metrics(self, registry: CollectorRegistry) -> None:
        """Background jobs: the reconciler and the redeliverer."""
        self.reconcile_cycles = Counter(
            "coi_reconcile_cycles",
            "Reconciler cycles, by how they ended (complete, bounded, rate_limited, failed).",
            ["outcome"],
            registry=registry,
        )
        self.reconcile_repairs = Counter(
            "coi_reconcile_repairs",
            "Open PRs the reconciler queued, by why their check was stale.",
            ["reason"],
            registry=registry,
        )
        self.redeliveries = Counter(
            "coi_redeliveries",
            "Failed webhook deliveries asked again from GitHub, by outcome.",
            ["outcome"],
            registry=registry,
        )

    def _define_redis_metrics(self, registry: CollectorRegistry) -> None:
        """Redis, when replicas coordinate through it."""
        self.redis_errors = Counter(
            "coi_redis_errors",
            "Redis operations that failed because Redis was unreachable, by operation.",
            ["operation"],
            registry=registry,
        )
        self.redis_commands = Counter(
            "coi_redis_commands",
            "Commands (round trips) sent to Redis, by the operation that sent them.",
            ["operation"],
            registry=registry,
        )

    def increment(self, counter: Counter, *label_values: str) -> None:
        """`counter.labels(*label_values).inc()`, keeping each labelled child: labels() validates
        and locks on every call, a cost the webhook's hot path need not pay twice per delivery."""
        key = (id(counter), label_values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(*label_values)
        child.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
