"""The generated Python client against a running Parley: sign up, log in, list conversations,
and read a 422 and a 404 as typed problems.

    PYTHONPATH=clients/generated/python python clients/examples/check.py http://127.0.0.1:8000
"""

from __future__ import annotations

import sys
import uuid

from parley_client import AuthenticatedClient, Client
from parley_client.api.auth import auth_login, auth_signup
from parley_client.api.conversations import conversations_get, conversations_list
from parley_client.models import ConversationPage, LoginIn, Problem, SignupIn, TokensOut


def main(base_url: str) -> None:
    email = f"sdk-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery"
    with Client(base_url=base_url, raise_on_unexpected_status=True) as client:
        signup = auth_signup.sync_detailed(
            client=client, body=SignupIn(email=email, password=password, name="Sam SDK")
        )
        assert signup.status_code == 201 and isinstance(signup.parsed, TokensOut), signup

        short = auth_signup.sync_detailed(
            client=client, body=SignupIn(email=email, password="short", name="Sam SDK")
        )
        problem = short.parsed
        assert short.status_code == 422 and isinstance(problem, Problem), short
        assert problem.code == "validation_error" and problem.errors, problem
        assert problem.errors[0].loc == ["body", "password"], problem.errors

        login = auth_login.sync(client=client, body=LoginIn(email=email, password=password))
        assert isinstance(login, TokensOut), login

    with AuthenticatedClient(base_url=base_url, token=login.access_token) as agent:
        page = conversations_list.sync(client=agent)
        assert isinstance(page, ConversationPage) and page.items == [], page

        missing = conversations_get.sync_detailed(client=agent, conversation_id=uuid.uuid4())
        assert missing.status_code == 404 and isinstance(missing.parsed, Problem), missing
        assert missing.parsed.code == "conversation_not_found", missing.parsed
    print("python client: ok")


if __name__ == "__main__":
    main(sys.argv[1])
