"""Every Redis key Flowbot writes, and how long each lives: one place to see what Redis holds.

The strings and TTLs are in live databases: changing one strands the keys already written (a running
job's status, a parked query, a day's budget), so it is a data migration, not a rename. Patterns are
`str.format` templates; a key whose TTL is a setting or follows a window says so instead of a constant.
RQ's own keys (`rq:…`) are RQ's; only the TTLs Flowbot asks RQ for are here.
"""

from __future__ import annotations

# The request and its job

REQUEST_KEY = "flowbot:request:{job_id}"
"""`1` once a Slack request is enqueued (SET NX, so a retried delivery makes no second job); set by
`FlowQueue` in the listener; TTL FLOWBOT_DEDUPE_TTL_SECONDS."""
SHORT_KEY = "flowbot:short:{short}"
"""The full job id behind the 8 characters a responder types to `/flow cancel`; set by `cancel.remember`
when a job is enqueued; TTL FLOWBOT_DEDUPE_TTL_SECONDS."""
CANCEL_KEY = "flowbot:cancel:{job_id}"
"""The Slack user id of who asked to stop a running job (`?` when unknown); set by `cancel.request_cancel`,
read by the worker's engine between polls; TTL the query timeout plus a minute (`FlowQueue.cancel`)."""
GUARDDUTY_HEADER_KEY = "flowbot:guardduty:{job_id}"
"""A hash: who posts a GuardDuty pivot's header message (`claim`) and its `ts`, so a re-run of the pivot job
posts no second header and threads its queries under the first; set by bot/worker/guardduty.py; TTL
`STATUS_TTL_SECONDS`."""
WATCH_KEY = "flowbot:watch:{watch_id}"
"""JSON: a standing `Watch` (bot/watches.py); written once by `WatchBook.create` in the listener; expires a
day after the watch ends (`WATCH_AFTERLIFE_SECONDS`), as do the watch's other keys."""
WATCH_STOPPED_KEY = "flowbot:watch:{watch_id}:stopped"
"""Who stopped a watch (`/flow watch stop`); its next run finds it and ends the watch."""
WATCH_DONE_KEY = "flowbot:watch:{watch_id}:done:{interval}"
"""Set once interval `interval` of a watch has run to its end: a second run of it does nothing."""
WATCH_SEEN_KEY = "flowbot:watch:{watch_id}:seen"
"""A set: digests of the findings a watch has posted (bot/worker/watch.py `finding_digest`)."""
CHANNEL_WATCHES_KEY = "flowbot:watches:{team}:{channel}"
"""A set: the ids of a channel's watches, for `watch list` and FLOWBOT_WATCHES_PER_CHANNEL."""
WATCH_AFTERLIFE_SECONDS = 86400
"""How long a watch's keys outlive its end: `watch list` and a late last run still find it."""
RQ_RESULT_TTL_SECONDS = 86400
"""How long RQ keeps a finished job (`result_ttl`, asked for by `FlowQueue`)."""
RQ_FAILURE_TTL_SECONDS = 7 * 86400
"""How long RQ keeps a failed job (`failure_ttl`, asked for by `FlowQueue`)."""

# The answer in Slack

STATUS_KEY = "flowbot:status:{job_id}"
"""A hash: who posts the status message (`claim`), its `ts`, and the job's final text and blocks; written by
`StatusBoard` in the listener and the worker."""
STATUS_TTL_SECONDS = 7 * 86400
"""A status message can be found, and edited to its answer, for a week."""
ANSWERED_KEY = "flowbot:answered:{job_id}"
"""The claim on a job's one final answer (SET NX by `delivery.claim_final`: the worker, a cancel, a button,
a re-send sweep); deleted when the post fails so a retry can answer."""
ANSWERED_TTL_SECONDS = 7 * 86400
"""A job's final answer is claimed for a week, past any RQ retry or re-send of it."""
RESENDING_KEY = "flowbot:resending:{job_id}"
"""`1` while a sweeper re-sends a kept answer (bot/worker/redelivery.py), so two sweepers never send it
together."""
RESENDING_TTL_SECONDS = 900
"""Longer than one answer's re-send can take (slack_sdk's retries, an upload of up to 300 s)."""
ROWS_KEY = "flowbot:rows:{job_id}"
"""JSON: an answer's rows after the shown ones, for *Show next rows*; set by the worker's `ResultPages`."""
ROWS_CURSOR_KEY = "flowbot:rows-cursor:{job_id}"
"""How many of `ROWS_KEY`'s rows were handed out; set to 0 by the worker, INCRBY by each button press."""
ROWS_TTL_SECONDS = 7 * 86400
"""*Show next rows* works for a week after the answer."""
PACE_KEY = "flowbot:pace:{channel}"
"""A sorted set: Flowbot's recent posts in a channel, by Redis time, for `ChannelPacer`'s Lua script (any
process that posts); expires after the pacing window (FLOWBOT_CHANNEL_POST_INTERVAL_SECONDS times `BURST`)."""

# Limits and costs

RATELIMIT_USER_KEY = "flowbot:ratelimit:user:{team}:{user}"
"""A sorted set: the request ids a person started in the last minute; `RateLimiter`'s Lua script in the
listener; expires after `ratelimit.WINDOW_SECONDS`."""
RATELIMIT_CHANNEL_KEY = "flowbot:ratelimit:channel:{team}:{channel}"
"""A sorted set: the request ids started in a channel in the last minute; as `RATELIMIT_USER_KEY`."""
BUDGET_KEY = "flowbot:budget:{team}:{channel}:{day}"
"""A hash: bytes booked per job id in a channel on one UTC day (`%Y%m%d`); `ChannelBudget` in the worker."""
BUDGET_TTL_SECONDS = 2 * 86400
"""A day's books are kept into the next day, for a query that runs across midnight to settle."""
CONFIRM_KEY = "flowbot:confirm:{job_id}"
"""JSON: the request and reply target of a query parked for its cost; set by the worker, taken (GETDEL) by
the *Run it* / *Don't run* click (`PendingConfirmations`)."""
CONFIRM_TTL_SECONDS = 3600
"""How long a parked query waits; after that its buttons say to ask again."""

# People and channels

CONTEXT_KEY = "flowbot:context:{team}:{channel}"
"""JSON: a channel's `ChannelContext` (account, region, window); `ContextStore` in the listener; TTL
FLOWBOT_CONTEXT_TTL_DAYS, renewed by every read."""
RECENT_JOB_KEY = "flowbot:recent:job:{job_id}"
"""JSON: one job's `RecentQuery` for its asker's App Home; written by the listener, then the worker."""
RECENT_USER_KEY = "flowbot:recent:user:{team_id}:{user_id}"
"""A sorted set: a person's job ids by first-seen time, the newest `keep`; written with `RECENT_JOB_KEY`."""
RECENT_TTL_SECONDS = 30 * 24 * 3600
"""A person's recent queries are forgotten 30 days after the last one was recorded."""
USERGROUP_KEY = "flowbot:usergroup:{group}"
"""JSON: a Slack user group's members and when Slack listed them (`{"members", "at"}`); `Permissions`,
refreshed on a thread of the listener's process."""
USERGROUP_TTL_SECONDS = 7 * 86400
"""How long the last answer is kept when Slack cannot be asked again (rate limits, an outage)."""

# Names of machines (bot/enrich/)

ENRICH_ENI_KEY = "flowbot:enrich:eni:{account}:{region}"
"""JSON: one account and region's network interfaces, each with its instance's Name tag (`EniInventory`),
written by the worker that first needs them; TTL FLOWBOT_ENRICH_ENI_TTL_SECONDS."""
ENRICH_IP_RANGES_KEY = "flowbot:enrich:ip-ranges"
"""JSON: AWS's published IP ranges as `[prefix, service, region]` triples with the file's syncToken
(`IpRanges`), written by the worker that first needs them; TTL FLOWBOT_ENRICH_IP_RANGES_TTL_SECONDS, so they
are fetched again on that schedule."""
