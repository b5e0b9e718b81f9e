"""E-mails to agents in the account's language (auth's general settings), English until known."""

from __future__ import annotations

import uuid

from parley_common.testing import make_agent


async def agent_with_email(feed, account_id):
    who = make_agent("owner", account_id)
    address = f"agent-{uuid.uuid4().hex[:8]}@example.com"
    await feed(
        "auth.agent.created",
        account_id,
        {"agent_id": who.agent_id, "email": address, "name": "Ann", "role": "owner"},
    )
    return address


def contact_message(conversation: uuid.UUID, text: str) -> dict:
    return {
        "conversation_id": conversation,
        "message_id": uuid.uuid4(),
        "visitor_id": uuid.uuid4(),
        "author_type": "visitor",
        "channel": "contact_form",
        "text": text,
        "visitor_name": "Carl Contact",
    }


async def test_mails_follow_the_account_language(agent, feed, notify_worker, smtp_sink):
    account = agent.account_id
    address = await agent_with_email(feed, account)
    await feed(
        "auth.account.created",
        account,
        {
            "name": "Shop",
            "widget_key": "wk_x",
            "plan": "free",
            "settings": {"general": {"language": "cs"}},
        },
    )
    first = uuid.uuid4()
    await feed(
        "chat.conversation.created", account, {"conversation_id": first, "channel": "contact_form"}
    )
    await feed("chat.message.created", account, contact_message(first, "Zavolejte mi"))
    [czech] = await smtp_sink.wait_for(address)
    assert czech["Subject"] == "Nová zpráva z kontaktního formuláře: Carl Contact"
    content = czech.get_content()
    assert content.startswith("Carl Contact zanechal(a) zprávu přes kontaktní formulář:")
    assert "Zavolejte mi" in content and "Odpovězte v aplikaci nebo na http" in content

    await feed(
        "auth.settings.updated",
        account,
        {"section": "general", "settings": {"language": "es", "timezone": "Europe/Madrid"}},
    )
    await feed(
        "auth.settings.updated", account, {"section": "design", "settings": {"color": "#000000"}}
    )
    second = uuid.uuid4()
    await feed(
        "chat.conversation.created", account, {"conversation_id": second, "channel": "contact_form"}
    )
    await feed("chat.message.created", account, contact_message(second, "Llámame"))
    mails = await smtp_sink.wait_for(address, count=2)
    assert mails[1]["Subject"] == "Nuevo mensaje del formulario de contacto de Carl Contact"
    assert "Responde en la aplicación o en http" in mails[1].get_content()
