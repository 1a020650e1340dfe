/**
 * Interactive dmctl: `dmctl --master-addr ...` with no command. A readline prompt with
 * history (~/.dmctl_history), tab completion of command names, their sub-commands, flags and
 * file arguments, `help` and `exit`.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { CtlContext } from './context.js';
import { buildProgram, newContext, runArgs } from './program.js';
import { commandNames } from './registry.js';

const HISTORY_SIZE = 1000;

/** Split a command line into words: whitespace separated, with '…' and "…" quoting and \ escapes. */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] ?? '';
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i] ?? '';
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i] ?? '';
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (quote) throw new Error('unterminated quote');
  if (has || cur) out.push(cur);
  return out;
}

/** Words of a partly typed line and the word being typed ('' after a trailing space). */
function wordsOf(line: string): { done: string[]; cur: string } {
  const words = line.trimStart().split(/\s+/);
  const cur = words.pop() ?? '';
  return { done: words, cur };
}

/** `a | b | c` in an argument's description: the argument's fixed values (DM's sub-commands). */
function choicesOf(description: string): string[] {
  return /^[\w-]+(?:\s*\|\s*[\w-]+)+$/.test(description.trim()) ? description.split('|').map((x) => x.trim()) : [];
}

/** Files and directories whose path starts with `cur` (directories end with `/`). */
function completePath(cur: string): string[] {
  const slash = cur.lastIndexOf('/');
  const dir = slash < 0 ? '.' : cur.slice(0, slash + 1) || '/';
  const base = slash < 0 ? cur : cur.slice(slash + 1);
  const prefix = slash < 0 ? '' : cur.slice(0, slash + 1);
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.name.startsWith(base) && (base.startsWith('.') || !e.name.startsWith('.')))
      .map((e) => `${prefix}${e.name}${e.isDirectory() ? '/' : ''}`)
      .sort();
  } catch {
    return [];
  }
}

let commandsForCompletion: Map<string, Command> | undefined;

/** The commands as the REPL parses them (built once), by name and alias. */
function completionCommands(): Map<string, Command> {
  if (!commandsForCompletion) {
    const program = buildProgram(newContext({ out: () => undefined, err: () => undefined }), false);
    commandsForCompletion = new Map();
    for (const c of program.commands) for (const n of [c.name(), ...c.aliases()]) commandsForCompletion.set(n, c);
  }
  return commandsForCompletion;
}

/**
 * Tab completion: the command name for the first word; then, for that command, its flags when
 * the word starts with `-`, else the values of its sub-command argument (`config task|source|...`,
 * `operate-source create|update|stop|show`, `binlog skip|replace|...`) or file paths where the
 * argument is a file.
 */
export function complete(line: string): [string[], string] {
  const { done, cur } = wordsOf(line);
  if (done.length === 0) {
    const hits = commandNames().filter((n) => n.startsWith(cur));
    return [hits.length > 0 ? hits : commandNames(), cur];
  }
  let cmd = completionCommands().get(done[0] ?? '');
  if (!cmd) return [[], cur];
  // a commander sub-command (`shard-ddl-lock unlock`): complete its own flags and arguments
  let first = 1;
  const sub = cmd.commands.find((c) => c.name() === done[1]);
  if (sub) {
    cmd = sub;
    first = 2;
  }
  if (cur.startsWith('-')) {
    const flags = [...cmd.options.flatMap((o) => [o.long, o.short]), '--help'].filter((f): f is string => !!f && f.startsWith(cur));
    return [[...new Set(flags)].sort(), cur];
  }
  // which positional argument is being typed: skip flags and the values of flags that take one
  let pos = 0;
  for (let i = first; i < done.length; i++) {
    const w = done[i] ?? '';
    if (w.startsWith('-')) {
      const opt = cmd.options.find((o) => o.long === w || o.short === w);
      if (opt && (opt.required || opt.optional) && !w.includes('=')) i++;
      continue;
    }
    pos++;
  }
  const subNames = !sub && pos === 0 ? cmd.commands.map((c) => c.name()).filter((n) => n.startsWith(cur)) : [];
  const args = cmd.registeredArguments;
  const arg = args[pos] ?? (args.at(-1)?.variadic ? args.at(-1) : undefined);
  if (!arg) return [subNames, cur];
  if (subNames.length > 0) return [subNames, cur];
  const choices = choicesOf(arg.description);
  if (choices.length > 0) return [choices.filter((c) => c.startsWith(cur)), cur];
  if (/file/.test(arg.name())) return [completePath(cur), cur];
  return [[], cur];
}

function historyFile(): string {
  return process.env['DMCTL_HISTORY'] ?? join(homedir(), '.dmctl_history');
}

export async function runRepl(ctx: CtlContext, input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout): Promise<void> {
  let history: string[] = [];
  try {
    history = readFileSync(historyFile(), 'utf8').split('\n').filter((l) => l.trim().length > 0).reverse().slice(0, HISTORY_SIZE);
  } catch {
    /* no history yet */
  }
  const terminal = (output as { isTTY?: boolean }).isTTY === true;
  const rl = createInterface({ input, output, completer: complete, history, historySize: HISTORY_SIZE, terminal, prompt: 'dmctl> ' });
  const saveHistory = (): void => {
    try {
      const h = (rl as unknown as { history?: string[] }).history ?? history;
      writeFileSync(historyFile(), [...h].reverse().join('\n') + '\n');
    } catch {
      /* history is best effort */
    }
  };
  ctx.io.out('Welcome to dmctl (DM.ts). Type `help` for the commands, `exit` to leave.');
  rl.prompt();
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === 'exit' || line === 'quit') break;
    if (line !== '') {
      let words: string[];
      try {
        words = splitWords(line);
      } catch (e) {
        ctx.fail(e);
        rl.prompt();
        continue;
      }
      if (!terminal) history.unshift(line);
      if (words[0] === 'help' && words.length === 1) words = ['--help'];
      await runArgs(ctx, buildProgram(ctx, false), words);
    }
    rl.prompt();
  }
  rl.close();
  saveHistory();
}
