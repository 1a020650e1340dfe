export { CtlContext, DEFAULT_MASTER_ADDR, DEFAULT_RPC_TIMEOUT_MS, type GlobalOptions, type CtlIO } from './context.js';
export { buildProgram, runArgs, newContext, resolveGlobals, readCtlConfig } from './program.js';
export { runRepl, splitWords, complete } from './repl.js';
export { registerCommand, allCommands, commandNames, type CtlCommand } from './registry.js';
export { createCtlMasterClient, type MasterClient, type CtlTLS } from './master-client.js';
