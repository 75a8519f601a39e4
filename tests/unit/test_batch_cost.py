"""The batch job cost estimate: one dated price table, labelled as an estimate."""

from __future__ import annotations

from decimal import Decimal

from aws_copy_pt.core.batch_cost import PRICES, estimate_batch, usd


def test_one_job_of_a_million_objects_costs_a_job_fee_a_dollar_and_the_requests() -> None:
    cost = estimate_batch(1_000_000)
    assert cost.job_fees == Decimal("0.25")
    assert cost.object_fees == Decimal("1.00")
    assert cost.copy_requests == 1_000_000
    assert cost.list_requests == 3_000 + 4  # plan (2) + verify (1) per 1,000, and job files
    assert cost.request_charges == Decimal(1_003_004) / 1000 * Decimal("0.005")
    assert cost.total == cost.batch_fees + cost.request_charges


def test_nothing_to_copy_needs_no_job_and_costs_nothing() -> None:
    cost = estimate_batch(0)
    assert (cost.jobs, cost.total) == (0, Decimal(0))


def test_the_estimate_names_its_prices_date_and_source() -> None:
    cost = estimate_batch(100_000)
    label = cost.label
    assert "estimate" in label and PRICES.as_of in label and "aws.amazon.com/s3/pricing" in label
    assert cost.as_dict()["estimate"] is True
    lines = dict(cost.lines())
    assert lines["jobs"] == "1 x $0.25 = $0.25"
    assert lines["objects processed"].endswith("= $0.10")


def test_small_amounts_keep_their_significant_digits() -> None:
    assert usd(Decimal("0.0005")) == "$0.0005"
    assert usd(Decimal("1234.567")) == "$1,234.57"
    assert usd(Decimal(0)) == "$0.00"
