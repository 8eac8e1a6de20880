"""Bounds on what an Avro alert may cost, checked before and while it is decoded.

A writer schema is checked once (then cached) by :func:`check_schema`: its nesting depth and
size, that no named type contains itself (a recursive record is refused: decoding one nested
deep overflows the decoder's C stack), that every type it names is defined, and that the fields
an :class:`~skysift.io.packets.AlertMapping` reads have the shapes it expects (``fid`` an int,
``prv_candidates`` an array of records, ...), so that a packet can never reach the parser with
a value of the wrong kind. It also records, for every array and map, the fewest bytes one item
can take.

The data of a packet are then decoded by fastavro only when their size shows that no array
can declare more items than allowed (:meth:`SchemaInfo.needs_scan`). Otherwise
:func:`scan` first walks the bytes without building anything and refuses a packet whose
arrays or maps declare more items than its remaining bytes can hold, more than
``max_array_items`` in all, items holding more than ``max_array_values`` values (a record item of
100 null fields takes no byte but holds 100 values), or a history longer than ``max_history``
(an 829-byte packet that declares 5,000,000 empty items is refused after reading a few bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skysift.errors import AlertError
from skysift.io.packets import AlertMapping

PRIMITIVES = {"null": 0, "boolean": 1, "int": 1, "long": 1, "float": 4, "double": 8, "bytes": 1, "string": 1}
NUMBERS = {"int", "long", "float", "double"}
#: Fewest bytes any writer schema node is checked against (a bound on the schema's size).
MAX_SCHEMA_NODES = 50_000


@dataclass
class SchemaInfo:
    """What :func:`check_schema` learnt about a writer schema.

    zero_item_arrays: paths of arrays/maps whose items may take no bytes at all.
    min_item: fewest bytes of one item of any array or map (0: the schema has none).
    values_per_byte: most values one byte of array or map items can hold.
    history_min_item: fewest bytes of one entry of the mapping's history arrays (0: none kept).
    named: the schema's named types by full name (the JSON definitions).
    """

    zero_item_arrays: list[str] = field(default_factory=list)
    min_item: int = 0
    values_per_byte: float = 0.0
    history_min_item: int = 0
    named: dict[str, Any] = field(default_factory=dict)

    def needs_scan(self, data_bytes: int, max_history: int, max_items: int, max_values: int) -> bool:
        """Whether ``data_bytes`` of packet data could declare more items than allowed: some array
        has items of no size, the arrays could hold more than ``max_items`` items (or
        ``max_values`` values) or the history arrays more than ``max_history`` entries."""
        if self.zero_item_arrays:
            return True
        if self.min_item and data_bytes // self.min_item > max_items:
            return True
        if data_bytes * self.values_per_byte > max_values:
            return True
        return bool(self.history_min_item) and data_bytes // self.history_min_item > max_history


def _refuse(msg: str, where: str | None = None) -> AlertError:
    return AlertError(f"not a readable Avro alert: unsuitable schema: {msg}", field=where)


class _Checker:
    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.named: dict[str, Any] = {}
        self.min_size: dict[str, int] = {}
        self.defining: list[str] = []
        self.nodes = 0
        self.zero_items: list[str] = []
        self.item_sizes: list[int] = []
        self.ratios: list[float] = []

    def fullname(self, name: str, ns: str | None) -> str:
        return name if "." in name or not ns else f"{ns}.{name}"

    def lookup(self, ref: str, ns: str | None, path: str) -> str:
        for full in (self.fullname(ref, ns), ref):
            if full in self.named:
                if full in self.defining:
                    raise _refuse(f"record '{full}' contains itself at '{path}' (recursive schemas are not "
                                  "accepted)", path)
                return full
        raise _refuse(f"unknown type '{ref[:80]}' at '{path}'", path)

    def walk(self, node: Any, ns: str | None, path: str, depth: int) -> int:
        """The fewest bytes a value of ``node`` takes; checks depth, size, names and recursion."""
        self.nodes += 1
        if self.nodes > MAX_SCHEMA_NODES:
            raise _refuse(f"more than {MAX_SCHEMA_NODES} types")
        if depth > self.max_depth:
            raise _refuse(f"nested more than {self.max_depth} levels deep at '{path}'", path)
        if isinstance(node, str):
            if node in PRIMITIVES:
                return PRIMITIVES[node]
            return self.min_size[self.lookup(node, ns, path)]
        if isinstance(node, list):
            if not node:
                raise _refuse(f"an empty union at '{path}'", path)
            sizes = [self.walk(b, ns, path, depth + 1) for b in node]
            return 1 + min(sizes)  # the branch index, then the branch
        if not isinstance(node, dict):
            raise _refuse(f"a {type(node).__name__} where a type belongs at '{path}'", path)
        kind = node.get("type")
        if isinstance(kind, (dict, list)):
            return self.walk(kind, ns, path, depth + 1)
        if kind in ("record", "error", "enum", "fixed"):
            name = node.get("name")
            if not isinstance(name, str) or not name:
                raise _refuse(f"a {kind} without a name at '{path}'", path)
            inner_ns = node.get("namespace") if isinstance(node.get("namespace"), str) else ns
            full = self.fullname(name, inner_ns)
            if full in self.named:
                raise _refuse(f"type '{full}' defined twice", path)
            self.named[full] = node
            inner_ns = full.rsplit(".", 1)[0] if "." in full else inner_ns
            if kind == "enum":
                size = 1
            elif kind == "fixed":
                n = node.get("size")
                if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                    raise _refuse(f"fixed '{full}' has size {n!r}", path)
                size = n
            else:
                fields = node.get("fields")
                if not isinstance(fields, list):
                    raise _refuse(f"record '{full}' has no list of fields", path)
                self.defining.append(full)
                size = 0
                for f in fields:
                    if not isinstance(f, dict) or not isinstance(f.get("name"), str) or "type" not in f:
                        raise _refuse(f"record '{full}' has a field without a name or type", path)
                    size += self.walk(f["type"], inner_ns, f"{path}.{f['name']}", depth + 1)
                self.defining.pop()
            self.min_size[full] = size
            return size
        if kind == "array":
            item = self.walk(node.get("items"), ns, f"{path}[]", depth + 1)
            if item == 0:
                self.zero_items.append(path)
            self.item_sizes.append(max(1, item))
            self.ratios.append(_leaves(node.get("items"), self.named) / max(1, item))
            return 1  # an empty array: one zero count
        if kind == "map":
            size = 1 + self.walk(node.get("values"), ns, f"{path}{{}}", depth + 1)  # key, value
            self.item_sizes.append(size)
            self.ratios.append((1 + _leaves(node.get("values"), self.named)) / size)
            return 1
        if isinstance(kind, str) and kind in PRIMITIVES:
            return PRIMITIVES[kind]
        if isinstance(kind, str) and kind:
            return self.min_size[self.lookup(kind, ns, path)]
        raise _refuse(f"unknown type {str(kind)[:80]!r} at '{path}'", path)


def _branches(t: Any, named: dict[str, Any]) -> list[Any]:
    """The non-null branches of a (possibly union, possibly named) type, named types resolved."""
    out: list[Any] = []
    for b in t if isinstance(t, list) else [t]:
        while isinstance(b, dict) and isinstance(b.get("type"), (dict, list)):
            b = b["type"]  # {"type": {...}}: a wrapped type
        if isinstance(b, list):
            out += _branches(b, named)
            continue
        if isinstance(b, dict) and b.get("type") in PRIMITIVES:
            b = b["type"]  # a primitive with attributes (a logical type)
        if isinstance(b, str) and b not in PRIMITIVES:
            b = named_type(b, named, default=b)
        if b != "null":
            out.append(b)
    return out


def named_type(name: str, named: dict[str, Any], default: Any = None) -> Any:
    """The definition of a named type by full or short name."""
    if name in named:
        return named[name]
    for k, v in named.items():
        if k.endswith("." + name):
            return v
    if default is not None:
        return default
    raise AlertError(f"not a readable Avro alert: unknown type '{name[:80]}'")


def _kind(b: Any) -> str:
    if isinstance(b, str):
        return b
    return str(b.get("type")) if isinstance(b, dict) else type(b).__name__


def _fields(record: Any) -> dict[str, Any]:
    return {f["name"]: f["type"] for f in record.get("fields", [])} if isinstance(record, dict) else {}


def _expect(t: Any, allowed: set[str], path: str, named: dict[str, Any]) -> None:
    kinds = {_kind(b) for b in _branches(t, named)}
    if not kinds or not kinds <= allowed:
        raise _refuse(f"field '{path}' is {'/'.join(sorted(kinds)) or 'null'}, not {'/'.join(sorted(allowed))}",
                      path)


def _record_of(t: Any, path: str, named: dict[str, Any], array: bool = False) -> dict:
    branches = _branches(t, named)
    want = "array of records" if array else "record"
    if len(branches) != 1:
        raise _refuse(f"field '{path}' is {'/'.join(sorted(_kind(b) for b in branches)) or 'null'}, not a {want}",
                      path)
    b = branches[0]
    if array:
        if _kind(b) != "array":
            raise _refuse(f"field '{path}' is {_kind(b)}, not an array of records", path)
        return _record_of(b.get("items"), f"{path}[]", named)
    if _kind(b) not in ("record", "error"):
        raise _refuse(f"field '{path}' is {_kind(b)}, not a record", path)
    return b


def _check_entry(rec: dict, mapping: AlertMapping, path: str, named: dict[str, Any], forced: bool,
                 candidate: bool) -> None:
    fields = _fields(rec)
    band_kinds = {"int", "long"} if mapping.band_names is not None else {"string"}
    checks: list[tuple[str | None, set[str]]] = [(mapping.time, NUMBERS), (mapping.band, band_kinds)]
    checks += [(f, NUMBERS) for f in mapping.measured()]
    if candidate:
        checks += [(mapping.ra, NUMBERS), (mapping.dec, NUMBERS)]
    if not forced:
        checks += [(mapping.limit_mag, NUMBERS), (mapping.candidate_id, {"int", "long"}),
                   (mapping.positive, {"string", "boolean"}), (mapping.reliability, NUMBERS)]
    for name, allowed in checks:
        if name and name in fields:
            _expect(fields[name], allowed, f"{path}.{name}", named)


def check_schema(schema: Any, mapping: AlertMapping, max_depth: int = 32) -> SchemaInfo:
    """Check a writer schema (parsed JSON) for ``mapping`` (see the module notes); return what
    the reader needs to know. Raises :class:`~skysift.errors.AlertError` (422) naming the field."""
    chk = _Checker(max_depth)
    chk.walk(schema, None, "alert", 0)
    info = SchemaInfo(zero_item_arrays=chk.zero_items, min_item=min(chk.item_sizes, default=0),
                      values_per_byte=max(chk.ratios, default=0.0), named=chk.named)
    if not isinstance(schema, dict) or schema.get("type") not in ("record", "error"):
        raise _refuse("the top level is not a record")
    named = chk.named
    top = _fields(schema)
    for id_path in (mapping.object_id, mapping.object_id_alt or ()):  # the object id, maybe in a record
        node, path = top, []
        for name in id_path[:-1]:
            path.append(name)
            if name not in node:
                break
            node = _fields(_record_of(node[name], ".".join(path), named))
        else:
            if id_path and id_path[-1] in node:
                _expect(node[id_path[-1]], {"string", "int", "long"}, ".".join(id_path), named)
    if mapping.candidate in top:
        _check_entry(_record_of(top[mapping.candidate], mapping.candidate, named), mapping, mapping.candidate,
                     named, forced=False, candidate=True)
    sizes = []
    for name, forced in ((mapping.previous, False), (mapping.forced, True)):
        if name and name in top:
            rec = _record_of(top[name], name, named, array=True)
            _check_entry(rec, mapping, f"{name}[]", named, forced=forced, candidate=False)
            sizes.append(max(1, _min_size(rec, named)))
    info.history_min_item = min(sizes) if sizes else 0
    return info


# ---------------------------------------------------------------------------- guarded scan


class _Scanner:
    """Walks Avro binary data of a checked schema without building values."""

    def __init__(self, buf: bytes, named: dict[str, Any], mapping: AlertMapping, max_items: int,
                 max_history: int, check_text: bool = False, max_values: int = 2_000_000) -> None:
        self.buf, self.pos, self.named, self.check_text = buf, 0, named, check_text
        self.items = self.values = 0
        self.max_values = max_values
        self.leaves: dict[int, int] = {}
        self.max_items, self.max_history = max_items, max_history
        self.history = {n for n in (mapping.previous, mapping.forced) if n}
        self.history_items = 0
        self.min_size: dict[int, int] = {}

    def long(self) -> int:
        shift = result = 0
        buf = self.buf
        while True:
            if self.pos >= len(buf):
                raise AlertError("not a readable Avro alert: truncated (a number runs past the end)")
            b = buf[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return (result >> 1) ^ -(result & 1)
            shift += 7
            if shift > 63:
                raise AlertError("not a readable Avro alert: malformed number")

    def skip(self, n: int, path: str) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise AlertError(f"not a readable Avro alert: field '{path}' runs past the end of the packet",
                             field=path)
        self.pos += n

    def item_size(self, t: Any) -> int:
        key = id(t)
        if key not in self.min_size:
            self.min_size[key] = _min_size(t, self.named)
        return self.min_size[key]

    def value(self, t: Any, path: str) -> None:
        if isinstance(t, str):
            if t in PRIMITIVES:
                self.primitive(t, path)
            else:
                self.value(named_type(t, self.named), path)
            return
        if isinstance(t, list):
            i = self.long()
            if not 0 <= i < len(t):
                raise AlertError(f"not a readable Avro alert: field '{path}' has union branch {i} of {len(t)}",
                                 field=path)
            self.value(t[i], path)
            return
        kind = t.get("type")
        if isinstance(kind, (dict, list)):
            self.value(kind, path)
        elif kind in ("record", "error"):
            for f in t["fields"]:
                self.value(f["type"], f"{path}.{f['name']}" if path else f["name"])
        elif kind == "enum":
            i = self.long()
            if not 0 <= i < len(t.get("symbols", [])):
                raise AlertError(f"not a readable Avro alert: field '{path}' has enum index {i}", field=path)
        elif kind == "fixed":
            self.skip(int(t["size"]), path)
        elif kind in ("array", "map"):
            self.blocks(t, path)
        elif kind in PRIMITIVES:
            self.primitive(kind, path)
        else:
            self.value(named_type(kind, self.named), path)

    def primitive(self, t: str, path: str) -> None:
        if t in ("int", "long"):
            self.long()
        elif t in ("string", "bytes"):
            n, start = self.long(), self.pos
            self.skip(n, path)
            if t == "string" and self.check_text:
                try:
                    self.buf[start : self.pos].decode("utf-8")
                except UnicodeDecodeError:
                    raise AlertError(f"alert field '{path}' is not valid UTF-8", field=path) from None
        elif t != "null":
            self.skip(PRIMITIVES[t], path)

    def blocks(self, t: dict, path: str) -> None:
        is_map = t["type"] == "map"
        sub = t["values"] if is_map else t["items"]
        size = max(1, self.item_size(sub) + (1 if is_map else 0))
        top = path.split("[")[0].split(".")[0]
        while True:
            count = self.long()
            if count == 0:
                return
            if count < 0:
                count = -count
                self.long()  # the block's size in bytes
            left = len(self.buf) - self.pos
            self.items += count
            if count * size > left:
                raise AlertError(f"alert field '{path}' declares {count} items in {left} bytes", status=422,
                                 field=path)
            if top in self.history and path == top:
                self.history_items += count
                if self.history_items > self.max_history:
                    raise AlertError(f"alert field '{path}' declares {self.history_items} history entries (at "
                                     f"most {self.max_history})", status=413, field=path)
            if self.items > self.max_items:
                raise AlertError(f"alert field '{path}' declares more than {self.max_items} items in all",
                                 status=413, field=path)
            key = id(sub)
            if key not in self.leaves:
                self.leaves[key] = _leaves(sub, self.named) + (1 if is_map else 0)
            self.values += count * self.leaves[key]
            if self.values > self.max_values:
                raise AlertError(f"alert field '{path}' declares items of more than {self.max_values} values in all",
                                 status=413, field=path)
            for _ in range(count):
                if is_map:
                    self.skip(self.long(), f"{path}{{}}")
                self.value(sub, f"{path}[]")


def _leaves(t: Any, named: dict[str, Any]) -> int:
    """Values in one value of type ``t`` (a record: its fields'; an array or map: 1, its items being
    counted where they are declared)."""
    if isinstance(t, str):
        return 1 if t in PRIMITIVES else _leaves(named_type(t, named, default="null"), named)
    if isinstance(t, list):
        return 1 + max((_leaves(b, named) for b in t), default=0)
    if not isinstance(t, dict):
        return 1
    kind = t.get("type")
    if isinstance(kind, (dict, list)):
        return _leaves(kind, named)
    if kind in ("record", "error"):
        return max(1, sum(_leaves(f.get("type"), named) for f in t.get("fields", []) if isinstance(f, dict)))
    return 1


def _min_size(t: Any, named: dict[str, Any]) -> int:
    if isinstance(t, str):
        if t in PRIMITIVES:
            return PRIMITIVES[t]
        return _min_size(named_type(t, named), named)
    if isinstance(t, list):
        return 1 + min(_min_size(b, named) for b in t)
    kind = t.get("type")
    if isinstance(kind, (dict, list)):
        return _min_size(kind, named)
    if kind in ("record", "error"):
        return sum(_min_size(f["type"], named) for f in t["fields"])
    if kind == "fixed":
        return int(t["size"])
    if kind in ("enum", "array", "map"):
        return 1
    if kind in PRIMITIVES:
        return PRIMITIVES[kind]
    return _min_size(named_type(kind, named), named)


def scan(data: bytes, count: int, schema: Any, info: SchemaInfo, mapping: AlertMapping, max_items: int,
         max_history: int, check_text: bool = False, max_values: int = 2_000_000) -> None:
    """Walk ``count`` packets of ``data`` (a checked ``schema``) and refuse one whose arrays or maps
    declare more items than its remaining bytes can hold or than the limits allow (and, with
    ``check_text``, one with a string that is not UTF-8), naming the field."""
    sc = _Scanner(data, info.named, mapping, max_items, max_history, check_text, max_values)
    for _ in range(count):
        sc.items = sc.history_items = sc.values = 0
        sc.value(schema, "")
