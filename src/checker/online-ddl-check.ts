/**
 * The `online_ddl` precheck (DM's OnlineDDLChecker): with `online-ddl` on, a task in `all` mode
 * must not start while an online schema change (gh-ost, pt-osc) of a migrated table is in
 * progress: its shadow table exists in the source. The dump would copy the real table without
 * the change, and the sync unit, starting after the ALTER on the shadow table, would not know
 * which ALTER to apply at the cut-over (it then stops with 36204).
 */
import { isSystemSchema, type OnlineDDLRules, type TableName } from '../filter/index.js';
import type { CheckConn } from './conn.js';
import { fail, pass, type Verdict } from './verdict.js';

export async function checkOnlineDDL(c: CheckConn, rules: OnlineDDLRules, migrated: (t: TableName) => boolean): Promise<Verdict> {
  const rows = await c.rows<{ s: string; t: string }>(
    "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2",
  );
  const busy: string[] = [];
  for (const r of rows) {
    if (isSystemSchema(r.s) || rules.tableType(r.t) !== 'shadow') continue;
    const real = { schema: r.s, table: rules.realName(r.t) };
    if (migrated(real)) busy.push(`\`${r.s}\`.\`${r.t}\` (of \`${real.schema}\`.\`${real.table}\`)`);
  }
  if (busy.length > 0) {
    return fail(
      `an online schema change (gh-ost / pt-osc) is in progress on the source: shadow table${busy.length > 1 ? 's' : ''} ${busy.slice(0, 5).join(', ')}${busy.length > 5 ? ', …' : ''}`,
      'Wait until the online schema change is over (its shadow table renamed or dropped), or drop the left-over shadow table of an aborted run, then start the task again.',
    );
  }
  return pass('no online schema change of a migrated table is in progress');
}
