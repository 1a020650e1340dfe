/**
 * Expression filter (`expression-filter`): a SQL boolean expression per table and DML kind; a row
 * change for which it is TRUE is skipped (not applied to the target). NULL or FALSE keep the row.
 * For UPDATE, a rule with both `update-old-value-expr` and `update-new-value-expr` skips only when
 * both are TRUE; several rules on one table skip when any of them does.
 *
 * Expressions are parsed with node-sql-parser (as `SELECT * FROM t WHERE <expr>`) and the AST is
 * evaluated here with SQL three-valued logic. Supported: = <> != < <= > >=, AND OR XOR NOT,
 * IN / NOT IN, BETWEEN / NOT BETWEEN, LIKE / NOT LIKE, REGEXP / RLIKE, IS [NOT] NULL / TRUE / FALSE,
 * + - * / % DIV, unary minus, and the functions in FUNCTIONS below. Strings compare as binary
 * (like TiDB's default utf8mb4_bin); numbers and numeric strings compare numerically (exact for
 * integers of any size). Anything else is ErrExprFilterUnsupported when the filter is created.
 */
import { createRequire } from 'node:module';
import { DMError } from '../errors/index.js';
import type { ExpressionFilterRule } from './types.js';

type SqlParser = {
  astify(sql: string, opt?: { database?: string }): unknown;
};
let parser: SqlParser | undefined;
/**
 * The MariaDB-only build of node-sql-parser, loaded on first use (tasks without expression
 * filters never pay its ~20 MB).
 */
function getParser(): SqlParser {
  if (!parser) {
    const { Parser } = createRequire(import.meta.url)('node-sql-parser/build/mariadb.js') as { Parser: new () => SqlParser };
    parser = new Parser();
  }
  return parser;
}

type Value = null | boolean | number | bigint | string | Buffer;

interface Node {
  type: string;
  [k: string]: unknown;
}

type Evaluator = (get: (col: string) => Value) => Value;

export interface CompiledExpression {
  readonly source: string;
  readonly columns: readonly string[];
  evaluate(get: (col: string) => unknown): Value;
}

function unsupported(what: string, expr: string): never {
  throw new DMError('ErrExprFilterUnsupported', `expression ${JSON.stringify(expr)}: ${what} is not supported`);
}

function isNumLike(v: Value): v is number | bigint | string | boolean {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return true;
  return typeof v === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v);
}

const INT_RE = /^\s*[+-]?\d+\s*$/;

function toNumber(v: Value): number {
  if (v === null) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (Buffer.isBuffer(v)) return Number.parseFloat(v.toString('latin1')) || 0;
  const f = Number.parseFloat(v);
  return Number.isNaN(f) ? 0 : f;
}

function toStr(v: Value): string {
  if (v === null) return '';
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/** MySQL-style comparison: numeric when either side is a number (or both look numeric), else binary string. */
function compare(a: Value, b: Value): number | null {
  if (a === null || b === null) return null;
  const aNum = typeof a === 'number' || typeof a === 'bigint' || typeof a === 'boolean';
  const bNum = typeof b === 'number' || typeof b === 'bigint' || typeof b === 'boolean';
  if (aNum || bNum || (isNumLike(a) && isNumLike(b))) {
    const ai = typeof a === 'bigint' ? a : typeof a === 'string' && INT_RE.test(a) ? BigInt(a.trim()) : typeof a === 'number' && Number.isInteger(a) ? BigInt(a) : undefined;
    const bi = typeof b === 'bigint' ? b : typeof b === 'string' && INT_RE.test(b) ? BigInt(b.trim()) : typeof b === 'number' && Number.isInteger(b) ? BigInt(b) : undefined;
    if (ai !== undefined && bi !== undefined) return ai < bi ? -1 : ai > bi ? 1 : 0;
    const x = toNumber(a);
    const y = toNumber(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = Buffer.isBuffer(a) ? a : Buffer.from(toStr(a), 'utf8');
  const y = Buffer.isBuffer(b) ? b : Buffer.from(toStr(b), 'utf8');
  return Buffer.compare(x, y);
}

function truth(v: Value): boolean | null {
  if (v === null) return null;
  if (typeof v === 'boolean') return v;
  return toNumber(v) !== 0;
}

function likeToRegex(pattern: string): RegExp {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      out += (pattern[i + 1] as string).replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
      i++;
    } else if (c === '%') out += '[\\s\\S]*';
    else if (c === '_') out += '[\\s\\S]';
    else out += c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  }
  return new RegExp(out + '$', 's');
}

function arith(op: string, a: Value, b: Value): Value {
  if (a === null || b === null) return null;
  const ai = typeof a === 'bigint' ? a : typeof a === 'string' && INT_RE.test(a) ? BigInt(a.trim()) : typeof a === 'number' && Number.isSafeInteger(a) ? BigInt(a) : undefined;
  const bi = typeof b === 'bigint' ? b : typeof b === 'string' && INT_RE.test(b) ? BigInt(b.trim()) : typeof b === 'number' && Number.isSafeInteger(b) ? BigInt(b) : undefined;
  if (ai !== undefined && bi !== undefined && (op === '+' || op === '-' || op === '*')) {
    const r = op === '+' ? ai + bi : op === '-' ? ai - bi : ai * bi;
    return Number.isSafeInteger(Number(r)) ? Number(r) : r;
  }
  if (op === 'DIV') {
    if (ai !== undefined && bi !== undefined) return bi === 0n ? null : ai / bi;
    const y = toNumber(b);
    return y === 0 ? null : Math.trunc(toNumber(a) / y);
  }
  const x = toNumber(a);
  const y = toNumber(b);
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      return y === 0 ? null : x / y;
    case '%':
    case 'MOD':
      return y === 0 ? null : x % y;
    default:
      return null;
  }
}

type Fn = (args: Value[]) => Value;
const nullIfAny = (f: (args: Value[]) => Value): Fn => (args) => (args.some((a) => a === null) ? null : f(args));

/** Functions the expression filter evaluates (names uppercase). */
export const FUNCTIONS: Record<string, Fn> = {
  LENGTH: nullIfAny(([a]) => (Buffer.isBuffer(a) ? a.length : Buffer.byteLength(toStr(a ?? null), 'utf8'))),
  OCTET_LENGTH: nullIfAny(([a]) => (Buffer.isBuffer(a) ? a.length : Buffer.byteLength(toStr(a ?? null), 'utf8'))),
  CHAR_LENGTH: nullIfAny(([a]) => [...toStr(a ?? null)].length),
  CHARACTER_LENGTH: nullIfAny(([a]) => [...toStr(a ?? null)].length),
  UPPER: nullIfAny(([a]) => toStr(a ?? null).toUpperCase()),
  UCASE: nullIfAny(([a]) => toStr(a ?? null).toUpperCase()),
  LOWER: nullIfAny(([a]) => toStr(a ?? null).toLowerCase()),
  LCASE: nullIfAny(([a]) => toStr(a ?? null).toLowerCase()),
  ABS: nullIfAny(([a]) => Math.abs(toNumber(a ?? null))),
  FLOOR: nullIfAny(([a]) => Math.floor(toNumber(a ?? null))),
  CEIL: nullIfAny(([a]) => Math.ceil(toNumber(a ?? null))),
  CEILING: nullIfAny(([a]) => Math.ceil(toNumber(a ?? null))),
  ROUND: nullIfAny(([a, d]) => {
    const p = 10 ** (d === undefined ? 0 : toNumber(d));
    const x = toNumber(a ?? null) * p;
    return (Math.sign(x) * Math.round(Math.abs(x))) / p;
  }),
  MOD: nullIfAny(([a, b]) => arith('%', a ?? null, b ?? null)),
  CONCAT: nullIfAny((args) => args.map(toStr).join('')),
  LEFT: nullIfAny(([s, n]) => [...toStr(s ?? null)].slice(0, Math.max(0, toNumber(n ?? null))).join('')),
  RIGHT: nullIfAny(([s, n]) => {
    const cs = [...toStr(s ?? null)];
    const k = Math.max(0, toNumber(n ?? null));
    return k === 0 ? '' : cs.slice(-k).join('');
  }),
  SUBSTRING: nullIfAny(([s, p, n]) => {
    const cs = [...toStr(s ?? null)];
    let start = toNumber(p ?? null);
    if (start === 0) return '';
    start = start > 0 ? start - 1 : cs.length + start;
    const end = n === undefined ? cs.length : start + Math.max(0, toNumber(n));
    return cs.slice(Math.max(0, start), end).join('');
  }),
  TRIM: nullIfAny(([a]) => toStr(a ?? null).replace(/^ +| +$/g, '')),
  COALESCE: (args) => args.find((a) => a !== null) ?? null,
  IFNULL: ([a, b]) => (a === null || a === undefined ? (b ?? null) : a),
  ISNULL: ([a]) => a === null,
  IF: ([c, a, b]) => (truth(c ?? null) === true ? (a ?? null) : (b ?? null)),
};
FUNCTIONS.SUBSTR = FUNCTIONS.SUBSTRING as Fn;
FUNCTIONS.MID = FUNCTIONS.SUBSTRING as Fn;

function compileNode(n: Node, expr: string, cols: Set<string>): Evaluator {
  switch (n.type) {
    case 'number':
      return () => n.value as number;
    case 'bigint': {
      const s = String(n.value);
      const v: Value = INT_RE.test(s) ? BigInt(s) : Number(s);
      return () => v;
    }
    case 'single_quote_string':
    case 'double_quote_string':
    case 'string':
    case 'natural_string': {
      const s = String(n.value);
      return () => s;
    }
    case 'hex_string':
    case 'full_hex_string': {
      const b = Buffer.from(String(n.value), 'hex');
      return () => b;
    }
    case 'bool':
      return () => n.value as boolean;
    case 'null':
      return () => null;
    case 'column_ref': {
      const c = n.column;
      const name = typeof c === 'string' ? c : c && typeof c === 'object' && 'expr' in c ? String((c as { expr: { value: unknown } }).expr.value) : undefined;
      if (name === undefined) unsupported('this column reference', expr);
      cols.add(name);
      return (get) => get(name);
    }
    case 'unary_expr': {
      const op = String(n.operator).toUpperCase();
      const e = compileNode(n.expr as Node, expr, cols);
      if (op === 'NOT' || op === '!') return (g) => {
        const t = truth(e(g));
        return t === null ? null : !t;
      };
      if (op === '-') return (g) => {
        const v = e(g);
        if (v === null) return null;
        if (typeof v === 'bigint') return -v;
        if (typeof v === 'string' && INT_RE.test(v)) {
          const b = -BigInt(v.trim());
          return Number.isSafeInteger(Number(b)) ? Number(b) : b;
        }
        return -toNumber(v);
      };
      if (op === '+') return e;
      return unsupported(`operator ${op}`, expr);
    }
    case 'binary_expr':
      return compileBinary(n, expr, cols);
    case 'function': {
      const nameParts = (n.name as { name?: { value: string }[] } | undefined)?.name;
      const fname = nameParts?.map((p) => p.value).join('.').toUpperCase() ?? '';
      if (fname === 'NOT') {
        // `NOT (expr)` parses as a call of NOT.
        return compileNode({ type: 'unary_expr', operator: 'NOT', expr: n.args }, expr, cols);
      }
      const fn = FUNCTIONS[fname];
      if (!fn) return unsupported(`function ${fname || '?'}`, expr);
      const argList = ((n.args as { value?: Node[] } | undefined)?.value ?? []).map((a) => compileNode(a, expr, cols));
      return (g) => fn(argList.map((a) => a(g)));
    }
    case 'expr_list': {
      const items = ((n.value as Node[] | undefined) ?? []).map((a) => compileNode(a, expr, cols));
      if (items.length === 1) return items[0] as Evaluator;
      return unsupported('a row constructor', expr);
    }
    default:
      return unsupported(`${n.type} expressions`, expr);
  }
}

/**
 * `value [NOT] LIKE|REGEXP pattern`: NULL when either side is NULL; the compiled pattern of each
 * distinct pattern text is kept (up to `maxCached` of them).
 */
function patternMatch(left: Evaluator, pattern: Evaluator, neg: boolean, toRegex: (pattern: string) => RegExp, maxCached: number): Evaluator {
  const cache = new Map<string, RegExp>();
  return (g) => {
    const v = left(g);
    const p = pattern(g);
    if (v === null || p === null) return null;
    const ps = toStr(p);
    let re = cache.get(ps);
    if (!re) {
      re = toRegex(ps);
      if (cache.size < maxCached) cache.set(ps, re);
    }
    const m = re.test(toStr(v));
    return neg ? !m : m;
  };
}

/**
 * SQL's three-valued AND (`dominant` false) and OR (`dominant` true): a side equal to `dominant`
 * decides (the right side is not evaluated when the left one does), else NULL when either is NULL.
 */
function threeValued(dominant: boolean, left: Evaluator, right: Evaluator): Evaluator {
  return (g) => {
    const a = truth(left(g));
    if (a === dominant) return dominant;
    const b = truth(right(g));
    if (b === dominant) return dominant;
    return a === null || b === null ? null : !dominant;
  };
}

function compileBinary(n: Node, expr: string, cols: Set<string>): Evaluator {
  const op = String(n.operator).toUpperCase();
  const left = compileNode(n.left as Node, expr, cols);
  const rightNode = n.right as Node;
  const listOf = (): Evaluator[] => {
    if (rightNode.type !== 'expr_list') return unsupported(`${op} without a value list`, expr);
    return ((rightNode.value as Node[] | undefined) ?? []).map((a) => compileNode(a, expr, cols));
  };
  switch (op) {
    case 'AND':
    case '&&':
      return threeValued(false, left, compileNode(rightNode, expr, cols));
    case 'OR':
    case '||':
      return threeValued(true, left, compileNode(rightNode, expr, cols));
    case 'XOR': {
      const r = compileNode(rightNode, expr, cols);
      return (g) => {
        const a = truth(left(g));
        const b = truth(r(g));
        return a === null || b === null ? null : a !== b;
      };
    }
    case '=':
    case '<>':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const r = compileNode(rightNode, expr, cols);
      return (g) => {
        const c = compare(left(g), r(g));
        if (c === null) return null;
        switch (op) {
          case '=':
            return c === 0;
          case '<>':
          case '!=':
            return c !== 0;
          case '<':
            return c < 0;
          case '<=':
            return c <= 0;
          case '>':
            return c > 0;
          default:
            return c >= 0;
        }
      };
    }
    case 'IN':
    case 'NOT IN': {
      const items = listOf();
      const neg = op === 'NOT IN';
      return (g) => {
        const v = left(g);
        if (v === null) return null;
        let sawNull = false;
        for (const it of items) {
          const c = compare(v, it(g));
          if (c === null) sawNull = true;
          else if (c === 0) return !neg;
        }
        return sawNull ? null : neg;
      };
    }
    case 'BETWEEN':
    case 'NOT BETWEEN': {
      const items = listOf();
      if (items.length !== 2) return unsupported('BETWEEN without two bounds', expr);
      const [lo, hi] = items as [Evaluator, Evaluator];
      const neg = op === 'NOT BETWEEN';
      return (g) => {
        const v = left(g);
        const a = compare(v, lo(g));
        const b = compare(v, hi(g));
        if (a === null || b === null) return null;
        const inside = a >= 0 && b <= 0;
        return neg ? !inside : inside;
      };
    }
    case 'LIKE':
    case 'NOT LIKE':
      return patternMatch(left, compileNode(rightNode, expr, cols), op === 'NOT LIKE', likeToRegex, Infinity);
    case 'REGEXP':
    case 'RLIKE':
    case 'NOT REGEXP':
    case 'NOT RLIKE':
      return patternMatch(
        left,
        compileNode(rightNode, expr, cols),
        op.startsWith('NOT'),
        (ps) => {
          try {
            return new RegExp(ps);
          } catch (e) {
            throw new DMError('ErrExprFilterInvalid', `expression ${JSON.stringify(expr)}: invalid regular expression ${JSON.stringify(ps)}`, { cause: e });
          }
        },
        64,
      );
    case 'IS':
    case 'IS NOT': {
      const neg = op === 'IS NOT';
      if (rightNode.type === 'null') return (g) => (left(g) === null) !== neg;
      if (rightNode.type === 'bool') {
        const want = rightNode.value as boolean;
        return (g) => (truth(left(g)) === want) !== neg;
      }
      return unsupported(`${op} with ${rightNode.type}`, expr);
    }
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
    case 'MOD':
    case 'DIV': {
      const r = compileNode(rightNode, expr, cols);
      return (g) => arith(op, left(g), r(g));
    }
    default:
      return unsupported(`operator ${op}`, expr);
  }
}

/** Parse and compile one boolean expression. Throws ErrExprFilterInvalid / ErrExprFilterUnsupported. */
export function compileExpression(expr: string): CompiledExpression {
  let ast: unknown;
  try {
    ast = getParser().astify(`SELECT * FROM t WHERE ${expr}`, { database: 'MariaDB' });
  } catch (e) {
    throw new DMError('ErrExprFilterInvalid', `expression ${JSON.stringify(expr)} cannot be parsed`, { cause: e });
  }
  const stmt = (Array.isArray(ast) ? ast[0] : ast) as { type?: string; where?: Node; limit?: unknown; orderby?: unknown } | undefined;
  if (!stmt || stmt.type !== 'select' || !stmt.where || stmt.orderby) {
    throw new DMError('ErrExprFilterInvalid', `expression ${JSON.stringify(expr)} is not a single boolean expression`);
  }
  const cols = new Set<string>();
  const ev = compileNode(stmt.where, expr, cols);
  return {
    source: expr,
    columns: [...cols],
    evaluate: (get) => ev((c) => normalizeValue(get(c))),
  };
}

function normalizeValue(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

export interface ExpressionFilter {
  /** Whether any expression rule applies to the table. */
  has(schema: string, table: string): boolean;
  /**
   * Whether to skip this row change. `columns` names the values of `row` (and `before`) in order.
   * For 'update', `before` is the old row and `row` the new one.
   */
  skipDML(schema: string, table: string, op: 'insert' | 'update' | 'delete', row: readonly unknown[], columns: readonly string[], before?: readonly unknown[]): boolean;
}

/**
 * A column the expression names is not in the row (the table's structure at this binlog position
 * lacks it): as DM, that expression matches nothing (it does not skip the row).
 */
class MissingColumn extends Error {}

interface TableExprs {
  insert: CompiledExpression[];
  update: { old?: CompiledExpression; new?: CompiledExpression }[];
  delete: CompiledExpression[];
}

/**
 * Build the expression filter. `tableColumns`, when given, lists a table's columns so that a rule
 * naming an unknown column fails at creation (ErrExprFilterInvalid) rather than at the first row.
 */
export function createExpressionFilter(
  rules: readonly ExpressionFilterRule[],
  tableColumns?: (schema: string, table: string) => readonly string[] | undefined,
  opts: {
    caseSensitive?: boolean;
    /** Told (once per table, column and layout) when an expression names a column the row does not have. */
    onMissingColumn?: (schema: string, table: string, column: string) => void;
  } = {},
): ExpressionFilter {
  const cs = opts.caseSensitive ?? false;
  const key = (s: string, t: string): string => (cs ? `${s}\u0000${t}` : `${s.toLowerCase()}\u0000${t.toLowerCase()}`);
  const byTable = new Map<string, TableExprs>();
  rules.forEach((r, i) => {
    if (!r.schema || !r.table) throw new DMError('ErrFilterInvalidRule', `expression-filter[${i}]: schema and table must not be empty`);
    const compiled: { e: CompiledExpression; kind: string }[] = [];
    const c = (src: string | undefined, kind: string): CompiledExpression | undefined => {
      if (src === undefined || src.trim() === '') return undefined;
      const e = compileExpression(src);
      compiled.push({ e, kind });
      return e;
    };
    const ins = c(r.insertValueExpr, 'insert-value-expr');
    const uo = c(r.updateOldValueExpr, 'update-old-value-expr');
    const un = c(r.updateNewValueExpr, 'update-new-value-expr');
    const del = c(r.deleteValueExpr, 'delete-value-expr');
    if (compiled.length === 0) throw new DMError('ErrFilterInvalidRule', `expression-filter[${i}] (${r.schema}.${r.table}) has no expression`);
    const known = tableColumns?.(r.schema, r.table);
    if (known) {
      const set = new Set(known.map((k) => k.toLowerCase()));
      for (const { e, kind } of compiled) {
        for (const col of e.columns) {
          if (!set.has(col.toLowerCase())) {
            throw new DMError('ErrExprFilterInvalid', `expression-filter[${i}].${kind}: table ${r.schema}.${r.table} has no column ${JSON.stringify(col)}`);
          }
        }
      }
    }
    const k = key(r.schema, r.table);
    let te = byTable.get(k);
    if (!te) {
      te = { insert: [], update: [], delete: [] };
      byTable.set(k, te);
    }
    if (ins) te.insert.push(ins);
    if (uo || un) te.update.push({ ...(uo ? { old: uo } : {}), ...(un ? { new: un } : {}) });
    if (del) te.delete.push(del);
  });

  const getter = (row: readonly unknown[], columns: readonly string[], schema: string, table: string): ((c: string) => unknown) => {
    const idx = new Map<string, number>();
    columns.forEach((c, i) => idx.set(c.toLowerCase(), i));
    return (c: string) => {
      const i = idx.get(c.toLowerCase());
      if (i === undefined) {
        opts.onMissingColumn?.(schema, table, c);
        throw new MissingColumn(c);
      }
      return row[i];
    };
  };
  /** TRUE (skip) or not; an expression naming a column the row lacks is not TRUE. */
  const isTrue = (e: CompiledExpression, g: (c: string) => unknown): boolean => {
    try {
      return truth(e.evaluate(g)) === true;
    } catch (err) {
      if (err instanceof MissingColumn) return false;
      throw err;
    }
  };

  return {
    has: (schema, table) => byTable.has(key(schema, table)),
    skipDML(schema, table, op, row, columns, before) {
      const te = byTable.get(key(schema, table));
      if (!te) return false;
      if (op === 'insert' || op === 'delete') {
        const g = getter(row, columns, schema, table);
        return (op === 'insert' ? te.insert : te.delete).some((e) => isTrue(e, g));
      }
      const gNew = getter(row, columns, schema, table);
      const gOld = before ? getter(before, columns, schema, table) : undefined;
      return te.update.some((u) => {
        if (u.old) {
          if (!gOld) return false;
          if (!isTrue(u.old, gOld)) return false;
        }
        if (u.new && !isTrue(u.new, gNew)) return false;
        return true;
      });
    },
  };
}
