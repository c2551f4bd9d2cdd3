"""The small, fixed "world" every chunk draws on: sites, carriers, vendors, employees,
the SKUs each site stocks, currencies and their rates, the calendar of the run, and the
volumes per site and day.

It is built once per run (a few thousand rows at most even for 50 sites × 3 years) from
its own random streams, so the big domains can be generated chunk by chunk against it.
None of it depends on the run's length: the staff on the first day come from a stream
per site, and each month's leavers and hires from a stream per (site, month), appended
month by month, so a longer run only adds to the roster.
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

#: Share of a site's staff hired (and, as many, leaving) per month.
MONTHLY_TURNOVER = 0.02
#: No leaving day (employed beyond any run).
NEVER = 1 << 40
#: Replenishment cycles of a stocked SKU, in days.
CYCLES = np.array([7, 14, 21, 28])
#: A currency the fx feed has no rates for: consignment stock costed by its supplier.
NO_RATE_CURRENCY = "MXN"
NO_RATE_USD_PER_UNIT = 0.058


@dataclass(frozen=True)
class Volumes:
    """Mean volumes per site (× ``scale``), modest so a 3-site, 90-day demo stays quick."""

    orders_per_day: float = 5.0
    pos_per_day: float = 1.0
    employees_per_site: int = 10
    non_po_invoices_per_month: float = 3.0
    skus_per_site: int = 24
    tickets_per_day: float = 2.0

    def scaled(self, scale: float) -> Volumes:
        return Volumes(self.orders_per_day * scale, self.pos_per_day * scale,
                       max(3, round(self.employees_per_site * scale)),
                       self.non_po_invoices_per_month * scale,
                       max(12, round(self.skus_per_site * scale)),
                       self.tickets_per_day * scale)


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
    catalogues: list[dict[str, np.ndarray]] = field(default_factory=list)  # per site

    # --- calendar ---------------------------------------------------------------------
    @property
    def start_day(self) -> int:
        return (self.start - EPOCH).days

    @property
    def end_day(self) -> int:
        """First day after the run (exclusive)."""
        return self.start_day + self.days

    def cutoff_at(self, zone: np.ndarray | int) -> np.ndarray:
        """The extract instant of a zone: midnight after the run's last day, there (each
        site exports at the end of its own day; UTC for the entities without a site).
        Nothing updated at or after it is exported, so a site-local month that the run
        completes is exported whole, whatever follows it."""
        zone = np.atleast_1d(np.asarray(zone, np.int64))
        return self.wall_to_utc(zone, np.full(zone.shape, self.end_day), np.zeros(zone.shape))

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

    def month_days(self, k: int) -> np.ndarray:
        """Every day of month ``k`` from the run's start, even past its end: what a
        month draws must not depend on where the run stops (the export cut-off drops
        what has not happened yet)."""
        lo = max(self.start_day, self.month_first_day(k))
        return np.arange(lo, self.month_first_day(k + 1), dtype=np.int64)

    def staff(self, site: Site, first_day: int, last_day: int) -> np.ndarray:
        """Indexes of the site's employees on staff from ``first_day`` to ``last_day``
        (inclusive) at least for a day: hired by the last day, not left before the first."""
        e = self.employees
        return np.flatnonzero((e["site"] == site.index) & (e["hire_day"] <= last_day)
                              & (e["leave_day"] > first_day))

    @staticmethod
    def weekly_snapshots(site: Site) -> bool:
        """Every third site's WMS sends inventory balances on Sundays only (the others
        daily), so the daily inventory carries the last snapshot forward."""
        return site.index % 3 == 1

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
    world.catalogues = [_catalogue(seed, world, site) for site in world.sites]
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


_STAFF_FIELDS = ("employee_id", "site", "role", "type", "hire_day", "leave_day", "night",
                 "floater", "start_min", "pattern", "review_month", "rate")
_WEEKDAYS = 0b0011111  # weekly pattern bit mask, Monday = bit 0
_BASE_RATE = {"USD": 19.0, "EUR": 17.0, "AUD": 30.0, "SGD": 14.0, "GBP": 14.5, "JPY": 1300.0,
              "INR": 180.0, "NZD": 26.0, "BRL": 12.0, "ZAR": 45.0, "CAD": 24.0, "CNY": 32.0}


def _traits(rng: np.random.Generator, site: Site, role: np.ndarray,
            type_: np.ndarray) -> dict[str, np.ndarray]:
    """Shift, weekly pattern, pay review month and hourly rate (cents) of new staff."""
    n = role.size
    night = (rng.random(n) < 0.15) & (type_ != 1)
    start_min = np.where(night, 22 * 60, rng.choice([6 * 60, 7 * 60, 8 * 60, 14 * 60], n))
    pattern = np.where(rng.random(n) < 0.2, 0b0111110, _WEEKDAYS)
    part = np.array([sum(1 << d for d in rng.choice(6, 3, replace=False)) for _ in range(n)],
                    dtype=np.int64)
    pattern = np.where(type_ == 1, part, pattern)
    review = rng.integers(1, 13, n)
    mult = np.array([1.0, 1.0, 1.0, 1.02, 1.04, 1.15, 1.05, 1.35])[role]
    rate = np.round(_BASE_RATE[site.currency] * mult * rng.uniform(0.92, 1.12, n), 2)
    return {"role": role, "type": type_, "night": night, "floater": np.zeros(n, bool),
            "start_min": start_min, "pattern": pattern, "review_month": review,
            "rate": (rate * 100).astype(np.int64)}


def _initial_staff(seed: int, world: World, site: Site) -> dict[str, np.ndarray]:
    """The site's staff on the run's first day (all hired before it)."""
    rng = rng_for(seed, Stream.EMPLOYEES, site.index)
    n = max(3, round(world.volumes.employees_per_site * rng.uniform(0.8, 1.2)))
    role = rng.integers(0, len(ROLES), n)
    role[0] = ROLES.index(("supervisor", "other"))
    type_ = rng.choice(3, n, p=[0.72, 0.18, 0.10])  # full_time, part_time, temporary
    type_[0] = 0
    if len(world.sites) > 1:
        type_[1] = 0  # the floater (below) is full-time
    hire = world.start_day - rng.integers(30, 3000, n)
    staff = _traits(rng, site, role, type_)
    if len(world.sites) > 1:
        # works Saturdays at the next site too: two sites in one ISO week
        staff["floater"][1] = True
        staff["pattern"][1] = _WEEKDAYS
        staff["night"][1] = False
        staff["start_min"][1] = 7 * 60
    staff["review_month"][0] = world.start.month  # a raise inside the first month of every run
    return {**staff, "hire_day": hire, "leave_day": np.full(n, NEVER)}


def _turnover(seed: int, world: World, site: Site, k: int, cols: dict[str, list],
              members: list[int]) -> dict[str, np.ndarray]:
    """Month ``k`` at a site: a few leave (their leave_day is set in ``cols``) and as many
    are hired. Drawn from the (seed, site, month) stream over the whole calendar month,
    so the roster of a month never depends on how long the run is."""
    rng = rng_for(seed, Stream.HIRES, site.index, k)
    lo, hi = max(world.start_day, world.month_first_day(k)), world.month_first_day(k + 1)
    n = int(rng.poisson(world.volumes.employees_per_site * MONTHLY_TURNOVER))
    leave, hire_day = cols["leave_day"], cols["hire_day"]
    first = members[0]  # the site's supervisor stays, and so does the floater
    leavers = [g for g in members if g != first and not cols["floater"][g]
               and leave[g] == NEVER and hire_day[g] < lo]
    for g in rng.choice(np.array(leavers, dtype=np.int64), min(n, len(leavers)), replace=False):
        leave[int(g)] = lo + int(rng.integers(0, hi - lo))
    role = rng.integers(0, len(ROLES), n)
    type_ = rng.choice(3, n, p=[0.6, 0.2, 0.2])
    hired = lo + rng.integers(0, hi - lo, n)
    return {**_traits(rng, site, role, type_), "hire_day": hired,
            "leave_day": np.full(n, NEVER)}


def _employees(seed: int, world: World) -> dict[str, np.ndarray]:
    """Staff of every site (role, contract, shift, hire and leaving day, pay review month,
    rate): first everyone employed at the start, then month by month the hires. This
    order keeps an employee's index, and so every stream keyed by it, independent of
    the run's length."""
    cols: dict[str, list] = {k: [] for k in _STAFF_FIELDS}
    members: dict[int, list[int]] = {s.index: [] for s in world.sites}
    counts = dict.fromkeys(members, 0)
    w = _width(len(world.sites))

    def add(site: Site, staff: dict[str, np.ndarray]) -> None:
        n = staff["role"].size
        first = len(cols["employee_id"])
        cols["employee_id"] += [f"E{site.index + 1:0{w}d}{counts[site.index] + j + 1:03d}"
                                for j in range(n)]
        counts[site.index] += n
        cols["site"] += [site.index] * n
        for key in _STAFF_FIELDS[2:]:
            cols[key] += staff[key].tolist()
        members[site.index] += list(range(first, first + n))

    for site in world.sites:
        add(site, _initial_staff(seed, world, site))
    for k in range(world.n_months):
        for site in world.sites:
            add(site, _turnover(seed, world, site, k, cols, members[site.index]))
    return {k: np.array(v) for k, v in cols.items()}


def _catalogue(seed: int, world: World, site: Site) -> dict[str, np.ndarray]:
    """The SKUs a site stocks, most popular first (order lines pick SKU ``i`` with
    probability √((i+1)/n) − √(i/n)), with their replenishment cycle and costs.

    Stock follows a saw-tooth: filled up to ``top`` every ``cycle`` days, then drawn down
    at ``rate`` units a day; a SKU whose top covers less than its cycle sells out before
    it is replenished. A tenth are kept in kg (fractional balances). Costs are in the
    site's currency (unit cost scaled by 10⁴, selling price by 10²), except for a
    consignment SKU at every other site, costed in a currency without fx rates.
    """
    rng = rng_for(seed, Stream.CATALOGUE, site.index)
    n = world.volumes.skus_per_site
    universe = max(100, 4 * n)  # SKU numbers shared between sites
    sku = rng.choice(np.arange(1, universe + 1), n, replace=False).astype(np.int64)
    i = np.arange(n)
    share = np.sqrt((i + 1) / n) - np.sqrt(i / n)
    units_per_day = world.volumes.orders_per_day * 1.7 * 10  # lines per order × units
    rate = units_per_day * share * rng.uniform(0.8, 1.2, n)
    cycle = rng.choice(CYCLES, n)
    top = np.ceil(rate * cycle * rng.uniform(0.85, 1.5, n))
    cost_usd = rng.lognormal(np.log(8.0), 1.0, n)
    fx = world.fx_base(site.currency)
    price = np.maximum(1, np.round(cost_usd * rng.uniform(1.4, 2.2, n) / fx * 100))
    keep_zero = rng.random(n) < 0.35  # listed with 0 on hand when sold out
    by_weight = rng.random(n) < 0.1  # kept in kg: fractional balances
    # every other site holds its least popular SKU on consignment, costed in a currency
    # without fx rates (its inventory value has no USD amount)
    no_rate = (i == n - 1) & (site.index % 2 == 0)
    cost_fx = np.where(no_rate, NO_RATE_USD_PER_UNIT, fx)
    return {
        "sku": sku, "rate": rate, "cycle": cycle.astype(np.int64),
        "phase": rng.integers(0, int(CYCLES.max()), n), "top": top,
        "cost": np.maximum(1, np.round(cost_usd / cost_fx * 1e4)).astype(np.int64),
        "price": price.astype(np.int64), "keep_zero": keep_zero, "by_weight": by_weight,
        "no_rate": no_rate,
    }


def sku_pick(draw: np.ndarray, n: int) -> np.ndarray:
    """Catalogue index of a uniform draw in 1..4999 (the popular SKUs first)."""
    d = np.asarray(draw, np.int64) - 1
    return (d * d * n) // (4999 * 4999)


def allowed(entity: str, column: str) -> tuple[str, ...]:
    """The contract's allowed values of a column (the generator never re-types them)."""
    values = ENTITY_BY_NAME[entity].column(column).allowed
    if values is None:
        raise ValueError(f"{entity}.{column} has no allowed set")
    return values
