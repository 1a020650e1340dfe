/** Deep readonly view of a config object. */
export type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends Buffer
    ? T
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/** Freeze an object and everything it holds. */
export function deepFreeze<T>(v: T): DeepReadonly<T> {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v) && !Buffer.isBuffer(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as Record<string, unknown>)) deepFreeze(x);
  }
  return v as DeepReadonly<T>;
}
