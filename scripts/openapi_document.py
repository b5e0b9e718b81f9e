"""The merged OpenAPI document, built in this process from every service's app (no servers
needed): what `make sdk` generates clients from and the contract tests check. The gateway
serves the same merge at /openapi.json from the running services.

    uv run python scripts/openapi_document.py [OUT.json]
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

from parley_common.events.catalogue import openapi_webhooks
from parley_gateway.app import create_app
from parley_gateway.config import SERVICES
from parley_gateway.openapi import merge_documents, websocket_paths


def build() -> dict[str, Any]:
    services = {s: importlib.import_module(f"parley_{s}.app").app.openapi() for s in SERVICES}
    gateway = create_app().app
    document = merge_documents(gateway.openapi(), services)
    document["paths"].update(websocket_paths(gateway))
    document["webhooks"] = openapi_webhooks()
    return document


if __name__ == "__main__":
    text = json.dumps(build(), indent=2)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as out:
            out.write(text + "\n")
    else:
        print(text)
