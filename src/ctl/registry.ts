/**
 * dmctl commands register themselves here (one file per command under commands/, DM's layout).
 */
import type { Command } from 'commander';
import type { CtlContext } from './context.js';

export interface CtlCommand {
  /** Command name as typed, e.g. `start-task`. */
  name: string;
  /** One-line description for `help`. */
  summary: string;
  /** Hidden legacy names that map to this command. */
  aliases?: string[];
  /** Hidden from help (legacy commands). */
  hidden?: boolean;
  /** Define arguments/options and the action on `cmd` (already named). */
  build(cmd: Command, ctx: CtlContext): void;
}

const commands = new Map<string, CtlCommand>();

export function registerCommand(c: CtlCommand): void {
  if (commands.has(c.name)) throw new Error(`dmctl command ${c.name} registered twice`);
  commands.set(c.name, c);
}

export function allCommands(): CtlCommand[] {
  return [...commands.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Names offered by tab completion (visible commands and built-ins). */
export function commandNames(): string[] {
  return [...allCommands().filter((c) => !c.hidden).map((c) => c.name), 'help', 'exit'].sort();
}
