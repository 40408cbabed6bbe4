"""Input models of the API: parsed and bounded before any service sees them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(Form):
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(20, ge=1, le=100)


class SignUp(Form):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    display_name: str = Field(min_length=1, max_length=64)
    compound_id: int = Field(ge=1, le=2**31 - 1)
    birth_year: int | None = Field(None, ge=1900, le=2100)
    public_board: bool = True


class Login(Form):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class TokenGrant(Login):
    name: str = Field("api", min_length=1, max_length=64)


class NewToken(Form):
    name: str = Field(min_length=1, max_length=64)


class PasswordChange(Form):
    old: str = Field(min_length=1, max_length=256)
    new: str = Field(min_length=1, max_length=256)


class Erase(Form):
    password: str = Field(min_length=1, max_length=256)


class Redeem(Form):
    reward_id: int = Field(ge=1, le=2**31 - 1)
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    slot: str | None = Field(None, max_length=32)


class Review(Form):
    accept: bool
    note: str = Field("", max_length=500)


class BulkReview(Review):
    run_ids: list[int] = Field(min_length=1, max_length=100)


class Code(Form):
    code: str = Field(min_length=4, max_length=16, pattern=r"^[A-Za-z0-9]+$")


class Language(Form):
    lang: Literal["zh-CN", "en"]


class BoardQuery(Page):
    window: str = Field("campaign", pattern=r"^(campaign|week|month)$")
    metric: Literal["m", "pc", "pr"] = "m"


class RankQuery(Form):
    campaign: str = Field(min_length=1, max_length=64)
    window: str = Field("campaign", pattern=r"^(campaign|week|month)$")


class NewReward(Form):
    compound_id: int = Field(ge=1, le=2**31 - 1)
    name_zh: str = Field(min_length=1, max_length=128)
    name_en: str = Field(min_length=1, max_length=128)
    points_price: int = Field(ge=1, le=1_000_000)
    stock: int = Field(ge=0, le=1_000_000)
    needs_slot: bool = False


class Restock(Form):
    add: int = Field(ge=1, le=1_000_000)
