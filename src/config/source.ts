import { basename } from 'node:path';
import { z } from 'zod';
import { dbConfigSchema, eventFilterRuleSchema, type DBConfig } from './common-schema.js';
import { deepFreeze, type DeepReadonly } from './freeze.js';
import { parseWith, throwProblems, type Problem } from './problems.js';
import { bool, duration, obj, str, uint } from './schema-helpers.js';
import { configPassword, readConfigFile, type LoadOptions } from './load-common.js';
import { MAX_SOURCE_ID_LENGTH } from './task-schema.js';
import { parseYamlFile } from './yaml-doc.js';
import { unsupportedSourceKeys } from './unsupported.js';

// ---- defaults (DM's values) ------------------------------------------------------------------
export const DEFAULT_RELAY_DIR = 'relay-dir';
export const DEFAULT_PURGE_INTERVAL_S = 3600;
export const DEFAULT_PURGE_EXPIRES_H = 0;
export const DEFAULT_PURGE_REMAIN_SPACE_GB = 15;
export const DEFAULT_CHECKER_CHECK_INTERVAL_MS = 5_000;
export const DEFAULT_CHECKER_BACKOFF_ROLLBACK_MS = 5 * 60_000;
export const DEFAULT_CHECKER_BACKOFF_MIN_MS = 1_000;
export const DEFAULT_CHECKER_BACKOFF_MAX_MS = 5 * 60_000;
export const DEFAULT_CHECKER_BACKOFF_FACTOR = 2;

/** `purge`: relay log purging. */
export const purgeSchema = obj({
  /** Seconds between purge checks. */
  interval: uint.default(DEFAULT_PURGE_INTERVAL_S),
  /** Hours after which a relay file may be purged; 0 = never by age. */
  expires: uint.default(DEFAULT_PURGE_EXPIRES_H),
  /** Purge when free disk space under relay-dir is below this many GB. */
  'remain-space': uint.default(DEFAULT_PURGE_REMAIN_SPACE_GB),
});

/** `checker`: automatic resume of paused subtasks with backoff. Durations in milliseconds. */
export const checkerSchema = obj({
  'check-enable': bool.default(true),
  'backoff-rollback': duration.default(DEFAULT_CHECKER_BACKOFF_ROLLBACK_MS),
  'backoff-max': duration.default(DEFAULT_CHECKER_BACKOFF_MAX_MS),
  'check-interval': duration.default(DEFAULT_CHECKER_CHECK_INTERVAL_MS),
  'backoff-min': duration.default(DEFAULT_CHECKER_BACKOFF_MIN_MS),
  'backoff-jitter': bool.default(true),
  'backoff-factor': z.number().min(1).default(DEFAULT_CHECKER_BACKOFF_FACTOR),
});

export const sourceSchema = obj({
  'source-id': str,
  /** Deprecated in DM, accepted. */
  enable: bool.default(true),
  /** `''` = detect from the server. */
  flavor: z
    .preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['', 'mysql', 'mariadb']))
    .default(''),
  'enable-gtid': bool.default(false),
  /** Deprecated in DM (always false). */
  'auto-fix-gtid': bool.default(false),
  'enable-relay': bool.default(false),
  'relay-dir': str.default(DEFAULT_RELAY_DIR),
  'relay-binlog-name': str.default(''),
  'relay-binlog-gtid': str.default(''),
  /** Deprecated in DM, accepted and ignored. */
  'meta-dir': str.optional(),
  /** Deprecated in DM, accepted and ignored. */
  charset: str.optional(),
  from: dbConfigSchema,
  purge: purgeSchema.prefault({}),
  checker: checkerSchema.prefault({}),
  /** Server id DM.ts uses when reading the binlog; 0 = pick a free one. */
  'server-id': z.number().int().min(0).max(4_294_967_295).default(0),
  /** Deprecated in DM (tracer), accepted and ignored. */
  tracer: z.record(z.string(), z.unknown()).optional(),
  'case-sensitive': bool.default(false),
  /** Source-level binlog event filters, applied to every task on this source. */
  filters: z.array(eventFilterRuleSchema).default([]),
});
type RawSourceConfig = z.output<typeof sourceSchema>;
const CHECKER_DEFAULTS: Record<string, unknown> = checkerSchema.parse({});

/** A loaded source file (camelCase keys, defaults, frozen). `from.password` is plaintext. */
export type SourceConfigData = Omit<RawSourceConfig, 'from' | 'tracer'> & { from: DBConfig };
export type SourceConfig = DeepReadonly<SourceConfigData>;

/** Read and load a source file. */
export function loadSourceConfigFile(path: string, opts: LoadOptions = {}): SourceConfig {
  return parseSourceConfig(readConfigFile(path), { ...opts, file: opts.file ?? basename(path) });
}

/** Load source YAML text (e.g. from `dmctl operate-source create` or etcd). */
export function parseSourceConfig(text: string, opts: LoadOptions = {}): SourceConfig {
  const src = parseYamlFile(text, opts.file ?? 'source.yaml');
  const raw = parseWith(sourceSchema, src);
  const problems: Problem[] = [];
  if (raw.sourceId === '')
    problems.push({
      code: 'ErrConfigInvalidValue',
      path: ['source-id'],
      detail: 'source-id must not be empty',
    });
  if (raw.sourceId.length > MAX_SOURCE_ID_LENGTH) {
    problems.push({
      code: 'ErrConfigInvalidValue',
      path: ['source-id'],
      detail: `source-id is longer than ${MAX_SOURCE_ID_LENGTH} characters`,
    });
  }
  if (raw.relayBinlogName !== '' && /[/\\]/.test(raw.relayBinlogName)) {
    problems.push({
      code: 'ErrConfigInvalidValue',
      path: ['relay-binlog-name'],
      detail: 'must be a binlog file name like mysql-bin.000001, not a path',
    });
  }
  if (raw.relayBinlogGtid !== '' && !raw.enableGtid) {
    problems.push({
      code: 'ErrConfigCrossField',
      path: ['relay-binlog-gtid'],
      detail: 'relay-binlog-gtid needs enable-gtid: true (without GTID the relay starts from relay-binlog-name)',
    });
  }
  if (raw.checker.backoffMax < raw.checker.backoffMin) {
    problems.push({
      code: 'ErrConfigCrossField',
      path: ['checker', 'backoff-max'],
      detail: 'checker.backoff-max must not be smaller than checker.backoff-min',
    });
  }
  if (problems.length === 0) problems.push(...unsupportedSourceKeys(raw, CHECKER_DEFAULTS, DEFAULT_RELAY_DIR));
  if (problems.length) throwProblems(src, problems);
  const { tracer: _t, from, ...rest } = raw;
  return deepFreeze({
    ...rest,
    from: { ...from, password: configPassword(src, ['from', 'password'], from.password, opts.secretKey) },
  });
}
