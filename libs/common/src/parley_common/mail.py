"""Outbound e-mail over SMTP (aiosmtplib)."""

from __future__ import annotations

from email.message import EmailMessage

from parley_common.settings import Settings


def build_message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    if reply_to:
        message["Reply-To"] = reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


async def send_mail(settings: Settings, message: EmailMessage) -> None:
    # Imported here: ~40 ms at the start of every chat and notify process, for a worker's
    # path that may never send (python -X importtime).
    import aiosmtplib

    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        start_tls=settings.smtp_use_tls,
        timeout=10,
    )
