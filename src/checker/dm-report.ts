/**
 * A pre-check report (src/checker's CheckReport, as JSON) in DM's reply shapes: the report with
 * DM's checker keys (`dmCheckResult`) and the texts DM's master answers for it
 * (`dmCheckMessage`: check-task's `msg`, start-task's and the OpenAPI's `check_result`).
 * Shared by dmctl (src/ctl/dm-json.ts) and the OpenAPI (src/master/openapi).
 */
import { DMError } from '../errors/index.js';

type Obj = Record<string, unknown>;

function asObj(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

function num(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/**
 * A pre-check report (check-task's `checkResult`) with DM's checker keys on every item: `id`,
 * `name`, `desc`, `state`, `errors: [{severity, short_error}]`, `instruction`, `extra` (the
 * source); DM.ts's `sourceId` and `message` stay as added keys. `summary` is DM's already.
 */
export function dmCheckResult(report: unknown): unknown {
  const r = asObj(report);
  if (!Array.isArray(r['results'])) return report;
  const results = (r['results'] as unknown[]).map((x, i) => {
    const it = asObj(x);
    const state = typeof it['state'] === 'string' ? it['state'] : '';
    const message = typeof it['message'] === 'string' ? it['message'] : '';
    return {
      id: i,
      name: it['name'] ?? '',
      desc: it['desc'] ?? it['name'] ?? '',
      state,
      errors: state === 'pass' || message === '' ? [] : [{ severity: state, short_error: message }],
      instruction: it['instruction'] ?? '',
      extra: it['sourceId'] ?? '',
      ...it,
    };
  });
  const { results: _items, summary, ...rest } = r;
  return { results, summary, ...rest };
}

/** DM's `checker.CheckTaskSuccess`: check-task's msg (and start-task's checkResult) when every item passed. */
export const CHECK_TASK_SUCCESS = 'pre-check is passed. ';
/** DM's `checker.CheckTaskMsgHeader`. */
const CHECK_TASK_HEADER = 'fail to check synchronization configuration with type';

/** Go's `json.MarshalIndent(v, "\t", "\t")`, with `<`, `>`, `&` escaped as Go's encoder does. */
export function goIndentJson(v: unknown): string {
  return JSON.stringify(v, null, '\t')
    .replace(/\n/g, '\n\t')
    .replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A report as DM's checker marshals its Results: only DM's keys, `results` then `summary`. */
function dmCheckDetail(report: unknown): Obj {
  const r = asObj(dmCheckResult(report));
  const results = (Array.isArray(r['results']) ? (r['results'] as unknown[]) : []).map((x) => {
    const it = asObj(x);
    return { id: it['id'], name: it['name'], desc: it['desc'], state: it['state'] === 'pass' ? 'success' : it['state'], errors: it['errors'], instruction: it['instruction'], extra: it['extra'] };
  });
  const s = asObj(r['summary']);
  return { results, summary: { passed: s['passed'] === true, total: num(s['total']), successful: num(s['successful']), failed: num(s['failed']), warning: num(s['warning']) } };
}

/**
 * The text DM's master answers for a pre-check report (tiflow dm/checker CheckSyncConfig, with
 * the master's class): `pre-check is passed. ` when every item passed; with warnings only,
 * `fail to check synchronization configuration with type: no errors but some warnings\n detail: <report>`;
 * with a failed item, error 26005's text `[code=26005:class=dm-master:scope=internal:level=medium],
 * Message: fail to check synchronization configuration with type: check was failed, please see
 * detail\n detail: <report>`; empty when no item was checked. The report is indented as DM's (tabs), with DM's keys only.
 */
export function dmCheckMessage(report: unknown): string {
  const d = dmCheckDetail(report);
  const s = d['summary'] as { passed: boolean; total: number; successful: number };
  if (!s.passed) return checkFailedError(report).toString();
  // DM answers an empty text when no item is checked (`ignore-checking-items: ["all"]`)
  if (s.total === 0) return '';
  if (s.successful === s.total) return CHECK_TASK_SUCCESS;
  return `${CHECK_TASK_HEADER}: no errors but some warnings\n detail: ${goIndentJson(d)}`;
}

/** A pre-check report in a reply's text (check-task's msg, start-task's checkResult), or undefined when the text is not one. */
export function parseCheckReport(text: string): Obj | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const r = asObj(JSON.parse(text) as unknown);
    return Array.isArray(r['results']) && r['summary'] !== null && typeof r['summary'] === 'object' ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The error DM's master answers when a pre-check item failed (check-task's msg; start-task refuses
 * the task with it): 26005, `fail to check synchronization configuration with type: check was
 * failed, please see detail\n detail: <report>`, with no workaround after the report (as DM's
 * text, so the report can be cut out and parsed).
 */
export function checkFailedError(report: unknown): DMError {
  return new DMError('ErrTaskCheckSyncConfig', `${CHECK_TASK_HEADER}: check was failed, please see detail\n detail: ${goIndentJson(dmCheckDetail(report))}`, { workaround: '' });
}
