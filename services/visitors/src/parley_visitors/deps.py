"""FastAPI dependencies of the visitors service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from parley_common.security import client_ip
from parley_visitors.client_info import CountryLookup
from parley_visitors.config import VisitorsSettings, get_visitors_settings
from parley_visitors.presence import Presence
from parley_visitors.widget_sessions import Client


def get_presence(request: Request) -> Presence:
    presence: Presence = request.app.state.presence
    return presence


def get_countries(request: Request) -> CountryLookup:
    countries: CountryLookup = request.app.state.countries
    return countries


def get_client(request: Request) -> Client:
    return Client(
        origin=request.headers.get("origin"),
        user_agent=request.headers.get("user-agent"),
        ip=client_ip(request),
    )


PresenceDep = Annotated[Presence, Depends(get_presence)]
CountriesDep = Annotated[CountryLookup, Depends(get_countries)]
ClientDep = Annotated[Client, Depends(get_client)]
VisitorsSettingsDep = Annotated[VisitorsSettings, Depends(get_visitors_settings)]
