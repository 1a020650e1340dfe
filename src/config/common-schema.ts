import { z } from 'zod';
import type { BAListRule, EventFilterRule, ExpressionFilterRule, RouteRule } from '../filter/types.js';
import { obj, str, strList, uint } from './schema-helpers.js';

/** Defaults shared by the database connection blocks. */
export const DEFAULT_MAX_ALLOWED_PACKET = 67_108_864; // 64 MiB, DM's default

/** TLS settings of a database connection (`security` block). */
export const securitySchema = obj({
  'ssl-ca': str.optional(),
  'ssl-cert': str.optional(),
  'ssl-key': str.optional(),
  'cert-allowed-cn': strList.optional(),
});
export type SecurityConfig = z.output<typeof securitySchema>;

/** A session variable value: kept as written. */
const sessionValue = z.union([z.string(), z.number(), z.boolean()]);

/** A database connection (`target-database` in a task, `from` in a source). `password` is as written (maybe encrypted). */
export const dbConfigSchema = obj({
  host: str,
  port: z.number().int().min(1).max(65535).default(3306),
  user: str,
  password: str.default(''),
  'max-allowed-packet': z.number().int().min(1024).default(DEFAULT_MAX_ALLOWED_PACKET),
  session: z.record(z.string(), sessionValue).optional(),
  security: securitySchema.optional(),
});
/** A database connection after loading; `password` is plaintext (decrypted when it was encrypted). */
export type DBConfig = z.output<typeof dbConfigSchema>;

/** A table name in `do-tables` / `ignore-tables`. */
const tableRefSchema = obj({ 'db-name': str, 'tbl-name': str });

/** DM `block-allow-list` rule. */
export const baListRuleSchema = obj({
  'do-dbs': strList.optional(),
  'ignore-dbs': strList.optional(),
  'do-tables': z.array(tableRefSchema).optional(),
  'ignore-tables': z.array(tableRefSchema).optional(),
}) satisfies z.ZodType<BAListRule, unknown>;

/** DM `routes` rule. */
export const routeRuleSchema = obj({
  'schema-pattern': str,
  'table-pattern': str.optional(),
  'target-schema': str,
  'target-table': str.optional(),
  'extract-table': obj({ 'table-regexp': str, 'target-column': str }).optional(),
  'extract-schema': obj({ 'schema-regexp': str, 'target-column': str }).optional(),
  'extract-source': obj({ 'source-regexp': str, 'target-column': str }).optional(),
}) satisfies z.ZodType<RouteRule, unknown>;

/**
 * An `events` entry, lower-cased with single spaces. Any text is accepted here: as in DM, a rule
 * naming an event type DM does not know is dropped (with a warning) when the filter is built
 * (src/filter/event-filter.ts lists the known names).
 */
const eventName = z.preprocess(
  (v) => (typeof v === 'string' ? v.toLowerCase().trim().replace(/\s+/g, ' ') : v),
  z.string(),
);

const ACTIONS = { do: 'Do', ignore: 'Ignore', error: 'Error' } as const;
const actionSchema = z
  .preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['do', 'ignore', 'error']))
  .transform((a) => ACTIONS[a]);

/** DM binlog event filter rule (`filters` in a task, `filters` list in a source). */
export const eventFilterRuleSchema = obj({
  'schema-pattern': str,
  'table-pattern': str.optional(),
  events: z.array(eventName).optional(),
  'sql-pattern': strList.optional(),
  action: actionSchema,
}) satisfies z.ZodType<EventFilterRule, unknown>;

/** DM `expression-filter` rule. */
export const expressionFilterRuleSchema = obj({
  schema: str,
  table: str,
  'insert-value-expr': str.optional(),
  'update-old-value-expr': str.optional(),
  'update-new-value-expr': str.optional(),
  'delete-value-expr': str.optional(),
}) satisfies z.ZodType<ExpressionFilterRule, unknown>;

export const logLevelSchema = z
  .preprocess(
    (v) => (typeof v === 'string' ? v.toLowerCase() : v),
    z.enum(['debug', 'info', 'warn', 'error', 'fatal']),
  )
  .default('info');

export { uint };
