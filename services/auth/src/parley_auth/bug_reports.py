"""Bug reports from the app: stored, then e-mailed to the support address; rate-limited."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.config import AuthSettings
from parley_auth.models import Agent, BugReport
from parley_auth.schemas import BugReportIn, BugReportOut
from parley_common.errors import TooManyRequests
from parley_common.mail import build_message, send_mail
from parley_common.redis import RateLimiter

log = logging.getLogger("parley.auth.bug_reports")


async def report_bug(
    session: AsyncSession,
    agent: Agent,
    data: BugReportIn,
    *,
    limiter: RateLimiter,
    settings: AuthSettings,
) -> BugReportOut:
    retry_after = await limiter.hit(
        f"bug-report:agent:{agent.id}", limit=settings.bug_reports_per_agent_per_hour, window=3600
    )
    if retry_after is not None:
        raise TooManyRequests(retry_after, "Too many bug reports; try again later.")
    report = BugReport(
        id=uuid.uuid4(),
        account_id=agent.account_id,
        agent_id=agent.id,
        message=data.message,
        app_version=data.app_version,
        device=data.device,
        logs=data.logs,
    )
    session.add(report)
    await session.flush()
    text = (
        f"Bug report {report.id}\n"
        f"From: {agent.name} <{agent.email}> (agent {agent.id}, account {agent.account_id})\n"
        f"App version: {data.app_version or '-'}\nDevice: {data.device or '-'}\n\n"
        f"{data.message}\n"
    )
    if data.logs:
        text += f"\n--- logs ---\n{data.logs}\n"
    message = build_message(
        settings,
        to=settings.support_email,
        reply_to=agent.email,
        subject=f"[Parley bug] {data.message.splitlines()[0][:80]}",
        text=text,
    )
    try:
        await send_mail(settings, message)
        report.emailed_at = datetime.now(UTC)
        await session.flush()
    except Exception:
        # The report is kept either way; support can read it from the table.
        log.warning("bug report %s could not be e-mailed", report.id, exc_info=True)
    return BugReportOut(
        id=report.id, created_at=report.created_at, emailed=report.emailed_at is not None
    )
