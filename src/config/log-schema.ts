/**
 * The log keys dm-master and dm-worker share, beyond `log-level` / `log-file` / `log-format`:
 *
 * - `[log.file]` rotation of `log-file`, pingcap/log's keys (TiDB, PD, TiKV): `max-size` in MB
 *   (default 300), `max-days` (backups older than this many days are removed; 0 = keep),
 *   `max-backups` (at most this many rotated files are kept; 0 = keep all).
 * - `log-rotate`: DM's deprecated key (DM ignores it; so does DM.ts).
 * - `redact-info-log`: DM hides the arguments of logged statements when true; DM.ts logs no
 *   row values in the first place but does not implement the switch, so only false is accepted.
 */
import type { Problem } from './problems.js';
import { bool, obj, posInt, str, uint } from './schema-helpers.js';

/** Rotate `log-file` when it reaches this many MB (pingcap/log's default). */
export const DEFAULT_LOG_MAX_SIZE_MB = 300;

export const logFileRotationSchema = obj({
  'max-size': posInt.default(DEFAULT_LOG_MAX_SIZE_MB),
  'max-days': uint.default(0),
  'max-backups': uint.default(0),
});

/** Spread into the dm-master / dm-worker schema shapes. */
export const logKeys = {
  log: obj({ file: logFileRotationSchema.prefault({}) }).prefault({}),
  'log-rotate': str.optional(),
  'redact-info-log': bool.default(false),
};

/** Log keys set to something DM.ts does not implement. */
export function unsupportedLogKeys(raw: { redactInfoLog: boolean }): Problem[] {
  if (!raw.redactInfoLog) return [];
  return [
    {
      code: 'ErrConfigNotSupported',
      path: ['redact-info-log'],
      detail:
        'redact-info-log (hiding statement arguments in logs) is not supported by DM.ts yet (its logs carry no row values; passwords are always redacted); remove the key or set it to false',
    },
  ];
}
