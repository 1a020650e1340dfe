/**
 * The sample `shop` database: customers, products, orders, order_items, events (~100k rows at
 * scale 1) with varied types — INT/BIGINT UNSIGNED, DECIMAL, DATE, DATETIME(6), utf8mb4 text with
 * emoji, JSON, ENUM, BLOB/VARBINARY and NULLs — loaded with multi-row INSERTs in transactions,
 * and a small writer that keeps changing it (inserts, updates, deletes in transactions).
 * Deterministic: a seeded generator, so every run loads the same data.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mysql, { type Connection } from 'mysql2/promise';
import type { ConnOpts } from '../../test/helpers/mariadb.js';

export const SAMPLE_DB = 'shop';

/** One row's values, in COLS order. */
type Row = (string | number | Buffer | null)[];

const SCHEMA = `
CREATE DATABASE ${SAMPLE_DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
CREATE TABLE ${SAMPLE_DB}.customers (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  email VARCHAR(160) NOT NULL,
  country CHAR(2) NOT NULL,
  vip TINYINT(1) NOT NULL DEFAULT 0,
  balance DECIMAL(12,2) NOT NULL DEFAULT 0.00,
  birthday DATE NULL,
  note TEXT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uk_email (email)
) ENGINE=InnoDB;
CREATE TABLE ${SAMPLE_DB}.products (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sku VARCHAR(32) NOT NULL,
  title VARCHAR(200) NOT NULL,
  price DECIMAL(10,2) NOT NULL,
  weight_kg DECIMAL(8,3) NULL,
  status ENUM('active','discontinued','draft') NOT NULL DEFAULT 'active',
  attrs JSON NULL,
  thumbnail BLOB NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uk_sku (sku)
) ENGINE=InnoDB;
CREATE TABLE ${SAMPLE_DB}.orders (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  customer_id INT UNSIGNED NOT NULL,
  status ENUM('new','paid','shipped','delivered','cancelled') NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  currency CHAR(3) NOT NULL DEFAULT 'EUR',
  placed_at DATETIME(6) NOT NULL,
  shipped_at DATETIME(6) NULL,
  coupon VARCHAR(20) NULL,
  KEY idx_customer (customer_id)
) ENGINE=InnoDB;
CREATE TABLE ${SAMPLE_DB}.order_items (
  order_id BIGINT UNSIGNED NOT NULL,
  line_no SMALLINT UNSIGNED NOT NULL,
  product_id INT UNSIGNED NOT NULL,
  qty SMALLINT NOT NULL,
  unit_price DECIMAL(10,2) NOT NULL,
  discount DECIMAL(5,2) NULL,
  PRIMARY KEY (order_id, line_no)
) ENGINE=InnoDB;
CREATE TABLE ${SAMPLE_DB}.events (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind VARCHAR(32) NOT NULL,
  customer_id INT UNSIGNED NULL,
  payload JSON NULL,
  ip VARBINARY(16) NULL,
  created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB;
`;

/** mulberry32: a small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'Ana',
  'Zoë',
  'José',
  'Łukasz',
  'Ørjan',
  'Søren',
  'Chloé',
  'Mehmet',
  '李雷',
  '韩梅梅',
  'Aiko',
  'Олег',
  'Fatima',
  'Nguyễn',
  'Ciarán',
  'Björk',
];
const LAST = [
  'García',
  'Müller',
  'Núñez',
  "O'Brien",
  'Smith',
  'Kowalski',
  'Dubois',
  '田中',
  'Ivanova',
  'Rossi',
  'Yılmaz',
  'Nakamura',
];
const EMOJI = ['🚀', '😀', '🎉', '☕', '🛒', '💡', '🌍', '✨'];
const COUNTRIES = ['DE', 'FR', 'ES', 'PL', 'NO', 'DK', 'JP', 'CN', 'TR', 'IE', 'US', 'BR'];
const WORDS = [
  'Lamp',
  'Chair',
  'Kettle',
  'Mug',
  'Desk',
  'Pen',
  'Bag',
  'Bottle',
  'Shelf',
  'Rug',
  'Clock',
  'Scarf',
  'Mörser',
  'Tasse',
  'Café',
];
const COLORS = ['red', 'blue', 'green', 'black', 'white', 'oak', 'teal'];
const KINDS = ['page_view', 'add_to_cart', 'checkout', 'login', 'search', 'review'];
const ORDER_STATUS = ['new', 'paid', 'shipped', 'delivered', 'cancelled'] as const;
const BASE_MS = Date.UTC(2024, 0, 1);

export interface Counts {
  customers: number;
  products: number;
  orders: number;
  events: number;
}

/** Row counts at a scale (order_items ≈ 2.5 per order; ~100k rows in all at scale 1). */
export function countsFor(scale: number): Counts {
  const n = (x: number): number => Math.max(10, Math.round(x * scale));
  return { customers: n(5_000), products: n(2_000), orders: n(19_700), events: n(25_000) };
}

class Gen {
  readonly r: () => number;
  constructor(seed: number) {
    this.r = rng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  money(lo: number, hi: number): string {
    return (this.int(lo * 100, hi * 100) / 100).toFixed(2);
  }
  /** 'YYYY-MM-DD HH:MM:SS.ffffff' within ~2 years of 2024-01-01. */
  datetime6(): string {
    const ms = BASE_MS + this.int(0, 730 * 86_400) * 1000;
    const iso = new Date(ms).toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(this.int(0, 999_999)).padStart(6, '0')}`;
  }
  date(): string {
    return new Date(Date.UTC(1950, 0, 1) + this.int(0, 20_000) * 86_400_000).toISOString().slice(0, 10);
  }
  name(): string {
    const n = `${this.pick(FIRST)} ${this.pick(LAST)}`;
    return this.chance(0.15) ? `${n} ${this.pick(EMOJI)}` : n;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
}

function customerRow(g: Gen, id: number): Row {
  return [
    id,
    g.name(),
    `user${id}@example.${g.pick(['com', 'org', 'de', 'jp'])}`,
    g.pick(COUNTRIES),
    g.chance(0.1) ? 1 : 0,
    g.money(0, 5000),
    g.chance(0.7) ? g.date() : null,
    g.chance(0.3) ? `likes ${g.pick(WORDS).toLowerCase()}s ${g.pick(EMOJI)}` : null,
    g.datetime6(),
  ];
}

function productRow(g: Gen, id: number): Row {
  const attrs = g.chance(0.8)
    ? JSON.stringify({
        color: g.pick(COLORS),
        tags: [g.pick(WORDS).toLowerCase(), g.pick(COLORS)],
        stock: g.int(0, 500),
        label: `${g.pick(WORDS)} ${g.pick(EMOJI)}`,
      })
    : null;
  return [
    id,
    `SKU-${String(id).padStart(6, '0')}`,
    `${g.pick(COLORS)} ${g.pick(WORDS)} №${id}`,
    g.money(1, 900),
    g.chance(0.85) ? (g.int(1, 250_000) / 1000).toFixed(3) : null,
    g.pick(['active', 'active', 'active', 'discontinued', 'draft']),
    attrs,
    g.chance(0.5) ? g.bytes(g.int(16, 200)) : null,
    g.datetime6(),
  ];
}

function eventRow(g: Gen, id: number | null, customers: number): Row {
  const kind = g.pick(KINDS);
  return [
    id,
    kind,
    g.chance(0.8) ? g.int(1, customers) : null,
    g.chance(0.7)
      ? JSON.stringify({
          kind,
          path: `/p/${g.int(1, 9999)}`,
          ua: g.pick(['firefox', 'chrome', 'curl']),
          n: g.int(0, 1e6),
          ok: g.chance(0.9),
        })
      : null,
    g.chance(0.6) ? g.bytes(g.chance(0.5) ? 4 : 16) : null,
    g.datetime6(),
  ];
}

/** One order (and its items) as rows; total = sum of the lines. */
function orderRows(g: Gen, id: number, c: Counts): { order: Row; items: Row[] } {
  const items: Row[] = [];
  let total = 0;
  const lines = g.int(1, 4);
  for (let l = 1; l <= lines; l++) {
    const qty = g.int(1, 5);
    const price = g.money(1, 300);
    const discount = g.chance(0.2) ? g.money(0, 30) : null;
    total += qty * Number(price) - Number(discount ?? 0);
    items.push([id, l, g.int(1, c.products), qty, price, discount]);
  }
  const status = g.pick(ORDER_STATUS);
  const placed = g.datetime6();
  return {
    order: [
      id,
      g.int(1, c.customers),
      status,
      Math.max(0, total).toFixed(2),
      g.pick(['EUR', 'EUR', 'USD', 'JPY']),
      placed,
      status === 'shipped' || status === 'delivered' ? g.datetime6() : null,
      g.chance(0.1) ? `SAVE${g.int(5, 50)}` : null,
    ],
    items,
  };
}

const COLS = {
  customers: ['id', 'name', 'email', 'country', 'vip', 'balance', 'birthday', 'note', 'created_at'],
  products: ['id', 'sku', 'title', 'price', 'weight_kg', 'status', 'attrs', 'thumbnail', 'updated_at'],
  orders: ['id', 'customer_id', 'status', 'total', 'currency', 'placed_at', 'shipped_at', 'coupon'],
  order_items: ['order_id', 'line_no', 'product_id', 'qty', 'unit_price', 'discount'],
  events: ['id', 'kind', 'customer_id', 'payload', 'ip', 'created_at'],
} as const;

function insertSql(table: keyof typeof COLS, rows: Row[]): string {
  const cols = COLS[table].map((c) => mysql.escapeId(c)).join(', ');
  return mysql.format(
    `INSERT INTO ${mysql.escapeId(SAMPLE_DB)}.${mysql.escapeId(table)} (${cols}) VALUES ?`,
    [rows],
  );
}

async function connect(opts: ConnOpts): Promise<Connection> {
  return mysql.createConnection({ ...opts, multipleStatements: true, charset: 'utf8mb4' });
}

const BATCH = 1000;
const TXN_ROWS = 10_000;

/** Buffered multi-row inserts, committed every TXN_ROWS rows. */
class Loader {
  private buf = new Map<keyof typeof COLS, Row[]>();
  private inTxn = 0;
  rows = 0;
  constructor(private readonly c: Connection) {}
  async add(table: keyof typeof COLS, row: Row): Promise<void> {
    const b = this.buf.get(table) ?? [];
    b.push(row);
    this.buf.set(table, b);
    if (b.length >= BATCH) await this.flush(table);
  }
  private async flush(table: keyof typeof COLS): Promise<void> {
    const b = this.buf.get(table);
    if (!b || b.length === 0) return;
    this.buf.set(table, []);
    if (this.inTxn === 0) await this.c.query('BEGIN');
    await this.c.query(insertSql(table, b));
    this.inTxn += b.length;
    this.rows += b.length;
    if (this.inTxn >= TXN_ROWS) {
      await this.c.query('COMMIT');
      this.inTxn = 0;
    }
  }
  async finish(): Promise<void> {
    for (const t of [...this.buf.keys()]) await this.flush(t);
    if (this.inTxn > 0) await this.c.query('COMMIT');
    this.inTxn = 0;
  }
}

export interface LoadResult {
  rows: number;
  tables: Record<string, number>;
}

/** Drop and create `shop` on the source and fill it; returns the row counts. */
export async function loadSample(opts: ConnOpts, scale: number, signal: AbortSignal): Promise<LoadResult> {
  const c = await connect(opts);
  try {
    const counts = countsFor(scale);
    const g = new Gen(20261129);
    await c.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(SAMPLE_DB)}; ${SCHEMA}`);
    const l = new Loader(c);
    const tables: Record<string, number> = {
      customers: 0,
      products: 0,
      orders: 0,
      order_items: 0,
      events: 0,
    };
    const add = async (t: keyof typeof COLS, row: Row): Promise<void> => {
      tables[t] = (tables[t] ?? 0) + 1;
      await l.add(t, row);
    };
    for (let i = 1; i <= counts.customers; i++) await add('customers', customerRow(g, i));
    for (let i = 1; i <= counts.products; i++) await add('products', productRow(g, i));
    signal.throwIfAborted();
    for (let i = 1; i <= counts.orders; i++) {
      const o = orderRows(g, i, counts);
      await add('orders', o.order);
      for (const it of o.items) await add('order_items', it);
      if (i % 5000 === 0) signal.throwIfAborted();
    }
    for (let i = 1; i <= counts.events; i++) await add('events', eventRow(g, i, counts.customers));
    await l.finish();
    return { rows: l.rows, tables };
  } finally {
    await c.end();
  }
}

export interface WriteStats {
  transactions: number;
  inserted: number;
  updated: number;
  deleted: number;
}

/**
 * Keep changing the sample database for `seconds`: each transaction places an order, ships one,
 * reprices a product (JSON_SET on attrs), edits a customer, or deletes old events or a cancelled
 * order with its items. About 20 transactions a second: light on a shared machine.
 */
export async function writeForAWhile(
  opts: ConnOpts,
  scale: number,
  seconds: number,
  signal: AbortSignal,
): Promise<WriteStats> {
  const counts = countsFor(scale);
  const g = new Gen(Date.now() & 0x7fffffff);
  const stats: WriteStats = { transactions: 0, inserted: 0, updated: 0, deleted: 0 };
  const c = await connect(opts);
  try {
    const [[top]] = (await c.query(
      `SELECT COALESCE(MAX(id), 0) AS m FROM ${SAMPLE_DB}.orders`,
    )) as unknown as [[{ m: number | string }]];
    let nextOrder = Number(top.m) + 1;
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      signal.throwIfAborted();
      await c.query('BEGIN');
      const op = g.int(0, 5);
      const affected = async (sql: string, params: Row): Promise<number> => {
        const [r] = (await c.query(sql, params)) as unknown as [{ affectedRows: number }];
        return r.affectedRows;
      };
      if (op <= 1) {
        const o = orderRows(g, nextOrder++, counts);
        await c.query(insertSql('orders', [o.order]));
        await c.query(insertSql('order_items', o.items));
        await c.query(insertSql('events', [eventRow(g, null, counts.customers)]));
        stats.inserted += 2 + o.items.length;
      } else if (op === 2) {
        stats.updated += await affected(
          `UPDATE ${SAMPLE_DB}.orders SET status = 'shipped', shipped_at = ? WHERE id = ? AND status IN ('new', 'paid')`,
          [g.datetime6(), g.int(1, nextOrder - 1)],
        );
        stats.updated += await affected(
          `UPDATE ${SAMPLE_DB}.customers SET balance = balance + ?, note = ? WHERE id = ?`,
          [
            g.money(-50, 50),
            g.chance(0.5) ? null : `updated ${g.pick(EMOJI)} ${g.int(1, 1e6)}`,
            g.int(1, counts.customers),
          ],
        );
      } else if (op === 3) {
        stats.updated += await affected(
          `UPDATE ${SAMPLE_DB}.products SET price = ?, attrs = JSON_SET(COALESCE(attrs, '{}'), '$.stock', ?), updated_at = ? WHERE id = ?`,
          [g.money(1, 900), g.int(0, 500), g.datetime6(), g.int(1, counts.products)],
        );
      } else if (op === 4) {
        const from = g.int(1, counts.events);
        stats.deleted += await affected(`DELETE FROM ${SAMPLE_DB}.events WHERE id BETWEEN ? AND ?`, [
          from,
          from + g.int(0, 3),
        ]);
      } else {
        const id = g.int(1, nextOrder - 1);
        stats.deleted += await affected(`DELETE FROM ${SAMPLE_DB}.order_items WHERE order_id = ?`, [id]);
        stats.deleted += await affected(`DELETE FROM ${SAMPLE_DB}.orders WHERE id = ?`, [id]);
        stats.inserted += await affected(
          `INSERT INTO ${SAMPLE_DB}.events (kind, customer_id, payload, created_at) VALUES ('order_cancelled', NULL, JSON_OBJECT('order', ?), ?)`,
          [id, g.datetime6()],
        );
      }
      await c.query('COMMIT');
      stats.transactions++;
      await sleep(50, undefined, { signal });
    }
    return stats;
  } finally {
    await c.end();
  }
}

/** The source's binlog position now (after the last write). */
export async function masterPosition(opts: ConnOpts): Promise<{ name: string; pos: number; gtid: string }> {
  const c = await connect(opts);
  try {
    const [rows] = (await c.query('SHOW MASTER STATUS')) as unknown as [
      { File: string; Position: number | string }[],
    ];
    const [[g]] = (await c.query('SELECT @@gtid_binlog_pos AS g')) as unknown as [[{ g: string }]];
    const r = rows[0];
    if (!r) throw new Error('SHOW MASTER STATUS returned nothing: is log_bin on?');
    return { name: r.File, pos: Number(r.Position), gtid: g.g };
  } finally {
    await c.end();
  }
}
