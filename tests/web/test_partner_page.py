"""The partner's dashboard page reads the kept totals; the whole hash chain is checked only
when asked for."""

from __future__ import annotations

from tests.web.conftest import Web


async def test_the_page_shows_the_ledger_head_and_verifies_the_chain_on_request(web: Web) -> None:
    async with web.signed_in("partner") as partner:
        page = await partner.get(f"/partner/{web.site.campaign}")
        assert page.status_code == 200
        assert 'id="ledger-head"' in page.text and 'id="ledger-ok"' not in page.text
        checked = await partner.get(f"/partner/{web.site.campaign}", params={"verify": "1"})
        assert checked.status_code == 200 and 'id="ledger-ok"' in checked.text


async def test_pledges_show_what_they_would_owe_now(web: Web) -> None:
    async with web.signed_in("partner") as partner:
        d = (await partner.get(f"/api/v1/campaigns/{web.site.campaign}/dashboard")).json()
    pledges = d["dashboard"]["pledges"]
    assert pledges and all("owed_fen" in p for p in pledges)
    assert sum(p["owed_fen"] for p in pledges) == d["dashboard"]["overall"]["funded_fen"]
    assert "head_hash" not in d["dashboard"]["campaign"]
