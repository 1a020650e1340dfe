/**
 * Interactive dmctl: `dmctl --master-addr ...` with no command. A readline prompt with
 * history (~/.dmctl_history), tab completion of command names, `help` and `exit`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CtlContext } from './context.js';
import { buildProgram, runArgs } from './program.js';
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

/** Tab completion: command names for the first word. */
export function complete(line: string): [string[], string] {
  const words = line.trimStart().split(/\s+/);
  if (words.length > 1) return [[], line];
  const w = words[0] ?? '';
  const hits = commandNames().filter((n) => n.startsWith(w));
  return [hits.length > 0 ? hits : commandNames(), w];
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
