"""The small, fixed "world" every chunk draws on: sites, carriers, vendors, employees,
currencies and their rates, the calendar of the run, and the volumes per site and day.

It is built once per run (a few thousand rows at most even for 50 sites × 3 years) from
its own random streams, so the big domains can be generated chunk by chunk against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from flows.contract import ENTITY_BY_NAME
from flows.generate.seeds import Stream, rng_for
from flows.generate.text import DAY_US, US, civil
from flows.generate.zones import ZoneTable

EPOCH = date(1970, 1, 1)

#: Site time zones, cycled: both hemispheres' DST early on (Chicago, Berlin, Sydney),
#: zones without DST, a half-hour offset (Kolkata) and a late DST switch (Auckland).
SITE_ZONES: tuple[tuple[str, str, str, str, str], ...] = (
    # timezone, country, currency, region, city
    ("America/Chicago", "US", "USD", "Americas", "Chicago"),
    ("Europe/Berlin", "DE", "EUR", "EMEA", "Berlin"),
    ("Australia/Sydney", "AU", "AUD", "APAC", "Sydney"),
    ("Asia/Singapore", "SG", "SGD", "APAC", "Singapore"),
    ("America/New_York", "US", "USD", "Americas", "Newark"),
    ("Europe/London", "GB", "GBP", "EMEA", "Daventry"),
    ("America/Los_Angeles", "US", "USD", "Americas", "Ontario CA"),
    ("Asia/Tokyo", "JP", "JPY", "APAC", "Narita"),
    ("Asia/Kolkata", "IN", "INR", "APAC", "Bhiwandi"),
    ("Pacific/Auckland", "NZ", "NZD", "APAC", "Auckland"),
    ("Europe/Madrid", "ES", "EUR", "EMEA", "Zaragoza"),
    ("America/Denver", "US", "USD", "Americas", "Denver"),
    ("America/Sao_Paulo", "BR", "BRL", "Americas", "Cajamar"),
    ("Africa/Johannesburg", "ZA", "ZAR", "EMEA", "Midrand"),
    ("America/Toronto", "CA", "CAD", "Americas", "Mississauga"),
    ("Asia/Shanghai", "CN", "CNY", "APAC", "Kunshan"),
)

#: USD per unit at the start of any run (then a daily random walk).
BASE_USD_PER_UNIT: dict[str, float] = {
    "EUR": 1.08, "GBP": 1.27, "AUD": 0.66, "SGD": 0.74, "JPY": 0.0067, "INR": 0.012,
    "NZD": 0.60, "BRL": 0.19, "ZAR": 0.055, "CAD": 0.73, "CNY": 0.14, "CHF": 1.12,
    "SEK": 0.095, "USD": 1.0,
}

#: Spend categories: (name, typical unit price USD, typical qty, non-PO share).
CATEGORIES: tuple[tuple[str, float, float, bool], ...] = (
    ("packaging", 2.5, 400.0, False),
    ("maintenance", 180.0, 3.0, False),
    ("it", 450.0, 2.0, True),
    ("facilities", 900.0, 1.0, True),
    ("office", 35.0, 20.0, True),
    ("safety", 45.0, 25.0, False),
    ("utilities", 2500.0, 1.0, True),
    ("freight_services", 320.0, 4.0, False),
)

ROLES: tuple[tuple[str, str], ...] = (
    # role, usual activity
    ("picker", "picking"), ("picker", "picking"), ("packer", "packing"),
    ("receiver", "receiving"), ("shipper", "shipping"), ("driver", "driving"),
    ("admin", "admin"), ("supervisor", "other"),
)

@dataclass(frozen=True)
class Volumes:
    """Mean volumes per site (× ``scale``), modest so a 3-site, 90-day demo stays quick."""

    orders_per_day: float = 5.0
    pos_per_day: float = 1.0
    employees_per_site: int = 10
    non_po_invoices_per_month: float = 3.0

    def scaled(self, scale: float) -> Volumes:
        return Volumes(self.orders_per_day * scale, self.pos_per_day * scale,
                       max(3, round(self.employees_per_site * scale)),
                       self.non_po_invoices_per_month * scale)


@dataclass(frozen=True)
class Site:
    index: int
    site_id: str
    name: str
    region: str
    country: str
    timezone: str
    currency: str
    zone: int  # index in World.zones


@dataclass
class World:
    seed: int
    start: date
    days: int
    volumes: Volumes
    sites: list[Site]
    zones: ZoneTable
    currencies: tuple[str, ...]  # every currency code used, USD first
    carriers: dict[str, np.ndarray] = field(default_factory=dict)
    vendors: dict[str, np.ndarray] = field(default_factory=dict)
    employees: dict[str, np.ndarray] = field(default_factory=dict)

    # --- calendar ---------------------------------------------------------------------
    @property
    def start_day(self) -> int:
        return (self.start - EPOCH).days

    @property
    def end_day(self) -> int:
        """First day after the run (exclusive)."""
        return self.start_day + self.days

    @property
    def cutoff_us(self) -> int:
        """The extract instant: nothing dated at or after it is exported."""
        return self.end_day * DAY_US

    @property
    def utc_zone(self) -> int:
        return 0

    @property
    def n_months(self) -> int:
        return self.month_index(np.array([self.end_day - 1]))[0] + 1

    def month_index(self, days: np.ndarray) -> np.ndarray:
        """Months since the run's first month of each day number."""
        y, m, _ = civil(days)
        return (y - self.start.year) * 12 + (m - self.start.month)

    def month_first_day(self, k: int) -> int:
        y, m = divmod(self.start.month - 1 + k, 12)
        return (date(self.start.year + y, m + 1, 1) - EPOCH).days

    def month_label(self, k: int) -> str:
        y, m = divmod(self.start.month - 1 + k, 12)
        return f"{self.start.year + y:04d}-{m + 1:02d}"

    def yymm(self, k: int) -> int:
        y, m = divmod(self.start.month - 1 + k, 12)
        return ((self.start.year + y) % 100) * 100 + m + 1

    def chunk_days(self, k: int) -> np.ndarray:
        """The run's days inside month ``k``."""
        lo = max(self.start_day, self.month_first_day(k))
        hi = min(self.end_day, self.month_first_day(k + 1))
        return np.arange(lo, hi, dtype=np.int64)

    def route(self, zone: np.ndarray | int, utc_us: np.ndarray) -> np.ndarray:
        """Month file of each row: the local month of its instant."""
        return self.month_index(self.zones.local_day(zone, utc_us))

    def wall_to_utc(self, zone: np.ndarray | int, day: np.ndarray,
                    seconds: np.ndarray) -> np.ndarray:
        """Instant of a wall-clock time (local day + seconds after local midnight)."""
        wall = np.asarray(day, np.int64) * DAY_US + np.asarray(seconds, np.int64) * US
        return self.zones.to_utc_us(zone, wall)

    def fx_base(self, currency: str) -> float:
        return BASE_USD_PER_UNIT[currency]


def _width(n: int) -> int:
    return max(2, len(str(n)))


def build_world(seed: int, sites: int, days: int, start: date, scale: float = 1.0) -> World:
    """Sites, carriers, vendors and employees of a run (small, held in memory)."""
    if sites < 1 or days < 1:
        raise ValueError("sites and days must be at least 1")
    volumes = Volumes().scaled(scale)
    zone_names = ["UTC", *sorted({SITE_ZONES[i % len(SITE_ZONES)][0] for i in range(sites)})]
    zones = ZoneTable(zone_names, start - timedelta(days=400), start + timedelta(days=days + 400))
    w = _width(sites)
    site_list: list[Site] = []
    for i in range(sites):
        tz, country, currency, region, city = SITE_ZONES[i % len(SITE_ZONES)]
        round_ = i // len(SITE_ZONES)
        name = f"{city} DC" + (f" {round_ + 1}" if round_ else "")
        site_list.append(Site(i, f"S{i + 1:0{w}d}", name, region, country, tz, currency,
                              zone_names.index(tz)))
    site_currencies = {s.currency for s in site_list}
    vendor_pool = sorted(site_currencies | {"USD", "EUR", "CHF"})
    currencies = ("USD", *sorted(set(vendor_pool) - {"USD"}))
    world = World(seed, start, days, volumes, site_list, zones, currencies)
    world.carriers = _carriers(seed, sites)
    world.vendors = _vendors(seed, world, vendor_pool)
    world.employees = _employees(seed, world)
    return world


def _carriers(seed: int, sites: int) -> dict[str, np.ndarray]:
    rng = rng_for(seed, Stream.CARRIERS)
    n = 5 + sites // 10
    names = np.array([f"{a} {b}" for a, b in zip(
        rng.choice(["Swift", "Blue Line", "Northstar", "Rapid", "Atlas", "Meridian", "Orbit"], n),
        rng.choice(["Freight", "Express, Ltd.", "Logistics", "Haulage", "Couriers"], n),
        strict=True)])
    modes = np.arange(n) % len(allowed("carriers", "mode"))
    target = np.round(rng.uniform(0.90, 0.97, n), 2)
    return {
        "carrier_id": np.array([f"C{k + 1:02d}" for k in range(n)]),
        "carrier_name": names,
        "mode": modes,
        "on_time_target": (target * 100).astype(np.int64),  # scale 2
        "target_known": np.arange(n) != n - 1,  # the last carrier has no contracted target
    }


def _vendors(seed: int, world: World, pool: list[str]) -> dict[str, np.ndarray]:
    rng = rng_for(seed, Stream.VENDORS)
    n = 6 + 2 * len(world.sites)
    cat = np.arange(n) % len(CATEGORIES)
    rng.shuffle(cat)
    country_of = {s.currency: s.country for s in world.sites} | {
        "USD": "US", "EUR": "DE", "CHF": "CH"}
    cur = rng.choice(np.array(pool), n)
    first = rng.choice(["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli",
                        "Vandelay", "Tyrell", "Soylent", "Cyberdyne", "Wonka"], n)
    kind = [CATEGORIES[c][0].replace("_", " ").title() for c in cat]
    suffix = rng.choice(["Inc.", "GmbH", "Ltd.", "Pty Ltd", "S.A.", "& Sons, Inc.", "KK"], n)
    return {
        "vendor_id": np.array([f"V{k + 1:03d}" for k in range(n)]),
        "vendor_name": np.array([f"{a} {b} {c}" for a, b, c in zip(first, kind, suffix,
                                                                    strict=True)]),
        "category": cat,
        "currency": cur,
        "country": np.array([country_of.get(c, "US") for c in cur]),
        "terms": rng.choice(np.array([15, 30, 30, 45, 60, 90]), n),
        "lead_days": rng.integers(3, 22, n),
    }


def _employees(seed: int, world: World) -> dict[str, np.ndarray]:
    """Staff of every site: role, contract, shift, hire date, pay review month, rate."""
    cols: dict[str, list] = {k: [] for k in (
        "employee_id", "site", "role", "type", "hire_day", "night", "floater", "start_min",
        "pattern", "review_month", "rate")}
    w = _width(len(world.sites))
    for site in world.sites:
        rng = rng_for(seed, Stream.EMPLOYEES, site.index)
        n = max(3, round(world.volumes.employees_per_site * rng.uniform(0.8, 1.2)))
        role = rng.integers(0, len(ROLES), n)
        role[0] = ROLES.index(("supervisor", "other"))
        type_ = rng.choice(3, n, p=[0.72, 0.18, 0.10])  # full_time, part_time, temporary
        type_[0] = 0
        hired_during = rng.random(n) < 0.10
        hired_during[:2] = False
        hire = np.where(hired_during,
                        world.start_day + rng.integers(0, max(1, world.days), n),
                        world.start_day - rng.integers(30, 3000, n))
        night = (rng.random(n) < 0.15) & (type_ != 1)
        start_min = np.where(night, 22 * 60, rng.choice([6 * 60, 7 * 60, 8 * 60, 14 * 60], n))
        # weekly pattern bit mask, Monday = bit 0
        weekdays = 0b0011111
        pattern = np.where(rng.random(n) < 0.2, 0b0111110, weekdays)
        part = np.array([sum(1 << d for d in rng.choice(6, 3, replace=False)) for _ in range(n)])
        pattern = np.where(type_ == 1, part, pattern)
        floater = np.zeros(n, bool)
        if len(world.sites) > 1:
            floater[1] = True  # works Saturdays at the next site: two sites in one ISO week
            pattern[1] = weekdays
            type_[1] = 0
            night[1] = False
            start_min[1] = 7 * 60
        review = rng.integers(1, 13, n)
        review[0] = world.start.month  # a raise inside the first month of every run
        base = {"USD": 19.0, "EUR": 17.0, "AUD": 30.0, "SGD": 14.0, "GBP": 14.5, "JPY": 1300.0,
                "INR": 180.0, "NZD": 26.0, "BRL": 12.0, "ZAR": 45.0, "CAD": 24.0,
                "CNY": 32.0}[site.currency]
        mult = np.array([1.0, 1.0, 1.0, 1.02, 1.04, 1.15, 1.05, 1.35])[role]
        rate = np.round(base * mult * rng.uniform(0.92, 1.12, n), 2)
        cols["employee_id"] += [f"E{site.index + 1:0{w}d}{k + 1:03d}" for k in range(n)]
        cols["site"] += [site.index] * n
        for key, arr in (("role", role), ("type", type_), ("hire_day", hire), ("night", night),
                         ("floater", floater), ("start_min", start_min), ("pattern", pattern),
                         ("review_month", review), ("rate", (rate * 100).astype(np.int64))):
            cols[key] += arr.tolist()
    return {k: np.array(v) for k, v in cols.items()}


def allowed(entity: str, column: str) -> tuple[str, ...]:
    """The contract's allowed values of a column (the generator never re-types them)."""
    values = ENTITY_BY_NAME[entity].column(column).allowed
    if values is None:
        raise ValueError(f"{entity}.{column} has no allowed set")
    return values
