"""Reading parameter files and resolving a region's policy at a date (SPEC §3).

A region file sets dated, cited values for some keys and names its parent;
``Policy.resolve(date)`` walks city → province → national and takes, for each
key, the entry with the latest ``from`` on or before the date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from yibao.errors import PolicyError, fail
from yibao.policy.model import PARAMETERS, parse_value

DATA_DIR = Path(__file__).parent / "data"
_REGION = re.compile(r"^\d{6}$")
_TOP_KEYS = {"region", "name", "parent", "parameters"}
_ENTRY_KEYS = {"from", "value", "source"}


@dataclass(frozen=True)
class Entry:
    """One dated value of one key in one file."""

    start: dt.date
    value: Any
    raw: Any
    source: str


@dataclass(frozen=True)
class RegionFile:
    """A parsed, validated parameter file."""

    region: str
    name: str
    parent: str | None
    path: Path
    parameters: dict[str, tuple[Entry, ...]]


@dataclass(frozen=True)
class Provenance:
    """A resolved value with where it came from: region, date and source."""

    key: str
    value: Any
    raw: Any
    region: str
    region_name: str
    start: dt.date
    source: str


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _problem(path: Path, key: str, message: str, code: str = "POLICY_INVALID") -> PolicyError:
    return fail(PolicyError, code, message, record=str(path), field=key)  # type: ignore[return-value]


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return "; ".join(parts)


def _entries(path: Path, key: str, raw_entries: object) -> tuple[Entry, ...]:
    if not isinstance(raw_entries, list) or not raw_entries:
        raise _problem(path, key, "expected a non-empty list of {from, value, source} entries")
    entries: list[Entry] = []
    for i, raw in enumerate(raw_entries):
        where = f"{key}[{i}]"
        if not isinstance(raw, dict) or set(raw) != _ENTRY_KEYS:
            raise _problem(path, where, "an entry has exactly the keys from, value and source")
        start = raw["from"]
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            raise _problem(path, where, f"'from' must be a date YYYY-MM-DD, got {start!r}")
        if entries and start <= entries[-1].start:
            raise _problem(path, where, f"'from' {start} is not after {entries[-1].start}",
                           "POLICY_DATE_ORDER")
        source = raw["source"]
        if not isinstance(source, str) or not source.strip():
            raise _problem(path, where, "every value needs a non-empty 'source'")
        try:
            value = parse_value(key, raw["value"])
        except ValidationError as exc:
            raise _problem(path, where, _validation_message(exc), "POLICY_BAD_VALUE") from exc
        entries.append(Entry(start, value, raw["value"], source.strip()))
    return tuple(entries)


def read_region_file(path: Path) -> RegionFile:
    """Parse and validate one parameter file; errors name the file and the key."""
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except FileNotFoundError as exc:
        raise _problem(path, "", "no such parameter file", "POLICY_NOT_FOUND") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise _problem(path, "", f"not valid YAML: {exc}", "POLICY_YAML") from exc
    if not isinstance(doc, dict):
        raise _problem(path, "", "a parameter file is a mapping with region, name, parameters")
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise _problem(path, ", ".join(sorted(map(str, unknown))), "unknown top-level key")
    region, parent = str(doc.get("region", "")), doc.get("parent")
    if not _REGION.match(region):
        raise _problem(path, "region", f"region must be a 6-digit code, got {region!r}")
    if parent is not None and not _REGION.match(str(parent)):
        raise _problem(path, "parent", f"parent must be a 6-digit code, got {parent!r}")
    params = doc.get("parameters") or {}
    if not isinstance(params, dict):
        raise _problem(path, "parameters", "parameters must be a mapping of key to entries")
    parsed: dict[str, tuple[Entry, ...]] = {}
    for key, raw_entries in params.items():
        if key not in PARAMETERS:
            raise _problem(path, str(key), "unknown parameter key", "POLICY_UNKNOWN_KEY")
        parsed[key] = _entries(path, key, raw_entries)
    return RegionFile(region, str(doc.get("name", region)), None if parent is None else str(parent),
                      path, parsed)


@cache
def shipped(region: str) -> RegionFile:
    """The parameter file shipped for ``region``."""
    path = DATA_DIR / f"{region}.yaml"
    if not path.exists():
        known = ", ".join(shipped_regions())
        raise fail(PolicyError, "POLICY_UNKNOWN_REGION",
                   f"no shipped policy for region {region} (shipped: {known})", field="region")
    return read_region_file(path)


def shipped_regions() -> list[str]:
    return sorted(p.stem for p in DATA_DIR.glob("*.yaml"))


class Policy:
    """A region's chain of parameter files, child first."""

    def __init__(self, chain: tuple[RegionFile, ...]):
        self.chain = chain

    @property
    def region(self) -> str:
        return self.chain[0].region

    @property
    def name(self) -> str:
        return self.chain[0].name

    def lookup(self, key: str, on: dt.date) -> Provenance | None:
        """The entry in force for ``key`` on ``on``: the latest ``from`` ≤ ``on`` anywhere in
        the chain; on equal dates the nearest region wins (SPEC §3, docs/decisions.md)."""
        best: Provenance | None = None
        for rf in self.chain:
            current = [e for e in rf.parameters.get(key, ()) if e.start <= on]
            if current and (best is None or current[-1].start > best.start):
                e = current[-1]
                best = Provenance(key, e.value, e.raw, rf.region, rf.name, e.start, e.source)
        return best

    def resolve(self, on: dt.date) -> Resolved:
        return Resolved(self, on)

    def change_dates(self, keys: list[str], start: dt.date, end: dt.date) -> list[dt.date]:
        """Dates in (start, end] on which any of ``keys`` may take a new value."""
        return sorted({e.start for rf in self.chain for k in keys
                       for e in rf.parameters.get(k, ()) if start < e.start <= end})


class Resolved:
    """The policy of a region on one date; ``get`` never invents a default."""

    def __init__(self, policy: Policy, on: dt.date):
        self.policy, self.date = policy, on

    def provenance(self, key: str) -> Provenance:
        if key not in PARAMETERS:
            raise fail(PolicyError, "POLICY_UNKNOWN_KEY", "unknown parameter key", field=key)
        found = self.policy.lookup(key, self.date)
        if found is None:
            searched = " → ".join(rf.region for rf in self.policy.chain)
            raise fail(PolicyError, "POLICY_MISSING",
                       f"no value for {key} on {self.date} in regions {searched}", field=key)
        return found

    def get(self, key: str) -> Any:
        return self.provenance(key).value

    def has(self, key: str) -> bool:
        return self.policy.lookup(key, self.date) is not None

    def all(self) -> list[Provenance]:
        found = (self.policy.lookup(k, self.date) for k in PARAMETERS)
        return [p for p in found if p is not None]


def _chain(first: RegionFile) -> tuple[RegionFile, ...]:
    chain = [first]
    while chain[-1].parent is not None:
        parent = chain[-1].parent
        if any(rf.region == parent for rf in chain):
            path = " → ".join([*(rf.region for rf in chain), parent])
            raise _problem(first.path, "parent", f"parent chain loops: {path}")
        if parent not in shipped_regions():
            raise _problem(chain[-1].path, "parent",
                           f"parent {parent} is not a shipped region "
                           f"(shipped: {', '.join(shipped_regions())})", "POLICY_UNKNOWN_REGION")
        chain.append(shipped(parent))
    return tuple(chain)


def load_policy(spec: str | Path) -> Policy:
    """A shipped region code (``"360400"``) or a path to a YAML file."""
    text = str(spec)
    if _REGION.match(text):
        return Policy(_chain(shipped(text)))
    path = Path(spec)
    if path.suffix not in {".yaml", ".yml"}:
        raise fail(PolicyError, "POLICY_UNKNOWN_REGION",
                   f"{text!r} is neither a 6-digit region code nor a .yaml file", field="policy")
    return Policy(_chain(read_region_file(path)))


