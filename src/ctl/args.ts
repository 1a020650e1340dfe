/**
 * Argument helpers shared by dmctl commands.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import YAML from 'yaml';
import { DMError } from '../errors/index.js';
import type { CtlContext } from './context.js';

export function readFileArg(path: string, what = 'config file'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new DMError('ErrCtlFileRead', `cannot read ${what} ${path}`, { cause: e });
  }
}

function isFile(p: string): boolean {
  try {
    return existsSync(p) && statSync(p).isFile();
  } catch {
    return false;
  }
}

/** A task given as a name or as a task file (its `name:` is used), as DM accepts both. */
export function taskNameOf(arg: string): string {
  if (!isFile(arg)) return arg;
  let doc: unknown;
  try {
    doc = YAML.parse(readFileArg(arg, 'task file'));
  } catch (e) {
    throw new DMError('ErrCtlInvalidArgs', `task file ${arg} is not valid YAML`, { cause: e });
  }
  const name = (doc as { name?: unknown } | null)?.name;
  if (typeof name !== 'string' || name === '') throw new DMError('ErrCtlInvalidArgs', `task file ${arg} has no \`name\``);
  return name;
}

/** commander parser for non-negative integers. */
export function nonNegInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

/** commander parser for positive integers (where 0 would mean "the default" on the wire). */
export function posInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n === 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** commander collector for repeatable / comma-separated list options (`-s a -s b`, `-s a,b`). */
export function collectList(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), ...v.split(',').map((x) => x.trim()).filter((x) => x.length > 0)];
}

/** `30s`, `10m`, `1h`, `500ms` or a number of milliseconds. */
export function parseDurationMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('must be a duration like 30s, 10m or 1h');
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const mult = unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1000 : 1;
  const ms = n * mult;
  if (ms <= 0) throw new InvalidArgumentError('must be positive');
  return ms;
}

/** A command action that prints `{"result": false, "msg": ...}` for any error thrown. */
export function action<A extends unknown[]>(ctx: CtlContext, fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      ctx.fail(e);
    }
  };
}

/** An argument error: printed once, as the result-false reply, with the command's usage on stderr. */
export function usageError(ctx: CtlContext, cmd: Command, msg: string): void {
  ctx.io.err(cmd.helpInformation());
  ctx.reply({ result: false, msg: new DMError('ErrCtlInvalidArgs', msg).toString() });
}

/** Shared `-s, --source` option. */
export function addSourceOption(cmd: Command): Command {
  return cmd.option('-s, --source <source-id>', 'source id(s); repeat or separate with commas', collectList);
}
