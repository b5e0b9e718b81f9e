"""The event catalogue is the one place events are described: it must match the code."""

from __future__ import annotations

import json
import subprocess
import sys

from parley_common.definition import load_service, service_names
from parley_common.events.catalogue import CATALOGUE, asyncapi_document


def handled_by_service() -> dict[str, set[str]]:
    """Event type → the services whose consumers actually handle it."""
    handled: dict[str, set[str]] = {}
    for name in service_names():
        for consumer in load_service(name).consumers:
            for event_type in consumer.handlers:
                handled.setdefault(event_type, set()).add(name)
    return handled


def test_every_consumed_event_is_in_the_catalogue() -> None:
    unknown = set(handled_by_service()) - set(CATALOGUE)
    assert unknown == set()


def test_catalogue_names_the_consumers_the_code_has() -> None:
    handled = handled_by_service()
    for event_type, spec in CATALOGUE.items():
        # The gateway's stream takes every event from one queue bound to '#'.
        listed = set(spec.consumers) - {"gateway"}
        assert listed == handled.get(event_type, set()), event_type


def test_every_event_is_produced_by_a_service_that_exists() -> None:
    services = set(service_names())
    assert {spec.producer for spec in CATALOGUE.values()} <= services


def test_asyncapi_document_lists_every_event() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "parley_common.cli", "asyncapi"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    document = json.loads(out)
    assert document == json.loads(json.dumps(asyncapi_document(), default=str))
    assert document["asyncapi"].startswith("3.")
    names = {m["name"] for m in document["components"]["messages"].values()}
    assert names == set(CATALOGUE)
