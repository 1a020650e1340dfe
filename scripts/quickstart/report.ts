/** The source-vs-target comparison table the quickstart prints at the end. */
import type { TableDiff } from '../../test/helpers/compare.js';

export function comparisonTable(diffs: TableDiff[]): string {
  const head = ['table', 'source rows', 'target rows', 'source digest', 'target digest', 'equal'];
  const rows = diffs.map((d) => [
    d.table,
    String(d.sourceRows),
    String(d.targetRows),
    d.sourceDigest,
    d.targetDigest,
    d.equal ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i >= 1 && i <= 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
