/**
 * Row encoding for `LOAD DATA LOCAL INFILE` in its default escaped text format
 * (FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n', CHARACTER SET utf8mb4):
 * NULL is `\N`; in text values backslash, tab, newline, carriage return and NUL are escaped;
 * binary values (BINARY/VARBINARY/BLOB/BIT/GEOMETRY) go as hex into a user variable and the
 * statement sets the column to `UNHEX(@var)`, so no byte is reinterpreted by a character set.
 * Extract-* columns are constants set by the statement (`SET col = 'value'`), not per row.
 */
import { NUMERIC_TYPES } from './row-stream.js';
import { quoteValue as escapeValue, quoteId, quoteTable } from '../../sql/index.js';
import type { ColumnInfo } from './dump-table-info.js';
import type { OnDuplicate } from './config.js';

const BINARY_TYPES = new Set([
  'binary',
  'varbinary',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'bit',
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
  'geomcollection',
]);
/** Types whose text never holds a character that needs escaping. */
const PLAIN_TYPES: ReadonlySet<string> = new Set([...NUMERIC_TYPES, 'date', 'time', 'datetime', 'timestamp']);

export function isBinaryColumn(c: Pick<ColumnInfo, 'dataType'>): boolean {
  return BINARY_TYPES.has(c.dataType);
}

/** How each column's value is written: 0 escaped text, 1 as is (numbers, dates: never a byte to escape), 2 hex. */
export type FieldKinds = Uint8Array;

export function fieldKinds(columns: readonly Pick<ColumnInfo, 'dataType'>[]): FieldKinds {
  return Uint8Array.from(columns.map((c) => (isBinaryColumn(c) ? 2 : PLAIN_TYPES.has(c.dataType) ? 1 : 0)));
}

const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const ESCAPE_ALL = /[\\\t\n\r\0]/g;
const ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };
const escChar = (ch: string): string => ESC[ch] ?? ch;

/** Escape one text value for the LOAD DATA escaped format. */
export function escapeField(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPE_ALL, escChar) : s;
}

/** Encodes one row (array of exact values, in `columns` order) as one LOAD DATA line, '\n' included. */
export type LineEncoder = (row: unknown[]) => string;

export function makeLineEncoder(columns: readonly ColumnInfo[]): LineEncoder {
  const kind = fieldKinds(columns);
  const n = columns.length;
  const field = (v: unknown, k: number): string => {
    if (v === null || v === undefined) return '\\N';
    if (k === 2)
      return Buffer.isBuffer(v)
        ? v.toString('hex')
        : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8').toString('hex');
    if (typeof v === 'string') return k === 1 ? v : escapeField(v);
    if (typeof v === 'number' || typeof v === 'bigint') return String(v);
    if (Buffer.isBuffer(v)) return escapeField(v.toString('utf8'));
    return escapeField(JSON.stringify(v));
  };
  return (row) => {
    let s = field(row[0], kind[0] ?? 0);
    for (let i = 1; i < n; i++) s += '\t' + field(row[i], kind[i] ?? 0);
    return s + '\n';
  };
}

const VERB: Record<OnDuplicate, string> = { replace: ' REPLACE', ignore: ' IGNORE', error: '' };

/**
 * The LOAD DATA LOCAL INFILE statement for a table: copied columns in order (binary ones via
 * `@vN` + UNHEX), extract-* columns as constants. `file` is the name handed to the stream factory.
 */
export function loadDataSQL(opts: {
  file: string;
  schema: string;
  table: string;
  columns: readonly ColumnInfo[];
  extracted: readonly { column: string; value: string }[];
  onDuplicate: OnDuplicate;
}): string {
  const targets: string[] = [];
  const sets: string[] = [];
  opts.columns.forEach((c, i) => {
    if (isBinaryColumn(c)) {
      targets.push(`@v${i}`);
      sets.push(`${quoteId(c.name)} = UNHEX(@v${i})`);
    } else targets.push(quoteId(c.name));
  });
  for (const x of opts.extracted) sets.push(`${quoteId(x.column)} = ${escapeValue(x.value)}`);
  return (
    `LOAD DATA LOCAL INFILE ${escapeValue(opts.file)}${VERB[opts.onDuplicate]} INTO TABLE ${quoteTable(opts.schema, opts.table)} ` +
    `CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ` +
    `(${targets.join(',')})${sets.length > 0 ? ` SET ${sets.join(', ')}` : ''}`
  );
}
