"""Tying each invoice line to an inventory service, and keeping why.

1. Exact: the same key after normalising (reconcile.core.ids): dots/slashes/spaces, case,
   zero-fill, phone punctuation and a leading 1.
   A telephone number also matches the one telephone-number-format circuit carrying it
   (12.FXMX.732.555.1234.T22 billed as 732-555-1234).
2. Partial: the billed ID is the inventory ID with another carrier-local prefix, or without
   its prefix or suffix (all its letter/digit runs appear, in order, in exactly one service
   of the account).
3. Fuzzy: rapidfuzz ratio on the delimiter-free key, within the line's account when the
   inventory knows that account, accepted above `match_threshold` and only when the best
   candidate beats the next by `match_margin`. Phone numbers are never fuzzy-matched: one
   digit apart is another line. A fuzzy candidate already billed on the same invoice under
   its own ID, or under an ID closer to it, is refused: the near-miss is more likely a
   second, unknown service.
Every line gets a `Match` with method, score and reason; unmatched lines keep their three
nearest candidates for the unknown-service finding.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from rapidfuzz import fuzz, process

from reconcile.core.codes import first_seen
from reconcile.core.ids import account_key, circuit_tn_key, clci_body, compact, is_phone_key, service_key
from reconcile.core.lines import decoded, distinct_rows, from_lines
from reconcile.core.models import Service
from reconcile.core.result import AuditOptions, Match

_EXACT_CIRCUIT = "same circuit ID after normalising delimiters, case and zero-fill"
_EXACT_PHONE = "same telephone number after normalising punctuation and country code"
_IDENTICAL = "identical ID"
_OWN_ID = 1000.0
# an unknown ID and the account's one unbilled service this alike are paired by elimination
ELIMINATION_MIN_SCORE = 75.0  # above any score: the service is billed under its own (normalised) ID


class Matcher:
    def __init__(self, services: list[Service], options: AuditOptions):
        self.services = services
        self.options = options
        self.by_key: dict[str, list[int]] = defaultdict(list)
        self.by_account: dict[str, list[int]] = defaultdict(list)
        self.tn7: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.by_circuit_tn: dict[str, list[int]] = defaultdict(list)  # TN-format circuits' TNs
        self.by_body: dict[str, list[int]] = defaultdict(list)  # CLCI keys without their prefix
        self.keys: list[str] = []
        self.accounts: list[str] = []
        for s in services:
            key = service_key(s.service_id)
            self.keys.append(key)
            self.by_key[key].append(s.index)
            acct = account_key(s.account) if s.account else ""
            self.accounts.append(acct)
            self.by_account[acct].append(s.index)
            if key.startswith("TN:"):
                self.tn7[(acct, key[-7:])].append(s.index)
            elif tn := circuit_tn_key(s.service_id):
                self.by_circuit_tn[tn].append(s.index)
            if body := clci_body(key):
                self.by_body[body].append(s.index)
        self.all_compact = [compact(k) for k in self.keys]

    def match_all(self, lines: list) -> list[Match]:
        """Line records matched one by one (tests, small hand-built batches)."""
        return list(self.match_table(from_lines(lines)))

    def match_table(self, lines: pa.Table) -> MatchColumns:
        """Every line of a batch table (reconcile.core.lines) tied to a service. The work is
        done once per distinct (billed ID, account): a batch has a million lines and tens of
        thousands of such pairs. Only IDs the inventory lists more than once look at each
        line's date, and only near matches at the rest of their invoice."""
        codes, pairs = distinct_rows(lines, ["service_id", "account"])
        distinct: list = []
        pending: dict[tuple[str, str], Match] = {}
        for sid, account in pairs:
            m = self._exact(sid or "", account or "")
            if m is None:
                pk = (service_key(sid or ""), account_key(account or ""))
                if pk not in pending:
                    pending[pk] = self._near(*pk)
                m = pending[pk]
            distinct.append(m)
        out = MatchColumns(codes=codes, distinct=distinct, overrides={})
        self._pick_per_line(out, lines)
        self._refuse_near_misses_of_billed_services(out, lines)
        self._pair_by_elimination(out, lines, pairs)
        return out

    def _pair_by_elimination(self, out: MatchColumns, lines: pa.Table, pairs: list) -> None:
        """Reconcile by elimination, as an auditor does: within an account, a billed circuit ID
        that matches nothing and the one service of the account that nothing billed are one
        circuit when their IDs are alike (a digit slipped, separators dropped), and its
        recurring charges are billed at the service's rate (or its product is the line's).
        One-to-one only; what remains unpaired stays unknown and missing."""
        loose = [k for k, m in enumerate(out.distinct)
                 if m.method == "none" and pairs[k][0] and not is_phone_key(service_key(pairs[k][0]))
                 and self.by_account.get(account_key(pairs[k][1] or ""))]
        if not loose:
            return
        billed = set(first_seen(out.service_array()).tolist())
        proposals: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for k in loose:
            sid, account = pairs[k]
            acct = account_key(account or "")
            free = [i for i in self.by_account[acct]
                    if i not in billed and not is_phone_key(self.keys[i])]
            if not free:
                continue
            got = process.extract(compact(service_key(sid)), {i: self.all_compact[i] for i in free},
                                  scorer=fuzz.ratio, limit=2)
            close = [(i, float(score)) for _, score, i in got if score >= ELIMINATION_MIN_SCORE]
            if len(close) == 1:
                proposals[close[0][0]].append((k, close[0][1]))
        agreed = {k: (i, score) for i, wanted in proposals.items() if len(wanted) == 1
                  for k, score in wanted}
        for k, (i, score) in agreed.items():
            why = self._agrees(i, np.flatnonzero(out.codes == k), lines)
            if why:
                out.distinct[k] = Match(i, "elimination", score,
                                        f"matched by elimination: the only unbilled service of this "
                                        f"account ({self.services[i].service_id}) with an ID this "
                                        f"close (similarity {score:.0f}) and {why}")

    def _agrees(self, index: int, rows: np.ndarray, lines: pa.Table) -> str:
        """Why the billed lines are this service's, or '' when they do not agree."""
        svc = self.services[index]
        got = decoded(lines.select(["charge_type", "amount", "description"]).take(pa.array(rows))).to_pylist()
        recurring = [r["amount"] for r in got if r["charge_type"] == "recurring" and r["amount"] > 0]
        if svc.monthly_rate is not None and recurring:
            at_rate = sum(abs(a - svc.monthly_rate) <= self.options.tolerance for a in recurring)
            return "the same monthly rate" if at_rate * 2 >= len(recurring) else ""
        product = re.sub(r"[^a-z0-9]", "", svc.description.lower())
        if product and any(product in re.sub(r"[^a-z0-9]", "", (r["description"] or "").lower())
                           for r in got):
            return "the same product"
        return ""

    def _pick_per_line(self, out: MatchColumns, lines: pa.Table) -> None:
        """Several inventory rows share the billed key: pick per line by account and date."""
        choices = [k for k, m in enumerate(out.distinct) if isinstance(m, _Choice)]
        if not choices:
            return
        rows = np.flatnonzero(np.isin(out.codes, choices))
        picked = lines.select(["period_start", "invoice_date", "account"]).take(pa.array(rows))
        for i, row in zip(rows.tolist(), decoded(picked).to_pylist()):
            choice = out.distinct[out.codes[i]]
            best = self._pick(choice.idx, row["account"], row["period_start"] or row["invoice_date"])
            out.overrides[i] = choice.match(best, self.services[best])
        for k in choices:  # every line of a choice has its own match now
            out.distinct[k] = Match(None, "none", 0.0, "decided per line")

    def _refuse_near_misses_of_billed_services(self, out: MatchColumns, lines: pa.Table) -> None:
        """A fuzzy candidate already billed on the same invoice under its own ID, or under an
        ID closer to it, is refused: the near-miss is more likely a second, unknown service."""
        fuzzy = [k for k, m in enumerate(out.distinct) if m.method == "fuzzy" and m.score < 100]
        if not fuzzy:
            return
        near = np.flatnonzero(np.isin(out.codes, fuzzy)).tolist()
        targets = {out.distinct[k].service for k in fuzzy}
        service = out.service_array()
        rows = np.flatnonzero(np.isin(service, list(targets))).tolist()
        info = decoded(lines.select(["account", "invoice_number", "service_id"]).take(pa.array(rows))).to_pylist()
        at = dict(zip(rows, info))
        best: dict[tuple[str, str, int], float] = {}
        for i in rows:
            m = out[i]
            k = (at[i]["account"], at[i]["invoice_number"], m.service)
            score = _OWN_ID if m.method == "exact" else m.score
            if score > best.get(k, 0.0):
                best[k] = score
        for i in near:
            m = out[i]
            row = at[i]
            held = best[(row["account"], row["invoice_number"], m.service)]
            if held > m.score:
                other = self.services[m.service].service_id
                how = "under its own ID" if held == _OWN_ID else f"under an ID closer to it ({held:.0f})"
                pk = (service_key(row["service_id"]), account_key(row["account"]))
                out.overrides[i] = Match(None, "none", m.score,
                                         f"nearest inventory service {other} (score {m.score:.0f}) "
                                         f"is already billed {how} on this invoice",
                                         self._candidates(*pk))

    # -- exact ---------------------------------------------------------------------------
    def _exact(self, service_id: str, account: str) -> Match | _Choice | None:
        if not service_id:
            return Match(None, "account-level", 0.0, "no service ID on the line: an account-level charge")
        key = service_key(service_id)
        if not key:
            return Match(None, "account-level", 0.0, "service ID has no letters or digits")
        idx = self.by_key.get(key)
        if idx:
            return self._choose(idx, account, _Choice(idx, "exact", 100.0, service_id, is_phone_key(key)))
        idx = self.by_circuit_tn.get(key)
        if idx and len({self.keys[i] for i in idx}) == 1:
            return self._choose(idx, account, _Choice(idx, "circuit-tn", 95.0, service_id, True))
        if key.startswith("TN7:"):
            idx = self.tn7.get((account_key(account), key[4:]))
            if idx and len({self.keys[i] for i in idx}) == 1:
                return self._choose(idx, account, _Choice(idx, "tn7", 95.0, service_id, True))
        return None

    def _choose(self, idx: list[int], account: str, choice: _Choice) -> Match | _Choice:
        """The match when the inventory row is clear from the account alone; else the choice
        is made per line, by date (_pick)."""
        if len(idx) == 1:
            return choice.match(idx[0], self.services[idx[0]])
        acct = account_key(account)
        same_acct = [i for i in idx if account_key(self.services[i].account) == acct] or idx
        if len(same_acct) == 1:
            return choice.match(same_acct[0], self.services[same_acct[0]])
        return _Choice(same_acct, choice.kind, choice.score, choice.billed, choice.phone)

    def _pick(self, idx: list[int], account: str, when: date | None) -> int:
        """Several inventory rows share the key (same circuit on two accounts, or re-installed):
        prefer the line's account, then the row in service during the line's period."""
        if len(idx) == 1:
            return idx[0]
        acct = account_key(account)
        same_acct = [i for i in idx if account_key(self.services[i].account) == acct] or idx
        if when is None or len(same_acct) == 1:
            return same_acct[0]
        active = [i for i in same_acct if _active_on(self.services[i], when)]
        if active:  # re-installed on the old row's disconnect day: the new row
            return max(active, key=lambda i: self.services[i].install_date or date.min)
        started = [i for i in same_acct if (self.services[i].install_date or date.min) <= when]
        if started:
            return max(started, key=lambda i: self.services[i].install_date or date.min)
        return same_acct[0]

    # -- partial and fuzzy ---------------------------------------------------------------
    def _pool(self, acct: str) -> tuple[list[int], str]:
        if acct and self.by_account.get(acct):
            return self.by_account[acct], "on the same account"
        return list(range(len(self.services))), "across all accounts (account not in inventory)"

    def _near(self, key: str, acct: str) -> Match:
        pool, where = self._pool(acct)
        if not is_phone_key(key):
            other = self._other_prefix(key, acct)
            if other is not None:
                sid = self.services[other].service_id
                how = "without its" if clci_body(key) == key else "with another"
                return Match(other, "fuzzy", 95.0,
                             f"billed ID is the inventory ID {sid} {how} carrier-local prefix, {where}")
            part = self._partial(key, pool)
            if part is not None:
                return Match(part, "fuzzy", 90.0,
                             f"billed ID is the inventory ID {self.services[part].service_id} without "
                             f"its carrier prefix/suffix, {where}")
        cands = self._candidates(key, acct)
        if is_phone_key(key) or not cands:
            why = "no inventory service has this telephone number" if is_phone_key(key) else \
                "no inventory service has this ID"
            return Match(None, "none", cands[0][1] if cands else 0.0, why, cands)
        best_i, best_s = cands[0]
        second = cands[1][1] if len(cands) > 1 else 0.0
        if is_phone_key(self.keys[best_i]):
            return Match(None, "none", best_s, "no inventory circuit is close enough", cands)
        if best_s >= self.options.match_threshold and best_s - second >= self.options.match_margin:
            return Match(best_i, "fuzzy", best_s,
                         f"closest inventory ID {self.services[best_i].service_id} {where} "
                         f"(similarity {best_s:.0f}, next best {second:.0f})", cands)
        if best_s >= self.options.match_threshold:
            reason = (f"two inventory services are about as close ({best_s:.0f} vs {second:.0f}); "
                      f"not guessing")
        else:
            reason = (f"closest inventory ID {self.services[best_i].service_id} scores {best_s:.0f}, "
                      f"below the match threshold {self.options.match_threshold:.0f}")
        return Match(None, "none", best_s, reason, cands)

    def _candidates(self, key: str, acct: str) -> tuple:
        pool, _ = self._pool(acct)
        choices = {i: self.all_compact[i] for i in pool}
        if not choices:
            return ()
        got = process.extract(compact(key), choices, scorer=fuzz.ratio, limit=3)
        # dedupe inventory rows that share one key (re-installs)
        seen, out = set(), []
        for _text, score, i in got:
            if self.keys[i] in seen:
                continue
            seen.add(self.keys[i])
            out.append((i, round(float(score), 1)))
        return tuple(out)

    def _other_prefix(self, key: str, acct: str) -> int | None:
        """The one service of the account whose ID differs only in the carrier-local prefix."""
        body = clci_body(key)
        if not body:
            return None
        scoped = bool(acct and self.by_account.get(acct))
        idx = [i for i in self.by_body.get(body, ()) if not scoped or self.accounts[i] == acct]
        return idx[0] if len({self.keys[i] for i in idx}) == 1 else None

    def _partial(self, key: str, pool: list[int]) -> int | None:
        tokens = key.split(".")
        if not any(t.isdigit() and len(t) >= 4 for t in tokens):
            return None
        hits = {self.keys[i] for i in pool if _in_order(tokens, self.keys[i].split("."))}
        if len(hits) != 1:
            return None
        k = hits.pop()
        return next(i for i in pool if self.keys[i] == k)


@dataclass(slots=True)
class _Choice:
    """An exact match among several inventory rows, made per line once its date is known."""

    idx: list[int]
    kind: str  # "exact" | "circuit-tn" | "tn7"
    score: float
    billed: str
    phone: bool
    service = None  # not decided yet

    def match(self, best: int, svc: Service) -> Match:
        if self.kind == "circuit-tn":
            reason = f"telephone number of the telephone-number-format circuit {svc.service_id}"
        elif self.kind == "tn7":
            reason = "7-digit number matches the last 7 digits of one line on this account"
        elif svc.service_id.strip().upper() == self.billed.strip().upper():
            reason = _IDENTICAL
        else:
            reason = _EXACT_PHONE if self.phone else _EXACT_CIRCUIT
        return Match(best, "exact", self.score, reason)


@dataclass(slots=True)
class MatchColumns:
    """Each line's match, index-aligned with the batch table: one Match per distinct (billed
    ID, account), and the few lines whose match is their own (picked by date, refused)."""

    codes: np.ndarray  # per line: its distinct pair
    distinct: list[Match]
    overrides: dict[int, Match]

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: int) -> Match:
        m = self.overrides.get(i)
        return m if m is not None else self.distinct[self.codes[i]]

    def __iter__(self):
        for i in range(len(self.codes)):
            yield self[i]

    def service_array(self) -> np.ndarray:
        """Service index per line, -1 where none."""
        per = np.array([-1 if m.service is None else m.service for m in self.distinct] or [-1],
                       np.int64)
        out = per[self.codes] if len(self.codes) else np.zeros(0, np.int64)
        for i, m in self.overrides.items():
            out[i] = -1 if m.service is None else m.service
        return out

    def arrays(self) -> dict[str, pa.Array]:
        """The columns added to the batch table."""
        service = self.service_array()
        columns = {"service": pa.array(service, pa.int32(), mask=service < 0)}
        extra = list(self.overrides.items())
        indices = self.codes.astype(np.int64, copy=True)
        for j, (i, _) in enumerate(extra):
            indices[i] = len(self.distinct) + j
        seen = _first_seen(indices)  # once for both text columns (a sort of every line)
        for name, value, kind in (("match_method", lambda m: m.method, pa.string()),
                                  ("match_score", lambda m: float(m.score), pa.float32()),
                                  ("match_reason", lambda m: m.reason, pa.string())):
            values = [value(m) for m in self.distinct] + [value(m) for _, m in extra]
            if kind == pa.string():  # text per distinct value, never per line
                columns[name] = _dictionary(values, indices, seen)
            else:
                columns[name] = pa.array(values, kind).take(pa.array(indices)) \
                    if len(indices) else pa.array([], kind)
        return columns


def _first_seen(indices: np.ndarray) -> list[int]:
    """The distinct indices in the order they first appear."""
    return first_seen(indices).tolist()


def _dictionary(values: list[str], indices: np.ndarray,
                seen: list[int] | None = None) -> pa.DictionaryArray:
    """`values[indices]` as dictionary_encode would give it (each text once, in the order it
    first appears), without making a text per line. `seen`: _first_seen(indices), if known."""
    if not len(indices):
        return pa.array([], pa.string()).dictionary_encode()
    pool: dict[str, int] = {}
    remap = np.zeros(len(values), np.int32)
    for c in (_first_seen(indices) if seen is None else seen):
        remap[c] = pool.setdefault(values[c], len(pool))
    return pa.DictionaryArray.from_arrays(pa.array(remap[indices]), pa.array(list(pool), pa.string()))


def _in_order(needle: list[str], hay: list[str]) -> bool:
    """All of needle's runs appear in hay as a contiguous run (the ID minus prefix/suffix)."""
    n = len(needle)
    if n >= len(hay):
        return False
    return any(hay[j:j + n] == needle for j in range(len(hay) - n + 1))


def _active_on(s: Service, when: date) -> bool:
    if s.install_date and when < s.install_date:
        return False
    if s.disconnect_date and when > s.disconnect_date:
        return False
    return True
