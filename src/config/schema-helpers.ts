import { z } from 'zod';
import { parseDuration } from './duration.js';
import { unknownKeyMessage } from './problems.js';

/** `worker-count` → `workerCount`, `collation_compatible` → `collationCompatible`. */
export type CamelCase<S extends string> = S extends `${infer H}-${infer T}`
  ? `${H}${Capitalize<CamelCase<T>>}`
  : S extends `${infer H}_${infer T}`
    ? `${H}${Capitalize<CamelCase<T>>}`
    : S;
export type CamelKeys<T> = { [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] };

export function camelCase(s: string): string {
  return s.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function camelKeys<T extends Record<string, unknown>>(o: T): CamelKeys<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[camelCase(k)] = v;
  return out as CamelKeys<T>;
}

/**
 * A strict object schema over DM's kebab-case keys whose output has camelCase keys. An unknown key
 * is an error listing the allowed keys. Only this level's keys are renamed: nested objects are
 * renamed by their own schemas, maps of user names (rule names, session variables) are kept.
 */
export function obj<S extends z.core.$ZodLooseShape>(shape: S) {
  return z
    .strictObject(shape, { error: unknownKeyMessage(Object.keys(shape)) })
    .transform(
      (o) => camelKeys(o as Record<string, unknown>) as CamelKeys<z.output<z.ZodObject<S, z.core.$strict>>>,
    );
}

/** A string; numbers are accepted and converted, as DM's YAML decoder does (`password: 123456`). */
export const str = z.union([z.string(), z.number()]).transform((v) => String(v));

/** A non-negative integer. */
export const uint = z.number().int().min(0);
/** A positive integer. */
export const posInt = z.number().int().min(1);

/** A list of strings. */
export const strList = z.array(str);

/** A duration: Go-style string (`"30s"`, `"1m30s"`) or a number of seconds; output milliseconds. */
export const duration = z.union([z.number().min(0), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return Math.round(v * 1000);
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'not a duration (write it like "30s", "5m" or "1h30m")' });
    return z.NEVER;
  }
  return ms;
});

/** Case-insensitive enum: the value is lower-cased before the check. */
export function lowerEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(values));
}

const YAML11_BOOL: Record<string, boolean> = {
  yes: true,
  no: false,
  on: true,
  off: false,
  y: true,
  n: false,
  true: true,
  false: false,
};

/**
 * A boolean; YAML 1.1 spellings (`yes`/`no`/`on`/`off`, any case) are accepted too, because DM's YAML
 * decoder (go-yaml v2) reads them as booleans and DM files may use them.
 */
export const bool = z.preprocess(
  (v) => (typeof v === 'string' ? (YAML11_BOOL[v.toLowerCase()] ?? v) : v),
  z.boolean(),
);
