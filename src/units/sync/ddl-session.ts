/**
 * The session a DDL runs under on the target: the upstream session of the statement (the Query
 * event's `sql_mode`, `time_zone` and time), as DM applies each DDL with the event's `sql_mode`.
 * `ALTER TABLE … ADD COLUMN c DATETIME DEFAULT CURRENT_TIMESTAMP` thus fills the existing rows with
 * the source's value (the event's time, read in the source session's zone), and a DDL whose
 * meaning depends on `sql_mode` (PIPES_AS_CONCAT in a default expression, REAL_AS_FLOAT, an
 * AUTO_INCREMENT added over zeros under NO_AUTO_VALUE_ON_ZERO) does on the target what it did on
 * the source. The event's text is already in standard quoting (src/binlog/txn-shaper.ts), so
 * ANSI_QUOTES and NO_BACKSLASH_ESCAPES are left out; so are the modes a target may not know
 * (src/binlog/query-status.ts portableSqlMode).
 *
 * After the DDL the connection goes back to the pool's session (DM.ts's `sql_mode` and `time_zone`
 * plus the task's `target-database.session`) and `timestamp = DEFAULT`.
 */
import type { QueryEvent } from '../../binlog/events.js';
import { portableSqlMode } from '../../binlog/query-status.js';
import { quoteValue } from '../../sql/index.js';

/** The `SET SESSION …` to run before the event's DDL; undefined when the event carries nothing to set. */
export function ddlSessionSQL(ev: QueryEvent): string | undefined {
  const vars: string[] = [];
  if (ev.sqlMode !== undefined) vars.push(`SESSION sql_mode = ${quoteValue(portableSqlMode(ev.sqlMode, ['ANSI_QUOTES', 'NO_BACKSLASH_ESCAPES']))}`);
  if (ev.timeZone !== undefined && ev.timeZone !== '') vars.push(`SESSION time_zone = ${quoteValue(ev.timeZone)}`);
  if (ev.timestamp > 0) {
    const us = ev.micros !== undefined && ev.micros > 0 ? `.${String(ev.micros).padStart(6, '0')}` : '';
    vars.push(`SESSION timestamp = ${Math.floor(ev.timestamp)}${us}`);
  }
  return vars.length > 0 ? `SET ${vars.join(', ')}` : undefined;
}

/** Back to the pool's session: its initialisation statement (`SET …`) plus `timestamp = DEFAULT`. */
export function sessionResetSQL(poolInit: string): string {
  return `${poolInit}, SESSION timestamp = DEFAULT`;
}
