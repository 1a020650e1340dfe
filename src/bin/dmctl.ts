#!/usr/bin/env node
/**
 * dmctl: `dmctl [--master-addr h1:8261,h2:8261] <command> ...` runs one command and exits 1
 * when its reply has `"result": false`; with no command it starts the interactive prompt.
 */
import { buildProgram, newContext, runArgs, runRepl } from '../ctl/index.js';

const ac = new AbortController();
process.once('SIGTERM', () => ac.abort());
const ctx = newContext(undefined, ac.signal);
const program = buildProgram(ctx, true, () => runRepl(ctx));
const code = await runArgs(ctx, program, process.argv.slice(2));
process.exitCode = code;
