/**
 * dmctl prints every reply as pretty JSON, DM style: `"result": true|false`, `"msg"`, and the
 * response's other fields in camelCase; proto enum values print as DM's names (`Running`, `Sync`).
 */
import { toJson, type DescMessage, type MessageShape } from '@bufbuild/protobuf';

const ENUM_PREFIXES: [RegExp, (rest: string) => string][] = [
  [/^WORKER_STAGE_([A-Z_]+)$/, (r) => r.toLowerCase()],
  [/^(?:STAGE|UNIT_TYPE|TASK_OP|SOURCE_OP|LEADER_OP|ERROR_OP|SCHEMA_OP|RELAY_OP|CONFIG_TYPE|MEMBER_TYPE|VALIDATION_ERROR_STATE|VALIDATION_ERROR_OP|UNLOCK_DDL_LOCK_OP)_([A-Z_]+)$/, pascal],
];

function pascal(s: string): string {
  return s
    .split('_')
    .map((w) => (w === 'UNSPECIFIED' ? 'InvalidStage' : w.charAt(0) + w.slice(1).toLowerCase()))
    .join('');
}

function prettyEnums(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(prettyEnums);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = prettyEnums(x);
    return out;
  }
  if (typeof v === 'string') {
    for (const [re, f] of ENUM_PREFIXES) {
      const m = re.exec(v);
      if (m?.[1]) return f(m[1]);
    }
  }
  return v;
}

/** A proto message as the JSON object dmctl prints (default fields included). */
export function messageToObject<D extends DescMessage>(schema: D, msg: MessageShape<D>): Record<string, unknown> {
  const j = toJson(schema, msg, { alwaysEmitImplicit: true });
  return prettyEnums(j) as Record<string, unknown>;
}

/** Put `result` and `msg` first, as DM does (after `op` in the replies that have one, as DM's). */
export function orderReply(o: Record<string, unknown>): Record<string, unknown> {
  const { op, result, msg, ...rest } = o;
  return { ...(op === undefined ? {} : { op }), result: result ?? false, msg: msg ?? '', ...rest };
}

export function formatReply(o: Record<string, unknown>): string {
  return JSON.stringify(orderReply(o), null, 4);
}
