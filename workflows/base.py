"""The base of every model that crosses the workflow boundary, and the aware-datetime type they share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _aware(value: datetime) -> datetime:
    # The API refuses times without a zone; anything that still gets here is taken as UTC, so comparing
    # times can never fail inside the reducer.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


When = Annotated[datetime, AfterValidator(_aware)]
