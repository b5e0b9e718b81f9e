"""Push texts in each device's stored locale (catalogues: en, cs, de, fr, es; others English)."""

from __future__ import annotations

import uuid

from parley_common.testing import eventually, make_agent

from .conftest import register


async def test_new_visitor_pushes_speak_each_devices_language(
    api, agent, feed, apns, notify_worker
):
    czech = await register(api, agent, locale="cs-CZ")
    german = await register(api, agent, locale="de_AT")
    japanese = await register(api, agent, locale="ja-JP")
    colleague = make_agent("agent", agent.account_id)
    french = await register(api, colleague, locale="fr")
    unknown = await register(api, colleague)
    await feed(
        "visitors.visitor.arrived",
        agent.account_id,
        {"visitor_id": uuid.uuid4(), "url": "https://shop.example/pricing"},
    )
    tokens = (czech, german, japanese, french, unknown)
    await eventually(lambda: all(apns.for_token(t) for t in tokens))
    alerts = {t: apns.for_token(t)[0].payload["aps"]["alert"] for t in tokens}
    assert alerts[czech] == {
        "title": "Nový návštěvník",
        "body": "Návštěvník je na https://shop.example/pricing",
    }
    assert alerts[german] == {
        "title": "Neuer Besucher",
        "body": "Ein Besucher ist auf https://shop.example/pricing",
    }
    assert alerts[french]["body"] == "Un visiteur est sur https://shop.example/pricing"
    english = {"title": "New visitor", "body": "A visitor is on https://shop.example/pricing"}
    assert alerts[japanese] == english and alerts[unknown] == english

    for _ in range(4):  # a burst: the summary's plural follows each language's rules
        await feed("visitors.visitor.arrived", agent.account_id, {"visitor_id": uuid.uuid4()})
    await eventually(lambda: all(len(apns.for_token(t)) >= 2 for t in tokens), timeout=15)
    summary = {t: apns.for_token(t)[1].payload["aps"]["alert"] for t in tokens}
    assert summary[czech] == {
        "title": "Noví návštěvníci",
        "body": "5 nových návštěvníků na vašem webu",
    }
    assert summary[german]["body"] == "5 neue Besucher auf Ihrer Website"
    assert summary[french]["body"] == "5 nouveaux visiteurs sur votre site"
    assert summary[unknown]["body"] == "5 new visitors on your website"


async def test_a_visitors_own_words_are_never_translated(api, agent, feed, apns, notify_worker):
    token = await register(api, agent, locale="es-ES")
    conversation, visitor = uuid.uuid4(), uuid.uuid4()
    await feed(
        "chat.conversation.created",
        agent.account_id,
        {"conversation_id": conversation, "visitor_id": visitor, "status": "open"},
    )
    for text in ("Chat", ""):
        await feed(
            "chat.message.created",
            agent.account_id,
            {
                "conversation_id": conversation,
                "message_id": uuid.uuid4(),
                "visitor_id": visitor,
                "visitor_name": "Not found",
                "author_type": "visitor",
                "text": text,
                "channel": "chat",
            },
        )
    pushes = await eventually(lambda: len(apns.for_token(token)) >= 2 and apns.for_token(token))
    alerts = [p.payload["aps"]["alert"] for p in pushes]
    assert alerts[0] == {"title": "Not found", "body": "Chat"}
    assert alerts[1] == {"title": "Not found", "body": "(archivo adjunto)"}
