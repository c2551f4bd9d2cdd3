"""How a file writes its values: the variety the contract accepts, as named presets.

Real exports differ in delimiter, quoting, BOM, header case, timestamp notation, number
notation and whether empty optional cells are left out. Every variation here is
*accepted* by the contract (they are not faults): the loaded data must be identical
whatever preset wrote it. Shares are per row, drawn from the row's noise word.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

#: Timestamp notations, weights in this order: wall-clock without offset, ``Z``,
#: ``±HH:MM``, ``±HHMM``, ``+00:00``.
TsWeights = tuple[float, float, float, float, float]


@dataclass(frozen=True)
class FileStyle:
    # CSV / TXT
    delimiter: str = ","
    bom: bool = False
    crlf: bool = False
    quote_all: bool = False  # else only values that need it (delimiter, quote, newline)
    # every text format
    header: str = "as_is"  # as_is | upper | title | padded
    extra_column: str | None = None  # schema drift: a column the contract does not know
    pad: float = 0.0  # share of values written with surrounding spaces
    blank_defaults: float = 0.0  # share of default-valued optional cells left empty
    case_mix: float = 0.0  # share of allowed-set / currency values in another letter case
    ts_zone: TsWeights = (1.0, 0.0, 0.0, 0.0, 0.0)
    t_sep: float = 0.0  # share written with 'T' between date and time
    drop_seconds: float = 0.0  # share of whole-minute times written without seconds
    fraction: int = 0  # fraction digits written at least (0, 3 or 6)
    date_only: float = 0.0  # share of local-midnight timestamps written as a bare date
    num_variants: float = 0.0  # share of numbers written as 12.0, 12. or .5
    month_as_date: float = 0.0  # share of month values written as a date
    # JSON
    json_numbers: bool = True  # numbers as JSON numbers (else as strings)
    json_omit_nulls: bool = False  # leave null keys out of the object
    # Parquet
    parquet_num: str = "decimal"  # decimal | double | text
    parquet_local: tuple[str, ...] = ()  # ts columns stored as naive wall-clock time
    parquet_text: tuple[str, ...] = ()  # columns stored as text in this style
    # XLSX
    xlsx_native: bool = True  # numbers, dates (and whole-second times) as native cells

    def but(self, **changes: object) -> FileStyle:
        return replace(self, **changes)  # type: ignore[arg-type]


MIXED_TS: TsWeights = (0.45, 0.2, 0.2, 0.1, 0.05)

PLAIN = FileStyle()
CSV_QUOTED = FileStyle(quote_all=True, ts_zone=MIXED_TS, t_sep=0.3, drop_seconds=0.3,
                       blank_defaults=0.3)
CSV_ODD = FileStyle(bom=True, header="padded", quote_all=True, pad=0.15, case_mix=0.2,
                    blank_defaults=0.5, extra_column="source_system")
SEMI = FileStyle(delimiter=";", header="upper", ts_zone=(0.6, 0.0, 0.4, 0.0, 0.0),
                 num_variants=0.1, blank_defaults=0.4, date_only=0.5, month_as_date=0.3)
SEMI_BOM = SEMI.but(bom=True, crlf=True, header="title", extra_column="Exported At")
PIPE = FileStyle(delimiter="|", ts_zone=(0.3, 0.3, 0.0, 0.4, 0.0), t_sep=1.0, fraction=3,
                 pad=0.05, case_mix=0.1)
TAB = FileStyle(delimiter="\t", header="title", ts_zone=MIXED_TS, drop_seconds=0.5,
                blank_defaults=0.5)
CSV_CRLF = FileStyle(crlf=True, ts_zone=(0.0, 1.0, 0.0, 0.0, 0.0), t_sep=1.0, fraction=6,
                     num_variants=0.2)
CSV_BOM = FileStyle(bom=True, header="upper", quote_all=True, ts_zone=MIXED_TS, pad=0.1,
                    extra_column="batch_no")
JSON_A = FileStyle(ts_zone=MIXED_TS, t_sep=0.5, json_omit_nulls=True, case_mix=0.1)
JSON_B = FileStyle(bom=True, ts_zone=(0.2, 0.4, 0.4, 0.0, 0.0), t_sep=1.0, json_numbers=False,
                   blank_defaults=0.5, header="upper")
JSON_C = FileStyle(bom=True, ts_zone=(0.7, 0.0, 0.0, 0.3, 0.0), drop_seconds=0.5, pad=0.05,
                   extra_column="_etl_batch", json_omit_nulls=True, blank_defaults=0.3)
PARQUET_DEC = FileStyle()
PARQUET_DBL = FileStyle(parquet_num="double")
XLSX = FileStyle(ts_zone=MIXED_TS, month_as_date=0.5)
XLSX_TEXT = FileStyle(xlsx_native=False, header="title", ts_zone=(0.5, 0.0, 0.5, 0.0, 0.0))
