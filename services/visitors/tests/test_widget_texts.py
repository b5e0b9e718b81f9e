"""The chat box's default texts in the account's language; texts the account wrote as written."""

from __future__ import annotations

from parley_auth.settings_schemas import default_settings


async def settings(client, site) -> dict:
    resp = await client.get("/api/v1/widget/settings", params={"widget_key": site.widget_key})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_default_texts_follow_the_account_language(client, new_site, handle, open_widget):
    defaults = default_settings()
    site = await new_site(language="de")
    await handle(
        "auth.settings.updated",
        site.account_id,
        {"section": "design", "settings": defaults["design"], "widget_key": site.widget_key},
    )
    await handle(
        "auth.settings.updated",
        site.account_id,
        {"section": "contact_form", "settings": defaults["contact_form"]},
    )
    body = await settings(client, site)
    assert body["design"]["texts"] == {
        "title": "Chatten Sie mit uns",
        "welcome": "Hallo! Wie können wir Ihnen helfen?",
        "offline": "Wir sind gerade nicht online. Hinterlassen Sie uns eine Nachricht.",
        "input_placeholder": "Nachricht eingeben…",
        "button_label": "Chat",
    }
    assert body["contact_form"]["offline_text"] == (
        "Hinterlassen Sie uns eine Nachricht, wir antworten per E-Mail."
    )
    session = await open_widget(site)
    assert session["settings"]["design"]["texts"]["title"] == "Chatten Sie mit uns"

    custom = {**defaults["design"]["texts"], "welcome": "Servus! Was dürfen wir tun?"}
    await handle(
        "auth.settings.updated",
        site.account_id,
        {"section": "design", "settings": {**defaults["design"], "texts": custom}},
    )
    await handle(
        "auth.settings.updated",
        site.account_id,
        {"section": "general", "settings": {"language": "cs", "allowed_domains": []}},
    )
    texts = (await settings(client, site))["design"]["texts"]
    assert texts["welcome"] == "Servus! Was dürfen wir tun?"  # the account's own words
    assert texts["title"] == "Napište nám" and texts["input_placeholder"] == "Napište zprávu…"


async def test_languages_without_a_catalogue_get_english(client, new_site, handle):
    site = await new_site(language="sk")
    body = await settings(client, site)
    assert body["design"]["texts"] == {"title": "Chat with us"}
