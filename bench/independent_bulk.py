"""An independent large batch: many small carrier exports in three spellings, with its truth.

    .venv/bin/python bench/independent_bulk.py gen FOLDER [--lines 1000000] [--services 27000]
    .venv/bin/python bench/independent_bulk.py run FOLDER [--out DIR] [--keep]

`gen` writes FOLDER/invoices/ (one bill, one account and month, per file: about 12 months x
services/25 accounts), FOLDER/inventory.xlsx (one row per service) and FOLDER/truth.json (the
findings planted errors must give: rule, account, invoice, service, money at issue, as
Decimal strings). Written from the README, domain.md and the rules' docstrings only, not from
the project's own generators.

Three carrier portals, three spellings of an export:
- Northwind (A): comma CSV, ISO dates, money as "1,234.50" (quoted), circuit IDs as the
  inventory writes them or with slashes, phones "212-555-0147".
- Bluestem (B): semicolon CSV, MM/DD/YYYY dates, money "$1,234.50" (credits "-$319.35"),
  quantity and unit price columns, IDs with spaces, phones "(212) 555-0147".
- Cascade (C): tab-separated .txt, DD-Mon-YYYY dates, plain money, IDs without punctuation
  (CLCI serial zero-filled to 7 digits), phones "1" + 10 digits, a TOTAL row at the end, and an
  account number printed without the inventory's dashes.

Planted errors (one per service, except where said): unknown-service (phantom IDs),
billed-after-disconnect, missing-disconnect-credit (none or half credited),
billed-before-install (full first cycle, or a cycle before the install), duplicate-charge
(a repeated row, a re-billed period, an installation charged twice, a repeated usage row),
rate-above-contract (an uplift on whole cycles, a whole rate for a first partial month),
invoice-total-mismatch (Cascade's TOTAL row above its lines), missing-invoice (a bill not in
the batch), missing-from-bill (a service left off one bill), unused-service (no calls for the
last months). Legitimate look-alikes, never findings: first bill's partial month plus the next
in advance, prorated disconnect credits on the next or second bill (calendar days or 30-day
months), usage in arrears after a disconnect, a re-billed period credited later, a port and its
access loop adding up to the rate, call detail rows of equal price to different numbers.

`run` audits FOLDER with the installed console script (.venv/bin/reconcile next to this
interpreter), times it (wall, CPU of the child, peak RSS of the child) and compares
findings.json with truth.json per rule.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
FIRST_MONTH = (2025, 11)  # 12 bills: Nov 2025 .. Oct 2026 (inside the default 18 months to today)
MONTHS = 12
CARRIERS = {  # carrier -> (dialect, share of accounts)
    "Northwind Telecom": ("A", 0.40),
    "Bluestem Networks": ("B", 0.35),
    "Cascade Bell": ("C", 0.25),
}
CYCLE_DAYS = [1, 1, 1, 1, 5, 10, 15, 20]
TSC = ["HCGS", "HFGS", "KQGN", "LGFS", "IPZX", "HXFU", "KRGS", "LXGN", "DHEC", "OCGS",
       "HCFS", "KXGS", "LBFS", "DHZF", "HFFS", "SXGN", "TQGS", "VLXP", "MGGS", "EQFS"]
PHANTOM_TSC = ["ZWQY", "YJZV", "QZJX", "WJYZ"]
SUFFIX = ["LY", "LX", "NY", "TX", "CA", "IL", "FL", "PA", "OH", "GA"]
CLLI = ["TAMPFLXA", "NYCMNY18", "CHCGILDT", "DLLSTXTE", "ATLNGAMA", "SNFCCA21", "PHLAPAFG",
        "BSTNMA02", "SEATWAZZ", "MIAMFLBA", "HSTNTXMC", "DNVRCOMA"]
AREA = [212, 312, 415, 617, 713, 305, 404, 206, 303, 215, 646, 718, 972, 469, 512, 602, 702,
        704, 919, 614]
PHANTOM_AREA = [907, 808, 406, 307]
VOICE_PRODUCTS = [("Business Line", "34.95", "62.50"), ("POTS Line", "24.00", "41.00"),
                  ("Analog Fax Line", "29.00", "45.00"), ("Centrex Line", "18.50", "33.00")]
DATA_PRODUCTS = [("MPLS Port 50M", "350.00", "950.00"), ("Dedicated Internet 100M", "450.00",
                  "1450.00"), ("Ethernet Private Line 1G", "900.00", "2850.00"),
                 ("DS1 Access", "180.00", "420.00"), ("SIP Trunk 23 Paths", "320.00", "760.00"),
                 ("DS3 Transport", "1900.00", "4200.00")]
CITIES = ["Chicago", "Boston", "Dallas", "Denver", "Miami", "Seattle", "Atlanta", "Phoenix",
          "Houston", "Newark", "Tampa", "Omaha", "Reno", "Toledo", "Fresno", "Tulsa"]
MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def money(x) -> Decimal:
    return Decimal(x).quantize(CENT, ROUND_HALF_UP)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    m += 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def month_parts(start: date, end: date):
    """(days, days in that month) for each calendar month [start, end] touches."""
    d = start
    while d <= end:
        dim = calendar.monthrange(d.year, d.month)[1]
        last = min(end, date(d.year, d.month, dim))
        yield (last - d).days + 1, dim
        d = last + timedelta(days=1)


def calendar_share(amount: Decimal, start: date, end: date) -> Decimal:
    """amount as a monthly rate over [start, end], by calendar days of each month."""
    return money(sum(amount * days / dim for days, dim in month_parts(start, end)))


def cycle_share(charge: Decimal, start: date, end: date, cycle_start: date, cycle_end: date):
    """A whole cycle's charge over the days [start, end] of the cycle, by the cycle's days.

    Both rules that prorate a cycle's charge (billed-before-install, missing-disconnect-credit)
    say "the charge prorated by calendar days ... (a whole cycle's charge as its monthly
    rate)". For a calendar-month cycle that is one number; for an anniversary cycle (the 20th
    to the 19th) it reads two ways: by the calendar-day share of each month (calendar_share,
    the truth's money) or by the cycle's own days (this, the billing-cycle convention under
    which a credit "settles it"). billed-before-install caps the first by what the days from
    the start date are worth of the cycle's charge (this). Where a reading other than the
    truth's gives another figure it is written beside it as money_other_reading."""
    days = (end - start).days + 1
    return money(charge * days / ((cycle_end - cycle_start).days + 1))


# ---------------------------------------------------------------------------- the model

@dataclass
class Service:
    sid: str            # as the inventory writes it
    shape: str          # serial, facility, phone
    parts: tuple        # the ID's components, for other spellings
    kind: str           # voice or data
    account: str
    carrier: str
    product: str
    rate: Decimal
    install: date
    disconnect: date | None = None
    components: list = field(default_factory=list)  # [(description, amount)] summing to rate
    nrc: Decimal = ZERO
    plant: str = ""     # the one error or look-alike planted on it
    plant_args: dict = field(default_factory=dict)
    phantom: bool = False


@dataclass
class Account:
    number: str          # as the carrier prints it
    inv_number: str      # as the inventory writes it
    carrier: str
    dialect: str
    cycle: int
    services: list = field(default_factory=list)
    phantoms: list = field(default_factory=list)
    missing_month: int | None = None
    total_delta: dict = field(default_factory=dict)   # month -> Decimal over the lines


def bill_dates(acct: Account) -> list[date]:
    y, m = FIRST_MONTH
    first = date(y, m, acct.cycle)
    return [add_months(first, i) for i in range(-1, MONTHS + 1)]  # [prev, 12 bills, next]


def spell(svc: Service, dialect: str) -> str:
    """The ID as a carrier's export writes it."""
    p = svc.parts
    if svc.shape == "phone":
        a, e, n = p
        return {"A": f"{a}-{e}-{n}", "B": f"({a}) {e}-{n}", "C": f"1{a}{e}{n}"}[dialect]
    if svc.shape == "serial":
        pre, tsc, serial, suf = p
        if dialect == "A":
            return svc.sid if int(serial) % 2 else f"{pre}/{tsc}/{serial}/{suf}"
        if dialect == "B":
            return f"{pre} {tsc} {serial} {suf}"
        return f"{pre}{tsc}{int(serial):07d}{suf}"
    num, code, a, z = p   # facility
    if dialect == "A":
        return svc.sid
    if dialect == "B":
        return f"{num}.{code}.{a}.{z}"
    return f"{num}{code}{a}{z}"


class Namer:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.keys: set[str] = set()

    def _unique(self, key: str) -> bool:
        if key in self.keys:
            return False
        self.keys.add(key)
        return True

    def serial(self, phantom=False):
        r = self.rng
        while True:
            pre = str(r.randint(90, 99) if phantom else r.randint(10, 89))
            tsc = r.choice(PHANTOM_TSC if phantom else TSC)
            serial = f"{r.randint(100000, 999999)}"
            suf = r.choice(SUFFIX)
            if self._unique(pre + tsc + serial + suf):
                return f"{pre}.{tsc}.{serial}..{suf}", (pre, tsc, serial, suf)

    def facility(self):
        r = self.rng
        while True:
            num = str(r.randint(101, 9999))
            code = r.choice(["T3Z", "T1Z", "OC3", "T3Y"])
            a, z = r.sample(CLLI, 2)
            a += r.choice(["HZZ", "AKA", "01T", "BB1"])
            z += r.choice(["KAA", "HZZ", "02T", "CC2"])
            if self._unique(num + code + a + z):
                return f"{num}/{code}/{a}/{z}", (num, code, a, z)

    def phone(self, phantom=False):
        r = self.rng
        while True:
            a = str(r.choice(PHANTOM_AREA if phantom else AREA))
            e = str(r.randint(201, 989))
            n = f"{r.randint(0, 9999):04d}"
            if self._unique(a + e + n):
                return f"{a}-{e}-{n}", (a, e, n)


# ---------------------------------------------------------------------------- planning

def plan(lines: int, services: int, seed: int):
    rng = random.Random(seed)
    namer = Namer(rng)
    n_accounts = max(6, round(services / 25))
    accounts: list[Account] = []
    carriers = list(CARRIERS)
    weights = [CARRIERS[c][1] for c in carriers]
    used_numbers = set()
    for i in range(n_accounts):
        carrier = carriers[i % 3] if i < 3 else rng.choices(carriers, weights)[0]
        dialect = CARRIERS[carrier][0]
        while True:
            digits = f"{rng.randint(10**9, 10**10 - 1)}"
            if digits not in used_numbers:
                used_numbers.add(digits)
                break
        if dialect == "A":
            number = inv = digits
        elif dialect == "B":
            number = inv = f"{digits[:4]}-{digits[4:8]}-{digits[8:]}"
        else:
            number, inv = digits, f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
        accounts.append(Account(number, inv, carrier, dialect, rng.choice(CYCLE_DAYS)))
    # services: 25 a account on average, 5 to 45
    sizes = [rng.randint(5, 45) for _ in accounts]
    scale = services / sum(sizes)
    sizes = [max(3, round(s * scale)) for s in sizes]
    sizes[-1] += services - sum(sizes)
    if sizes[-1] < 3:
        sizes[-1] = 3
    for acct, size in zip(accounts, sizes):
        dates = bill_dates(acct)
        for _ in range(size):
            voice = rng.random() < 0.62
            if voice:
                sid, parts = namer.phone()
                shape = "phone"
                product, lo, hi = rng.choice(VOICE_PRODUCTS)
            else:
                shape = "facility" if rng.random() < 0.2 else "serial"
                sid, parts = namer.facility() if shape == "facility" else namer.serial()
                product, lo, hi = rng.choice(DATA_PRODUCTS)
            rate = money(Decimal(rng.randint(int(Decimal(lo) * 2), int(Decimal(hi) * 2))) / 2)
            install = dates[0] - timedelta(days=rng.randint(40, 2500))
            svc = Service(sid, shape, parts, "voice" if voice else "data", acct.inv_number,
                          acct.carrier, product, rate, install)
            if not voice and rng.random() < 0.25:  # port and access loop: two lines of one rate
                loop = money(rate * Decimal(rng.choice([20, 25, 30, 35])) / 100)
                svc.components = [(f"{product} port", rate - loop), ("Access loop", loop)]
            else:
                svc.components = [(product, rate)]
            svc.nrc = Decimal(rng.choice(["50.00", "75.00"]) if voice else
                              rng.choice(["250.00", "500.00", "750.00", "1,000.00"]).replace(",", ""))
            acct.services.append(svc)
    # life events in the year (legitimate): installs and disconnects between bills
    for acct in accounts:
        dates = bill_dates(acct)
        for svc in acct.services:
            x = rng.random()
            # dates[j + 1] is bill j's date: an event between bills j - 1 and j
            if x < 0.05:       # installed between two bills (a first partial month on bill j)
                j = rng.randint(1, MONTHS - 1)
                svc.install = between(rng, dates[j], dates[j + 1])
            elif x < 0.10:     # disconnected between two bills: bill j credits the days after
                j = rng.randint(1, MONTHS - 1)
                svc.disconnect = between(rng, dates[j], dates[j + 1])
                if rng.random() < 0.25 and acct.cycle == 1:
                    svc.plant_args["credit30"] = True      # credit by 30-day months
                if rng.random() < 0.2:
                    svc.plant_args["credit_late"] = True   # credit on the second bill after
    plant_errors(rng, namer, accounts, services)
    return rng, accounts


def between(rng, lo: date, hi: date) -> date:
    """A day strictly between two bill dates (never on one)."""
    return lo + timedelta(days=rng.randint(2, (hi - lo).days - 2))


def plant_errors(rng, namer, accounts, n_services):
    f = n_services / 27000
    stable = [s for a in accounts for s in a.services
              if not s.disconnect and s.install < bill_dates(a)[0]]
    rng.shuffle(stable)
    by_account = {a.inv_number: a for a in accounts}

    def take(pred, n):
        out = []
        for s in stable:
            if len(out) >= n:
                break
            if not s.plant and pred(s):
                out.append(s)
        return out

    def count(x):
        return max(2, round(x * f))

    # accounts with a bill missing: none of their services otherwise planted, no events
    quiet = [a for a in accounts if all(not s.disconnect and s.install < bill_dates(a)[0]
                                        for s in a.services)]
    rng.shuffle(quiet)
    for a in quiet[:count(40)]:
        a.missing_month = rng.randint(2, MONTHS - 3)
        for s in a.services:
            s.plant = "quiet-account"
    single = lambda s: len(s.components) == 1  # noqa: E731
    for s in take(single, count(130)):
        s.plant = "billed-after-disconnect"
        s.plant_args["extra"] = rng.randint(1, 2 if s.kind == "voice" else 3)
        j = rng.randint(1, MONTHS - s.plant_args["extra"])
        s.plant_args["j"] = j
    for s in take(single, count(220)):
        s.plant = "missing-disconnect-credit"
        s.plant_args["j"] = rng.randint(1, MONTHS - 2)
        s.plant_args["half"] = rng.random() < 0.3
    for s in take(single, count(160)):
        s.plant = "billed-before-install"
        s.plant_args["early"] = rng.random() < 0.3
        s.plant_args["j"] = rng.randint(2, MONTHS - 1)
    for kind, n in [("dup-row", 180), ("dup-rebill", 160), ("dup-nrc", 90), ("dup-usage", 170),
                    ("rebill-credited", 120)]:
        pred = (lambda s: s.kind == "voice") if kind == "dup-usage" else single
        for s in take(pred, count(n)):
            s.plant = kind
            s.plant_args["j"] = rng.randint(1, MONTHS - 2)
    for s in take(single, count(170)):
        s.plant = "rate-up"
        s.plant_args["j"] = rng.randint(0, MONTHS - 1)
        s.plant_args["n"] = rng.randint(1, 6)
        s.plant_args["pct"] = rng.choice([5, 8, 10, 12, 15])
    for s in take(lambda s: single(s) and by_account[s.account].cycle == 1, count(60)):
        s.plant = "partial-full-rate"
        s.plant_args["j"] = rng.randint(1, MONTHS - 1)
    for s in take(lambda s: True, count(150)):
        s.plant = "missing-from-bill"
        s.plant_args["j"] = rng.randint(1, MONTHS - 2)
    for s in take(lambda s: s.kind == "voice", count(90)):
        s.plant = "unused"
        s.plant_args["s"] = rng.randint(2, MONTHS - 3)
    # installs that are errors move the install date into the year
    for s in stable:
        a = by_account[s.account]
        dates = bill_dates(a)
        if s.plant in ("billed-before-install", "dup-nrc", "partial-full-rate"):
            j = s.plant_args["j"]
            if s.plant_args.get("early"):   # bill j - 1 bills a cycle that ends before it
                j = s.plant_args["j"] = min(j, MONTHS - 2)
                s.install = between(rng, dates[j + 1], dates[j + 2])
            else:                           # bill j is the first after the install
                s.install = between(rng, dates[j], dates[j + 1])
        elif s.plant in ("billed-after-disconnect", "missing-disconnect-credit"):
            j = s.plant_args["j"]           # bill j is the first after the stop date
            s.disconnect = between(rng, dates[j], dates[j + 1])
    # phantoms: IDs the inventory does not have, billed on 1 to 3 bills
    plain = [a for a in accounts if a.missing_month is None]
    for _ in range(count(260)):
        a = rng.choice(plain)
        voice = rng.random() < 0.4
        sid, parts = namer.phone(phantom=True) if voice else namer.serial(phantom=True)
        rate = money(Decimal(rng.randint(60, 180)) / 2) if voice else \
            money(Decimal(rng.randint(300, 1900)) / 2)
        s = Service(sid, "phone" if voice else "serial", parts, "voice" if voice else "data",
                    a.inv_number, a.carrier, "Unknown", rate, date(2000, 1, 1), phantom=True)
        s.components = [("Business Line" if voice else "Ethernet Access 20M", rate)]
        n = rng.randint(1, 3)
        s.plant_args["j"] = rng.randint(0, MONTHS - n)
        s.plant_args["n"] = n
        a.phantoms.append(s)
    # invoice totals above the lines (Cascade's TOTAL row)
    cascade = [a for a in plain if a.dialect == "C"]
    for _ in range(count(140)):
        a = rng.choice(cascade)
        a.total_delta[rng.randint(0, MONTHS - 1)] = money(Decimal(rng.randint(500, 25000)) / 100)


# ---------------------------------------------------------------------------- the bills

@dataclass
class Line:
    sid: str            # as billed ('' for the account's taxes)
    ctype: str          # mrc, usage, nrc, credit, tax
    desc: str
    start: date | None
    end: date | None
    amount: Decimal
    qty: str = ""
    unit: str = ""


class Writer:
    def __init__(self, rng, accounts, out: Path, usage_mean: float):
        self.rng = rng
        self.accounts = accounts
        self.out = out
        self.usage_mean = usage_mean
        self.truth: list[dict] = []
        self.lines = 0
        self.files = 0
        self.lookalikes: Counter = Counter()   # legitimate patterns written: never findings

    def expect(self, rule, acct, inv, svc, amount, note="", other=None):
        t = {"rule": rule, "account": acct.number, "invoice": inv,
             "service": svc.sid if svc else None,
             "billed_as": spell(svc, acct.dialect) if svc else None,
             "money": str(money(amount)), "note": note}
        if other is not None and money(other) != money(amount):
            t["money_other_reading"] = str(money(other))   # see cycle_share
        self.truth.append(t)

    def usage(self, svc, acct, start, end):
        r = self.rng
        k = max(1, int(r.expovariate(1 / self.usage_mean) + 0.5))
        out, seen = [], set()
        for _ in range(k):
            while True:
                dest = f"({r.randint(201, 989)}) {r.randint(201, 989)}-{r.randint(0, 9999):04d}"
                if dest not in seen:
                    seen.add(dest)
                    break
            mins = r.randint(1, 95)
            unit = r.choice(["0.03", "0.05", "0.07", "0.10"])
            amt = money(mins * Decimal(unit))
            out.append(Line(spell(svc, acct.dialect), "usage",
                            f"LD call to {r.choice(CITIES)} {dest}", start, end, amt,
                            str(mins), unit))
        return out

    def bill(self, acct: Account, i: int):
        """The lines of acct's bill i (0..11) and the truth it adds."""
        dates = bill_dates(acct)
        prev, bd, nxt = dates[i], dates[i + 1], dates[i + 2]
        inv = invoice_number(acct, i)
        lines: list[Line] = []
        voice_mrc = ZERO
        for svc in acct.services:
            got, vm = self.service_lines(acct, svc, i, prev, bd, nxt, inv)
            lines += got
            voice_mrc += vm
        for svc in acct.phantoms:
            j, n = svc.plant_args["j"], svc.plant_args["n"]
            if j <= i < j + n:
                got = [Line(spell(svc, acct.dialect), "mrc", svc.components[0][0], bd,
                            nxt - timedelta(days=1), svc.rate)]
                if svc.kind == "voice":
                    got += self.usage(svc, acct, prev, bd - timedelta(days=1))
                lines += got
                self.expect("unknown-service", acct, inv, svc, sum(x.amount for x in got))
        base = sum((x.amount for x in lines), ZERO)
        lines.append(Line("", "tax", "Federal Universal Service Fund", None, None,
                          money(voice_mrc * Decimal("0.034"))))
        lines.append(Line("", "tax", "State and Local Taxes", None, None,
                          money(base * Decimal("0.0625"))))
        if voice_mrc:
            lines.append(Line("", "tax", "E911 Surcharge", None, None,
                              money(Decimal("0.75") * sum(1 for s in acct.services
                                                          if s.kind == "voice"))))
        return inv, bd, lines

    def service_lines(self, acct, svc, i, prev, bd, nxt, inv):
        """One service's lines on the bill dated bd (previous bill prev, next nxt)."""
        d = acct.dialect
        sid = spell(svc, d)
        day = timedelta(days=1)
        out: list[Line] = []
        p, a = svc.plant, svc.plant_args
        j = a.get("j")

        def mrc(start, end, amount_scale=None):
            res = []
            for desc, amt in svc.components:
                res.append(Line(sid, "mrc", desc, start, end,
                                amt if amount_scale is None else amount_scale(amt)))
            return res

        if p == "missing-from-bill" and i == j:
            self.expect("missing-from-bill", acct, inv, svc, ZERO)
            return [], ZERO
        # before the install: nothing, unless a cycle is billed before it (an error)
        if svc.install > bd:
            if p == "billed-before-install" and a.get("early") and i == j - 1:
                out = mrc(bd, nxt - day)
                self.expect("billed-before-install", acct, inv, svc, svc.rate,
                            "a cycle that ends before the install")
                return out, ZERO
            return [], ZERO
        stop = svc.disconnect
        if stop and stop <= bd:
            dates = bill_dates(acct)
            k = next(n for n, x in enumerate(dates) if x >= stop)   # first bill after the stop
            late = a.get("credit_late") and p != "missing-disconnect-credit"

            def due_for(first_after):
                if a.get("credit30"):
                    return money(svc.rate * (first_after - stop).days / 30)
                return calendar_share(svc.rate, stop, first_after - day)
            if bd == dates[k]:
                # the first bill after the stop date: the advance days credited, trailing usage
                if p == "missing-disconnect-credit":
                    due = calendar_share(svc.rate, stop, bd - day)
                    other = cycle_share(svc.rate, stop, bd - day, prev, bd - day)
                    if a.get("half"):
                        credit = money(due / 2)
                        out.append(Line(sid, "credit", f"{svc.product} prorated credit", stop,
                                        bd - day, -credit))
                        self.expect(p, acct, invoice_number(acct, i - 1), svc, due - credit,
                                    "half credited", other - credit)
                    else:
                        self.expect(p, acct, invoice_number(acct, i - 1), svc, due,
                                    "never credited", other)
                elif not late:
                    out.append(Line(sid, "credit", f"{svc.product} prorated credit", stop,
                                    bd - day, -due_for(bd)))
                    self.lookalikes["disconnect credit on the next bill" +
                                    (" (30-day months)" if a.get("credit30") else "")] += 1
                if svc.kind == "voice":
                    out += self.usage(svc, acct, prev, stop - day)
                    self.lookalikes["usage in arrears after a disconnect"] += 1
            elif late and k + 1 < len(dates) and bd == dates[k + 1]:
                out.append(Line(sid, "credit", f"{svc.product} credit for disconnect", stop,
                                dates[k] - day, -due_for(dates[k])))
                self.lookalikes["disconnect credit on the second bill"] += 1
            if p == "billed-after-disconnect" and j <= i < j + a["extra"]:
                out += mrc(bd, nxt - day)
                self.expect(p, acct, inv, svc, svc.rate)
            return out, ZERO
        # in service on this bill
        voice_mrc = ZERO
        if prev < svc.install:
            # the first bill: a partial cycle from the install, the next cycle in advance
            if p == "billed-before-install" and not a.get("early"):
                out += mrc(prev, bd - day)
                before = calendar_share(svc.rate, prev, svc.install - day)
                worth = cycle_share(svc.rate, svc.install, bd - day, prev, bd - day)
                other = min(before, svc.rate - calendar_share(svc.rate, svc.install, bd - day))
                self.expect(p, acct, inv, svc, min(before, svc.rate - worth),
                            "the whole first cycle billed", other)
            elif p == "partial-full-rate":
                out += mrc(svc.install, bd - day)
                self.expect("rate-above-contract", acct, inv, svc,
                            svc.rate - calendar_share(svc.rate, svc.install, bd - day),
                            "a whole month's rate for a partial month")
            else:
                thirty = acct.cycle == 1 and self.rng.random() < 0.2
                self.lookalikes["first bill: partial cycle plus the next in advance" +
                                (" (30-day months)" if thirty else "")] += 1
                out += mrc(svc.install, bd - day,
                           (lambda x: money(x * (bd - svc.install).days / 30)) if thirty else
                           (lambda x: calendar_share(x, svc.install, bd - day)))
            nrc = Line(sid, "nrc", "Installation charge", None, None, svc.nrc)
            out.append(nrc)
            if p == "dup-nrc":
                out.append(Line(sid, "nrc", "Installation charge", None, None, svc.nrc))
                self.expect("duplicate-charge", acct, inv, svc, svc.nrc, "installation twice")
            if svc.kind == "voice" and svc.install < bd - day:
                out += self.usage(svc, acct, svc.install, bd - day)
        elif svc.kind == "voice" and not (p == "unused" and i >= a["s"]):
            out += self.usage(svc, acct, prev, bd - day)
        # the cycle in advance
        if p == "rate-up" and a["j"] <= i < a["j"] + a["n"]:
            up = money(svc.rate * a["pct"] / 100)
            out += mrc(bd, nxt - day, lambda x: x + up)
            self.expect("rate-above-contract", acct, inv, svc, up, f"{a['pct']}% above")
        else:
            out += mrc(bd, nxt - day)
        if p == "dup-row" and i == j:
            out += mrc(bd, nxt - day)
            self.expect("duplicate-charge", acct, inv, svc, svc.rate, "row repeated")
        if p in ("dup-rebill", "rebill-credited") and i == j:
            out += mrc(prev, bd - day)
            if p == "dup-rebill":
                self.expect("duplicate-charge", acct, inv, svc, svc.rate, "last cycle re-billed")
        if p == "rebill-credited" and i == j + 1:
            out.append(Line(sid, "credit", f"{svc.product} billed twice", None, None, -svc.rate))
            self.lookalikes["a re-billed cycle credited on the next bill"] += 1
        if len(svc.components) > 1:
            self.lookalikes["port and access loop adding up to the rate (service-bills)"] += 1
        if p == "dup-usage" and i == j:
            u = [x for x in out if x.ctype == "usage"]
            if u:
                out.append(Line(**{**u[0].__dict__}))
                self.expect("duplicate-charge", acct, inv, svc, u[0].amount, "usage row twice")
        if p == "unused" and i == MONTHS - 1:
            self.expect("unused-service", acct, inv, svc, ZERO)
        if svc.kind == "voice":
            voice_mrc = svc.rate
        return out, voice_mrc


def invoice_number(acct: Account, i: int) -> str:
    d = bill_dates(acct)[i + 1]
    if acct.dialect == "A":
        return f"{int(acct.number[-6:]) * 100 + d.month:08d}{d.year % 10}"
    if acct.dialect == "B":
        return f"B{d:%y%m}-{acct.number[-7:].replace('-', '')}"
    return f"{acct.number}-{d:%Y%m}"


# ---------------------------------------------------------------------------- the spellings

def fmt_a_money(x: Decimal) -> str:
    return f"{x:,.2f}"


def fmt_b_money(x: Decimal) -> str:
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def fmt_c_date(d: date | None) -> str:
    return f"{d.day:02d}-{MON[d.month - 1]}-{d.year}" if d else ""


TYPES = {
    "A": {"mrc": "Monthly Recurring", "usage": "Usage", "nrc": "One-Time", "credit": "Credit",
          "tax": "Taxes & Surcharges"},
    "B": {"mrc": "MRC", "usage": "USAGE", "nrc": "NRC", "credit": "ADJ", "tax": "TAX"},
    "C": {"mrc": "Recurring", "usage": "Toll", "nrc": "Non-Recurring", "credit": "Adjustment",
          "tax": "Tax"},
}
HEADERS = {
    "A": ["Carrier", "BAN", "Invoice No", "Invoice Date", "Circuit", "Charge Type",
          "Charge Description", "Period From", "Period To", "Amount"],
    "B": ["Account #", "Invoice #", "Bill Date", "Service ID", "Description", "Category",
          "Quantity", "Unit Price", "Start Date", "End Date", "Total", "Provider"],
    "C": ["Billing Account", "Bill Number", "Statement Date", "Telephone Number",
          "Type", "Service Description", "Service From", "Service To", "Charge Amount"],
}


def write_bill(path: Path, acct: Account, inv: str, bd: date, lines: list[Line], total):
    d = acct.dialect
    t = TYPES[d]
    rows = []
    for x in lines:
        if d == "A":
            rows.append([acct.carrier, acct.number, inv, bd.isoformat(), x.sid, t[x.ctype],
                         x.desc, x.start.isoformat() if x.start else "",
                         x.end.isoformat() if x.end else "", fmt_a_money(x.amount)])
        elif d == "B":
            rows.append([acct.number, inv, f"{bd:%m/%d/%Y}", x.sid, x.desc, t[x.ctype], x.qty,
                         x.unit, f"{x.start:%m/%d/%Y}" if x.start else "",
                         f"{x.end:%m/%d/%Y}" if x.end else "", fmt_b_money(x.amount),
                         acct.carrier])
        else:
            rows.append([acct.number, inv, fmt_c_date(bd), x.sid, t[x.ctype], x.desc,
                         fmt_c_date(x.start), fmt_c_date(x.end), f"{x.amount:.2f}"])
    if d == "C":
        rows.append(["", "", "", "", "", "TOTAL", "", "", f"{total:.2f}"])
    delim = {"A": ",", "B": ";", "C": "\t"}[d]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delim, lineterminator="\r\n")
        w.writerow(HEADERS[d])
        w.writerows(rows)


def write_inventory(path: Path, accounts: list[Account]):
    header = ["Circuit ID", "Account Number", "Vendor", "Product", "Monthly Rate",
              "Install Date", "Disconnect Date", "Service Address"]
    rows = []
    for a in accounts:
        for s in a.services:
            rows.append([s.sid, a.inv_number, a.carrier, s.product, float(s.rate),
                         datetime(s.install.year, s.install.month, s.install.day),
                         datetime(s.disconnect.year, s.disconnect.month, s.disconnect.day)
                         if s.disconnect else None,
                         f"{100 + zlib.crc32(s.sid.encode()) % 9800} Main St"])
    try:
        import xlsxwriter
    except ImportError:
        xlsxwriter = None
    if xlsxwriter is not None:
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        ws = wb.add_worksheet("Circuits")
        df = wb.add_format({"num_format": "mm/dd/yyyy"})
        mf = wb.add_format({"num_format": "#,##0.00"})
        ws.write_row(0, 0, header)
        for r, row in enumerate(rows, 1):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, datetime):
                    ws.write_datetime(r, c, v, df)
                elif isinstance(v, float):
                    ws.write_number(r, c, v, mf)
                else:
                    ws.write_string(r, c, v)
        wb.close()
        return
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Circuits")
    ws.append(header)
    for row in rows:
        cells = []
        for v in row:
            cell = WriteOnlyCell(ws, value=v)
            if isinstance(v, datetime):
                cell.number_format = "mm/dd/yyyy"
            elif isinstance(v, float):
                cell.number_format = "#,##0.00"
            cells.append(cell)
        ws.append(cells)
    wb.save(path)


def generate(folder: Path, lines: int, services: int, seed: int):
    rng, accounts = plan(lines, services, seed)
    # usage rows a voice bill: what is left of the lines after recurring rows and taxes
    fixed = sum(len(s.components) for a in accounts for s in a.services) * MONTHS + \
        3 * len(accounts) * MONTHS
    voice_bills = sum(1 for a in accounts for s in a.services if s.kind == "voice") * MONTHS
    # 1.051: services not in service all year bill fewer rows than the count above assumes
    usage_mean = max(0.6, 1.051 * (lines - fixed) / max(1, voice_bills))
    if folder.exists():
        shutil.rmtree(folder)
    inv_dir = folder / "invoices"
    w = Writer(rng, accounts, inv_dir, usage_mean)
    for acct in accounts:
        sub = inv_dir / acct.carrier.split()[0].lower() / acct.number
        sub.mkdir(parents=True, exist_ok=True)
        for i in range(MONTHS):
            inv, bd, lines_ = w.bill(acct, i)
            if acct.missing_month == i:
                w.truth = [t for t in w.truth if t["invoice"] != inv]
                w.expect("missing-invoice", acct, None, None, ZERO, f"bill of {bd} left out")
                continue
            total = sum((x.amount for x in lines_), ZERO)
            if i in acct.total_delta:
                total += acct.total_delta[i]
                w.expect("invoice-total-mismatch", acct, inv, None, acct.total_delta[i])
            ext = ".txt" if acct.dialect == "C" else ".csv"
            write_bill(sub / f"{bd:%Y-%m}{ext}", acct, inv, bd, lines_, total)
            w.lines += len(lines_)
            w.files += 1
    write_inventory(folder / "inventory.xlsx", accounts)
    counts = Counter(t["rule"] for t in w.truth)
    truth = {"files": w.files, "lines": w.lines, "services": services,
             "accounts": len(accounts), "seed": seed, "by_rule": dict(sorted(counts.items())),
             "lookalikes": dict(sorted(w.lookalikes.items())),
             "findings": w.truth}
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))
    print(f"{folder}: {w.files:,} files, {w.lines:,} lines, {services:,} services, "
          f"{len(accounts):,} accounts, {len(w.truth):,} planted findings")
    for rule, n in sorted(counts.items()):
        print(f"  {rule:28} {n:6,}")
    print("legitimate look-alikes written (never findings):")
    for what, n in sorted(w.lookalikes.items()):
        print(f"  {what:60} {n:7,}")


# ---------------------------------------------------------------------------- run and compare

def id_key(text) -> str:
    if not text:
        return ""
    k = re.sub(r"[^0-9A-Z]", "", str(text).upper())
    if k.isdigit() and len(k) == 11 and k.startswith("1"):
        k = k[1:]
    return k


def acct_key(text) -> str:
    return re.sub(r"[^0-9A-Z]", "", str(text or "").upper())


def serial_key(text) -> str:
    """A CLCI serial ID with its serial's zeros dropped: 12HCGS0123456LY -> 12HCGS123456LY."""
    k = id_key(text)
    m = re.fullmatch(r"(\d\d)([A-Z]{4})0*(\d+)([A-Z]{2})", k)
    return "".join(m.groups()) if m else k


def run(folder: Path, out: Path | None, keep: bool, floor: bool = False):
    floor_s = _floor(folder) if floor else None
    exe = Path(sys.executable).parent / "reconcile"
    tmp = Path(tempfile.mkdtemp(prefix="indbulk-"))
    out = out or tmp / "report"
    cmd = [str(exe), "audit", str(folder / "invoices"), "--inventory",
           str(folder / "inventory.xlsx"), "--out", str(out)]
    print("$", " ".join(cmd))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_kb = after.ru_maxrss
    (tmp / "console.txt").write_text(proc.stdout + "\n--- stderr\n" + proc.stderr)
    print(proc.stdout[-4000:])
    if proc.stderr.strip():
        print("stderr:", proc.stderr[-2000:])
    truth = json.loads((folder / "truth.json").read_text())
    lines = truth["lines"]
    errors = json.loads((out / "errors.json").read_text()) if (out / "errors.json").exists() \
        else []
    if isinstance(errors, dict):
        errors = errors.get("errors", [])
    print(f"exit {proc.returncode}; files {truth['files']:,}; lines {lines:,}; wall {wall:.1f} s; "
          f"CPU {cpu:.1f} s; peak RSS {peak_kb / 1024:,.0f} MiB; "
          f"{peak_kb * 1024 / lines:,.0f} bytes/line; errors.json entries {len(errors)}")
    for e in errors[:5]:
        print("  error:", json.dumps(e)[:300])
    if floor_s:
        print(f"floor (bench/independent_floor.py, its own process, before the audit): "
              f"{floor_s['wall_s']:.1f} s, peak {floor_s['peak_mb']:,} MB; the audit is "
              f"x{wall / floor_s['wall_s']:.1f} its time, x{peak_kb / 1024 / floor_s['peak_mb']:.1f} "
              f"its memory")
    compare(truth, json.loads((out / "findings.json").read_text()))
    if keep:
        print("reports kept in", out, "console in", tmp / "console.txt")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return proc.returncode


def _floor(folder: Path) -> dict:
    """bench/independent_floor.py over the batch, in its own process: its figures."""
    script = Path(__file__).resolve().parent / "independent_floor.py"
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, str(script), str(folder), "--json"],
                          capture_output=True, text=True, check=True)
    got = json.loads(done.stdout.strip().splitlines()[-1])
    got["wall_s"] = time.perf_counter() - t0  # the process's, start-up included
    return got


def finding_fields(f: dict):
    def first(*names):
        for n in names:
            v = f.get(n)
            if v not in (None, ""):
                return v
        return None
    rule = first("rule", "rule_id")
    acct = first("account", "account_number")
    inv = first("invoice", "invoice_number")
    ids = {serial_key(f.get(n)) for n in ("service_id", "matched_service_id") if f.get(n)}
    amt = first("amount_at_issue", "money_at_issue", "amount")
    return rule, acct_key(acct), str(inv or ""), ids, Decimal(str(amt or "0"))


def compare(truth: dict, found: dict):
    planted = truth["findings"]
    fl = found["findings"] if isinstance(found, dict) else found
    rules_planted = {t["rule"] for t in planted}
    pool = defaultdict(list)   # (rule, account, invoice) -> [finding fields]
    parsed = [finding_fields(f) for f in fl]
    for idx, (rule, acct, inv, _ids, _amt) in enumerate(parsed):
        key_inv = "" if rule == "missing-invoice" else inv
        pool[(rule, acct, key_inv)].append(idx)
    used = set()
    stats = defaultdict(lambda: Counter())
    money_p = defaultdict(Decimal)
    money_f = defaultdict(Decimal)
    missing, wrong_money = [], []
    for t in planted:
        rule = t["rule"]
        stats[rule]["planted"] += 1
        money_p[rule] += Decimal(t["money"])
        inv = "" if rule == "missing-invoice" else (t["invoice"] or "")
        want = {serial_key(t["service"]), serial_key(t["billed_as"])} - {""}
        cands = [i for i in pool.get((rule, acct_key(t["account"]), inv), []) if i not in used]
        if want:
            cands = [i for i in cands if parsed[i][3] & want]
        if not cands:
            stats[rule]["missing"] += 1
            missing.append(t)
            continue
        exact = [i for i in cands if parsed[i][4] == Decimal(t["money"])]
        other = [i for i in cands if t.get("money_other_reading")
                 and parsed[i][4] == Decimal(t["money_other_reading"])]
        i = (exact or other or cands)[0]
        used.add(i)
        stats[rule]["matched"] += 1
        if not exact:
            stats[rule]["money differs"] += 1
            if other:
                stats[rule]["other reading"] += 1
            wrong_money.append((t, fl[i]))
    extra = defaultdict(list)
    for i, (rule, *_rest) in enumerate(parsed):
        money_f[rule] += parsed[i][4]
        if rule in rules_planted:
            stats[rule]["found"] += 1
            if i not in used:
                extra[rule].append(fl[i])
    print(f"\n{'rule':28} {'planted':>8} {'found':>8} {'matched':>8} {'missing':>8} "
          f"{'extra':>6} {'money ≠':>7} {'money planted':>15} {'money found':>15}")
    ok = True
    for rule in sorted(rules_planted):
        s = stats[rule]
        bad = s["missing"] or extra[rule] or s["money differs"]
        ok = ok and not bad
        print(f"{rule:28} {s['planted']:8,} {s['found']:8,} {s['matched']:8,} "
              f"{s['missing']:8,} {len(extra[rule]):6,} {s['money differs']:7,} "
              f"{money_p[rule]:15,.2f} {money_f[rule]:15,.2f}"
              + (f"  ({s['other reading']:,} of the money differences = the other reading of "
                 f"an anniversary cycle's proration, truth's money_other_reading)"
                 if s["other reading"] else ""))
    others = Counter(p[0] for p in parsed if p[0] not in rules_planted)
    for rule, n in sorted(others.items()):
        print(f"{rule:28} not judged: {n:,} findings, money {money_f[rule]:,.2f}")
    print("exact" if ok else "DIFFERENCES")
    for t in missing[:8]:
        print("  missing:", json.dumps(t))
    for t, f in wrong_money[:8]:
        print("  money:", json.dumps(t), "found", f.get("amount_at_issue"), f.get("explanation"))
    for rule, fs in extra.items():
        for f in fs[:4]:
            print(f"  extra {rule}:", json.dumps({k: f.get(k) for k in (
                "account", "invoice_number", "service_id", "amount_at_issue",
                "explanation")})[:500])
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="write the batch and its truth into FOLDER")
    g.add_argument("folder", type=Path)
    g.add_argument("--lines", type=int, default=1_000_000)
    g.add_argument("--services", type=int, default=27_000)
    g.add_argument("--seed", type=int, default=8)
    r = sub.add_parser("run", help="audit FOLDER, time it, compare with its truth")
    r.add_argument("folder", type=Path)
    r.add_argument("--out", type=Path)
    r.add_argument("--keep", action="store_true", help="keep the reports and console output")
    r.add_argument("--floor", action="store_true",
                   help="first run bench/independent_floor.py and print the audit's ratio to it")
    c = sub.add_parser("compare", help="compare a findings.json with FOLDER's truth")
    c.add_argument("folder", type=Path)
    c.add_argument("findings", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "gen":
        t0 = time.perf_counter()
        generate(args.folder, args.lines, args.services, args.seed)
        print(f"written in {time.perf_counter() - t0:.1f} s")
        return 0
    if args.cmd == "compare":
        ok = compare(json.loads((args.folder / "truth.json").read_text()),
                     json.loads(args.findings.read_text()))
        return 0 if ok else 1
    return run(args.folder, args.out, args.keep, args.floor)


if __name__ == "__main__":
    sys.exit(main())
