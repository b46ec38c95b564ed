"""Slack is one shared, rate-limited resource: the pure rules of the budget every incident draws from.

One `SlackBudgetWorkflow` (workflows/pacing.py) keeps a `Budget` and decides, for every incident workflow
of every worker, which Slack call may go now:
- root posts and thread replies spend the channel's bucket (about one message a second, a short burst);
  message updates spend the workspace's bucket (`chat.update` is Tier 3, about 50 a minute);
- what people must see first goes first: a new incident's message, then status changes of messages, then
  other updates, then thread replies; within each, high urgency before low, then PagerDuty priority
  (P1 first), then who asked first;
- each incident has at most one request per kind waiting, so coalescing stays the incident's business;
- a 429 that still comes makes the whole bucket (the channel, or all updates) wait `Retry-After`;
- when more than `storm_threshold` new incidents wait in one channel, the channel gets one storm notice,
  updated as the queue drains and finished when it is empty.

Nothing here does I/O or reads a clock: time comes in as `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.budget_models import (
    Bucket,
    Budget,
    Grant,
    Kind,
    Limits,
    QueueView,
    SlackAsk,
    SlackDone,
    SlackThrottled,
    Waiting,
)
from workflows.storms import AWAIT_DROPPED, NoticeStep, Storm, notice_text, storm_joined, storm_posted

# The budget's data: workflows/budget_models.py; the storm's own rules: workflows/storms.py.
__all__ = [
    "Bucket",
    "Budget",
    "Grant",
    "Kind",
    "Limits",
    "NoticeStep",
    "QueueView",
    "SlackAsk",
    "SlackDone",
    "SlackThrottled",
    "Storm",
    "Waiting",
    "notice_text",
]


UPDATES = "updates"
OUT_FOR = timedelta(seconds=30)


def bucket_key(kind: Kind, channel: str) -> str:
    return UPDATES if kind in {Kind.STATUS, Kind.UPDATE} else f"channel:{channel}"


def _rate(budget: Budget, key: str) -> tuple[float, float]:
    limits = budget.limits
    if key == UPDATES:
        return limits.updates_per_minute / 60.0, float(limits.update_burst)
    return limits.posts_per_second, float(limits.post_burst)


def _bucket(budget: Budget, key: str, now: datetime) -> Bucket:
    rate, burst = _rate(budget, key)
    bucket = budget.buckets.get(key)
    if bucket is None:
        bucket = budget.buckets[key] = Bucket(tokens=burst, at=now)
    elif now > bucket.at:
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at).total_seconds() * rate)
        bucket.at = now
    return bucket


def _ready(budget: Budget, key: str, bucket: Bucket, now: datetime) -> bool:
    bucket.out = [at for at in bucket.out if now - at < OUT_FOR]
    _, burst = _rate(budget, key)
    return (bucket.tokens >= 1.0 and len(bucket.out) < burst
            and (bucket.paused_until is None or bucket.paused_until <= now))


def done(budget: Budget, note: SlackDone, now: datetime) -> None:
    bucket = _bucket(budget, bucket_key(note.kind, note.channel), now)
    if bucket.out:
        bucket.out.pop(0)


MESSAGE_UPDATES = {Kind.STATUS, Kind.UPDATE}


def ask(budget: Budget, request: SlackAsk, now: datetime, *, raise_status: bool = False) -> None:
    """Queue a request; one per incident, kind and channel (a repeat only refreshes what it says).

    With `raise_status`, an incident's update and status change of one message are one request: an update
    waiting for its turn that becomes a status change moves up, keeping its place among status changes.
    """
    for waiting in budget.waiting:
        same = waiting.ask.kind is request.kind or (
            raise_status and {waiting.ask.kind, request.kind} <= MESSAGE_UPDATES)
        if waiting.ask.workflow_id == request.workflow_id and same and waiting.ask.channel == request.channel:
            kind = min(waiting.ask.kind, request.kind)
            waiting.ask = request.model_copy(update={"kind": kind})
            return
    budget.waiting.append(Waiting(ask=request, seq=budget.next_seq, since=now))
    budget.next_seq += 1
    if request.kind is Kind.POST:
        storm_joined(budget.storms, request.channel, request.service, request.html_url, now)


def throttled(budget: Budget, note: SlackThrottled, now: datetime) -> None:
    key = bucket_key(note.kind, note.channel)
    bucket = _bucket(budget, key, now)
    until = now + timedelta(seconds=max(note.retry_after, 1.0))
    bucket.paused_until = max(until, bucket.paused_until) if bucket.paused_until else until
    if bucket.out:
        bucket.out.pop(0)  # the call that got the 429 is over
    # Empty until the pause ends, then one call at once and the usual pace: no burst right after a 429.
    rate, _ = _rate(budget, key)
    bucket.tokens, bucket.at = 0.0, bucket.paused_until - timedelta(seconds=1.0 / rate)
    budget.throttled += 1


def _rank(waiting: Waiting) -> tuple[int, int, int, int]:
    ask = waiting.ask
    urgency = 0 if ask.urgency == "high" else 1
    priority = 99
    if ask.priority and ask.priority[:1] in {"P", "p"} and ask.priority[1:].isdigit():
        priority = int(ask.priority[1:])
    return ask.kind.value, urgency, priority, waiting.seq


def take(budget: Budget, key: str, now: datetime) -> bool:
    """Spend one token of `key` if there is one (the storm notice uses this too)."""
    bucket = _bucket(budget, key, now)
    if not _ready(budget, key, bucket, now):
        return False
    bucket.tokens -= 1.0
    bucket.out.append(now)
    return True


def grant(budget: Budget, now: datetime) -> list[Grant]:
    """Everything that may go now, most important first, as far as the buckets allow."""
    grants: list[Grant] = []
    kept: list[Waiting] = []
    for waiting in sorted(budget.waiting, key=_rank):
        ask = waiting.ask
        if take(budget, bucket_key(ask.kind, ask.channel), now):
            grants.append(Grant(workflow_id=ask.workflow_id, kind=ask.kind, channel=ask.channel))
            if ask.kind is Kind.POST:
                storm_posted(budget.storms, ask.channel)
        else:
            kept.append(waiting)
    budget.waiting = sorted(kept, key=lambda w: w.seq)
    budget.granted += len(grants)
    if grants:
        budget.last_grant_at = now
    return grants


def queue_view(budget: Budget, workflow_id: str, now: datetime) -> QueueView:
    """Answers a query: one pass over the queue per own ask (at most four), and nothing written."""
    etas: list[float] = []
    for own in (w for w in budget.waiting if w.ask.workflow_id == workflow_id):
        key, rank = bucket_key(own.ask.kind, own.ask.channel), _rank(own)
        ahead = sum(1 for w in budget.waiting if _rank(w) < rank and bucket_key(w.ask.kind, w.ask.channel) == key)
        rate, burst = _rate(budget, key)
        bucket = budget.buckets.get(key)
        tokens, pause = burst, 0.0
        if bucket is not None:
            tokens = min(burst, bucket.tokens + max(0.0, (now - bucket.at).total_seconds()) * rate)
            pause = max(0.0, (bucket.paused_until - now).total_seconds()) if bucket.paused_until else 0.0
        etas.append(pause + (max(0.0, ahead + 1 - tokens) / rate if rate > 0 else 0.0))
    pauses = [b.paused_until for b in budget.buckets.values() if b.paused_until is not None]
    return QueueView(queued=bool(etas), eta_seconds=min(etas) if etas else 0.0, waiting=len(budget.waiting),
                     last_grant_at=budget.last_grant_at, paused_until=max(pauses) if pauses else None)


MAX_CARRIED = 2000  # waiting asks carried through continue-as-new: far under Temporal's 2 MiB payload limit
MAX_BUCKETS = 2000  # buckets carried (one per channel ever posted in, else): idle ones first go, then the oldest


def carried(budget: Budget, now: datetime) -> Budget:
    """The budget a new run starts from: the most important waiting asks, the buckets that are not idle, the
    storms. Bounded whatever the storm or the number of channels, so it always fits Temporal's payload limit.

    What waits beyond MAX_CARRIED is dropped, counted (per storm too, so its notice does not call it over
    before those incidents are posted): each of those incidents asks again when its turn is late. A bucket
    that is full, paused for no longer and has no call out is what a new one would be: it is not carried.
    """
    ranked = sorted(budget.waiting, key=_rank)
    keep, dropped = ranked[:MAX_CARRIED], ranked[MAX_CARRIED:]
    storms = {channel: storm.model_copy() for channel, storm in budget.storms.items()}
    for waiting in dropped:
        storm = storms.get(waiting.ask.channel)
        if waiting.ask.kind is Kind.POST and storm is not None and not storm.over:
            storm.awaited += 1
            storm.awaited_until = now + AWAIT_DROPPED
    needed = {bucket_key(w.ask.kind, w.ask.channel) for w in keep}
    buckets = {key: bucket for key, bucket in budget.buckets.items() if key in needed or not _idle(budget, key, now)}
    if len(buckets) > MAX_BUCKETS:
        order = sorted(buckets, key=lambda key: (key not in needed, -buckets[key].at.timestamp()))
        buckets = {key: buckets[key] for key in order[:MAX_BUCKETS]}
    return budget.model_copy(update={"waiting": sorted(keep, key=lambda w: w.seq), "buckets": buckets,
                                     "storms": storms, "dropped": budget.dropped + len(dropped)})


def _idle(budget: Budget, key: str, now: datetime) -> bool:
    bucket = budget.buckets[key]
    rate, burst = _rate(budget, key)
    tokens = bucket.tokens + max(0.0, (now - bucket.at).total_seconds()) * rate
    return (tokens >= burst and not [at for at in bucket.out if now - at < OUT_FOR]
            and (bucket.paused_until is None or bucket.paused_until <= now))


def next_wake(budget: Budget, now: datetime) -> datetime | None:
    """When a waiting request could next be granted (a token refills or a pause ends)."""
    times: list[datetime] = []
    for key in {bucket_key(w.ask.kind, w.ask.channel) for w in budget.waiting}:
        times.append(_refilled(budget, key, now))
    every = timedelta(seconds=budget.limits.notice_every_seconds)
    for storm in budget.storms.values():
        if storm.ts is not None and storm.shown_at is not None:
            times.append(max(_refilled(budget, UPDATES, now), storm.shown_at + every))
    return min(times) if times else None


def _refilled(budget: Budget, key: str, now: datetime) -> datetime:
    bucket = _bucket(budget, key, now)
    rate, burst = _rate(budget, key)
    refill = now + timedelta(seconds=max(0.0, 1.0 - bucket.tokens) / rate) if rate > 0 else now
    if len(bucket.out) >= burst:
        refill = max(refill, bucket.out[0] + OUT_FOR)  # or sooner, when a call reports done
    return max(refill, bucket.paused_until or refill)


def waiting_posts(budget: Budget, channel: str) -> int:
    return sum(1 for w in budget.waiting if w.ask.kind is Kind.POST and w.ask.channel == channel)


# ---- storm notices -----------------------------------------------------------------------------------------


def notices(budget: Budget, now: datetime) -> list[NoticeStep]:
    """Storm notices to post or refresh now (called before `grant`, so a notice has the first token)."""
    steps: list[NoticeStep] = []
    for channel, storm in list(budget.storms.items()):
        queued = waiting_posts(budget, channel)
        if storm.ts is None:
            if storm.shown or queued <= budget.limits.storm_threshold:
                if queued == 0 and not storm.shown:
                    del budget.storms[channel]  # a burst the budget absorbed: no storm
                continue
            text = notice_text(storm, now)
            # The notice goes ahead of everything waiting in its channel: it takes the channel's next token.
            if take(budget, bucket_key(Kind.POST, channel), now):
                storm.shown, storm.shown_at = text, now
                steps.append(NoticeStep(channel=channel, text=text))
            continue
        storm.over = queued == 0 and not (storm.awaited and storm.awaited_until and now < storm.awaited_until)
        text = notice_text(storm, now)
        due = storm.shown_at is None or now - storm.shown_at >= timedelta(seconds=budget.limits.notice_every_seconds)
        if text != storm.shown and (due or storm.over) and take(budget, UPDATES, now):
            storm.shown, storm.shown_at = text, now
            steps.append(NoticeStep(channel=channel, text=text, ts=storm.ts))
        if storm.over and storm.shown == text:
            del budget.storms[channel]
    return steps


def notice_posted(budget: Budget, channel: str, ts: str | None) -> None:
    """The notice's post went out (`ts`) or failed (None: it is tried again)."""
    storm = budget.storms.get(channel)
    if storm is not None:
        storm.ts = ts
        if ts is None:
            storm.shown = ""
