"""What an S3 Batch Operations copy job costs, estimated before it is created (pure).

Every price lives in :data:`PRICES`, one dated table with its source. They are list prices of
US East (N. Virginia) for S3 Standard, written down on the date shown; other regions and storage
classes differ, and AWS changes prices. Everything computed here is an **estimate** and is
labelled so wherever it is shown.

What a batch copy adds to a local copy is the Batch Operations fee: a fee per job and a fee per
object the job processes. The requests themselves (one COPY per object, listings to plan and
verify) are billed the same whichever engine makes them; the estimate shows them so the total
is not a surprise.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

LIST_PAGE = 1000  # keys per ListObjectsV2 page
# Listings per 1,000 objects: plan (staging and destination) and verify (destination).
LISTINGS_PER_PAGE = 3
JOB_FILE_REQUESTS = 4  # PUT manifest, the job's GET of it, LIST + GET of the report (about)


@dataclass(frozen=True)
class PriceTable:
    """List prices in USD, as of ``as_of``, from ``source``."""

    as_of: str
    region: str
    source: str
    per_job: Decimal
    per_million_objects: Decimal
    put_copy_list_per_thousand: Decimal  # PUT, COPY, POST, LIST requests (S3 Standard)
    get_per_thousand: Decimal  # GET, SELECT and all other requests (S3 Standard)


PRICES = PriceTable(
    as_of="2026-12-06",
    region="us-east-1",
    source=(
        "https://aws.amazon.com/s3/pricing/ (tabs 'Management & insights' -> S3 Batch "
        "Operations, and 'Requests & data retrievals' -> S3 Standard)"
    ),
    per_job=Decimal("0.25"),
    per_million_objects=Decimal("1.00"),
    put_copy_list_per_thousand=Decimal("0.005"),
    get_per_thousand=Decimal("0.0004"),
)


@dataclass(frozen=True)
class CostEstimate:
    """An estimate of one batch copy: the Batch Operations fees and the request charges."""

    objects: int
    jobs: int
    job_fees: Decimal
    object_fees: Decimal
    copy_requests: int
    list_requests: int
    request_charges: Decimal
    prices: PriceTable

    @property
    def batch_fees(self) -> Decimal:
        return self.job_fees + self.object_fees

    @property
    def total(self) -> Decimal:
        return self.batch_fees + self.request_charges

    def lines(self) -> list[tuple[str, str]]:
        """(what, estimated USD) rows, for a table."""
        prices = self.prices
        return [
            ("jobs", f"{self.jobs} x ${prices.per_job} = {usd(self.job_fees)}"),
            (
                "objects processed",
                f"{self.objects:,} x ${prices.per_million_objects} per million = "
                f"{usd(self.object_fees)}",
            ),
            (
                "requests (same as a local copy)",
                f"{self.copy_requests:,} COPY + {self.list_requests:,} LIST x "
                f"${prices.put_copy_list_per_thousand} per 1,000 = {usd(self.request_charges)}",
            ),
            ("estimated total", usd(self.total)),
        ]

    @property
    def label(self) -> str:
        prices = self.prices
        return (
            f"estimate: {prices.region} list prices as of {prices.as_of} "
            f"({prices.source}); your region and agreements may differ"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "estimate": True,
            "objects": self.objects,
            "jobs": self.jobs,
            "job_fees_usd": str(self.job_fees),
            "object_fees_usd": str(self.object_fees),
            "copy_requests": self.copy_requests,
            "list_requests": self.list_requests,
            "request_charges_usd": str(self.request_charges),
            "total_usd": str(self.total),
            "prices_as_of": self.prices.as_of,
            "prices_region": self.prices.region,
            "prices_source": self.prices.source,
        }


def estimate_batch(objects: int, *, jobs: int = 1, prices: PriceTable = PRICES) -> CostEstimate:
    """The estimated cost of copying ``objects`` objects with ``jobs`` batch jobs."""
    jobs = jobs if objects else 0
    pages = -(-objects // LIST_PAGE)
    lists = pages * LISTINGS_PER_PAGE + (JOB_FILE_REQUESTS * jobs)
    requests = Decimal(objects + lists) / 1000 * prices.put_copy_list_per_thousand
    return CostEstimate(
        objects=objects,
        jobs=jobs,
        job_fees=prices.per_job * jobs,
        object_fees=prices.per_million_objects * objects / 1_000_000,
        copy_requests=objects,
        list_requests=lists,
        request_charges=requests,
        prices=prices,
    )


def usd(amount: Decimal) -> str:
    """``$1.23``; amounts under a cent keep their first significant digits (``$0.0005``)."""
    if amount == 0:
        return "$0.00"
    if amount >= Decimal("0.01"):
        return f"${amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    return f"${amount.normalize():f}"
