"""Bulk decoding of journal payloads (JSON) into columns.

The JSON structure of each event type is derived from the realtime service's
own event structs (`realtime.events`), so it is declared once. Decoding runs
in an in-memory DuckDB (`json_transform_strict`, vectorised C++), which is
several times faster than building a Python object per event and does not
hold the GIL. Strict means a payload lacking a field its struct declares, or
holding a value of the wrong type, fails the batch loudly instead of shipping
a NULL.

Nested structs are flattened with dots: `request.symbol`. A dict keyed by
string (`FeatureLimitsChanged.scales`) is one column holding a DuckDB MAP, read
as strictly; pandas gets it as a list of (key, value dict) pairs per event, which
the projection that ships it flattens (`assets.warehouse.projections`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import duckdb
import msgspec.inspect as mi
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from realtime.journal import JournalDecodeError
from realtime.journal.format import EVENT_CLASSES

_TAG: Final = "type"
# Decoded and checked by the strict transform, but not returned: the journal's
# own ts_ns column (covered by the row checksum) is the event time.
_SKIPPED: Final = frozenset({_TAG, "ts_ns"})


def _duckdb_type(info: mi.Type) -> Any:
    if isinstance(info, mi.UnionType):
        members = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if len(members) != 1:
            raise TypeError(f"cannot decode a union of {members} in bulk")
        return _duckdb_type(members[0])
    if isinstance(info, mi.StructType):
        return {f.encode_name: _duckdb_type(f.type) for f in info.fields}
    if isinstance(info, (mi.StrType, mi.EnumType)):
        return "VARCHAR"
    if isinstance(info, mi.IntType):
        return "BIGINT"
    if isinstance(info, mi.FloatType):
        return "DOUBLE"
    if isinstance(info, mi.BoolType):
        return "BOOLEAN"
    if isinstance(info, mi.DictType):
        # json_transform's structure has no MAP form: it takes the SQL type as a string.
        return _sql_type(info)
    raise TypeError(f"no bulk decoding for {info}")


def _sql_type(info: mi.Type) -> str:
    """The DuckDB SQL type of a value inside a MAP (strict: every struct key present;
    msgspec writes a field with a default too, so a journaled value always has it)."""
    if isinstance(info, mi.DictType):
        if not isinstance(info.key_type, mi.StrType):
            raise TypeError(f"cannot decode a dict keyed by {info.key_type} in bulk")
        return f"MAP(VARCHAR, {_sql_type(info.value_type)})"
    if isinstance(info, mi.StructType):
        fields = ", ".join(f'"{f.encode_name}" {_sql_type(f.type)}' for f in info.fields)
        return f"STRUCT({fields})"
    leaf = _duckdb_type(info)
    if not isinstance(leaf, str):
        raise TypeError(f"no bulk decoding for {info} inside a dict")
    return leaf


@functools.cache
def payload_structure(type_name: str) -> dict[str, Any]:
    """The JSON structure of one event type, as json_transform wants it: the fields
    every payload has (a field with a default is in `optional_fields` instead)."""
    info = mi.type_info(EVENT_CLASSES[type_name])
    assert isinstance(info, mi.StructType)
    return {_TAG: "VARCHAR", **_required(info)}


def _required(info: mi.StructType) -> dict[str, Any]:
    return {
        f.encode_name: _required(f.type)
        if isinstance(f.type, mi.StructType)
        else _duckdb_type(f.type)
        for f in info.fields
        if f.required or isinstance(f.type, mi.StructType)
    }


@functools.cache
def optional_fields(type_name: str) -> dict[str, tuple[Any, str]]:
    """Fields added to an event later, with a default (`OrderFilled.fee`): path ->
    (type, the default as JSON). Journals written before a field existed lack it, so
    it is read as the default where absent, and still type-checked where present."""
    info = mi.type_info(EVENT_CLASSES[type_name])
    assert isinstance(info, mi.StructType)
    return dict(_optional(info, ""))


def _optional(info: mi.StructType, prefix: str) -> list[tuple[str, tuple[Any, str]]]:
    found: list[tuple[str, tuple[Any, str]]] = []
    for f in info.fields:
        if isinstance(f.type, mi.StructType):
            found += _optional(f.type, f"{prefix}{f.encode_name}.")
        elif not f.required:
            default = json.dumps(f.default)
            found.append((f"{prefix}{f.encode_name}", (_duckdb_type(f.type), default)))
    return found


def _paths(structure: dict[str, Any], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for key, value in structure.items():
        path = f"{prefix}{key}"
        paths.extend(_paths(value, f"{path}.") if isinstance(value, dict) else [path])
    return paths


@dataclass(frozen=True, slots=True)
class PayloadGroup:
    """Payloads of some of a batch's rows: `rows` indexes the batch (None: every row),
    in seq order, one payload each. `code` is the one type code they all have, or None
    where they mix types (each type then picked out by its code)."""

    rows: np.ndarray | None
    payloads: pa.Array
    code: int | None = None


def decode_payloads(
    con: duckdb.DuckDBPyConnection,
    seq: np.ndarray,
    ts_ns: np.ndarray,
    type_codes: np.ndarray,
    type_names: Sequence[str],
    payloads: pa.Array | Sequence[PayloadGroup],
) -> dict[str, pd.DataFrame]:
    """One frame per event type present: `seq`, `ts_ns` and the payload fields.

    `payloads` is one per row, or the rows' payloads in groups. A group of one type
    is decoded as it is; in a mixed one each type is a filtered scan of the whole
    group, whose cost (Arrow materialises the filtered strings, on its own thread) is
    why the journal reader hands market data over in groups of one type.

    String fields come back as categoricals: dictionary-encoded in C++, they
    reach both warehouses without a Python object per value.
    """
    groups = [PayloadGroup(None, payloads)] if isinstance(payloads, pa.Array) else payloads
    frames: dict[str, pd.DataFrame] = {}
    for group in groups:
        rows = slice(None) if group.rows is None else group.rows
        if group.code is not None:
            frames[type_names[group.code]] = _decode_group(
                con, type_names[group.code], seq[rows], ts_ns[rows], group.payloads
            )
        else:
            frames |= _decode_mixed(
                con, seq[rows], ts_ns[rows], type_codes[rows], type_names, group.payloads
            )
    return frames


def _decode_group(
    con: duckdb.DuckDBPyConnection,
    name: str,
    seq: np.ndarray,
    ts_ns: np.ndarray,
    payloads: pa.Array,
) -> pd.DataFrame:
    con.register("payload_batch", pa.table({"seq": pa.array(seq), "p": payloads}))
    try:
        frame = _decode_one(con, name, None, seq)
    finally:
        con.unregister("payload_batch")
    frame.insert(1, "ts_ns", ts_ns)
    return frame


def _decode_mixed(
    con: duckdb.DuckDBPyConnection,
    seq: np.ndarray,
    ts_ns: np.ndarray,
    type_codes: np.ndarray,
    type_names: Sequence[str],
    payloads: pa.Array,
) -> dict[str, pd.DataFrame]:
    batch = pa.table({"seq": pa.array(seq), "code": pa.array(type_codes), "p": payloads})
    present = np.unique(type_codes)
    frames: dict[str, pd.DataFrame] = {}
    con.register("payload_batch", batch)
    try:
        for code in present.tolist():
            name = type_names[code]
            rows = seq if len(present) == 1 else seq[type_codes == code]
            frame = _decode_one(con, name, code, rows)
            frame.insert(1, "ts_ns", ts_ns if len(present) == 1 else ts_ns[type_codes == code])
            frames[name] = frame
    finally:
        con.unregister("payload_batch")
    return frames


def _decode_one(
    con: duckdb.DuckDBPyConnection, type_name: str, code: int | None, seq: np.ndarray
) -> pd.DataFrame:
    """The rows of `payload_batch` with type code `code` (None: every row) decoded."""
    structure = payload_structure(type_name)
    fields = [p for p in _paths(structure) if p not in _SKIPPED]
    select = ", ".join(f'j.{_sql_path(p)} AS "{p}"' for p in fields)
    optional = optional_fields(type_name)
    for i, (path, (duck_type, default)) in enumerate(optional.items(), start=1):
        # A missing key reads as the default; a present one is transformed as strictly.
        select += (
            f", json_transform_strict(coalesce(o[{i}], '{default}'::JSON), "
            f'\'"{duck_type}"\') AS "{path}"'
        )
    # All optional fields in one json_extract (a list of paths): one parse of the
    # payload for all of them, where one json_extract each parsed it once per field.
    paths = ", ".join(f"'$.{path}'" for path in optional)
    extract = f", json_extract(p, [{paths}]) AS o" if optional else ""
    where = "" if code is None else f" WHERE code = {int(code)}"
    # seq travels through the query with its payload so that the row order
    # can be checked rather than assumed.
    sql = (
        f"SELECT seq, j.{_TAG} AS {_TAG}, {select} FROM (SELECT seq, "
        f"json_transform_strict(p, ?) AS j{extract} FROM payload_batch{where})"
    )
    try:
        result = con.execute(sql, [json.dumps(structure)]).to_arrow_table()
    except duckdb.Error as exc:
        raise JournalDecodeError(f"{type_name} payloads do not decode: {exc}") from exc
    if not np.array_equal(result.column("seq").to_numpy(), seq):
        raise JournalDecodeError(f"{type_name} payloads decoded out of order")
    tags = result.column(_TAG)
    wrong = pc.not_equal(tags, type_name)
    if pc.any(wrong).as_py():
        index = pc.index(wrong, True).as_py()
        raise JournalDecodeError(
            f"event seq {int(seq[index])} is stored as {type_name} but its payload says "
            f"{tags[index].as_py()!r}"
        )
    result = result.drop_columns([_TAG])
    maps = [f.name for f in result.schema if pa.types.is_map(f.type)]
    plain = result.drop_columns(maps) if maps else result
    frame: pd.DataFrame = plain.to_pandas(strings_to_categorical=True)
    for name in maps:
        # As Python values: pandas' conversion makes a nullable integer inside a MAP
        # a float (a nanosecond time off by up to 128 ns), as_py keeps it exact.
        column = result.column(name).to_pylist()
        frame.insert(result.column_names.index(name), name, pd.Series(column, dtype=object))
    return frame


def _sql_path(path: str) -> str:
    return ".".join(f'"{part}"' for part in path.split("."))
