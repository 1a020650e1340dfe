import type { CheckState } from './types.js';

export interface Verdict {
  state: CheckState;
  message: string;
  instruction: string;
}

export const pass = (message: string): Verdict => ({ state: 'pass', message, instruction: '' });
export const warn = (message: string, instruction: string): Verdict => ({ state: 'warn', message, instruction });
export const fail = (message: string, instruction: string): Verdict => ({ state: 'fail', message, instruction });
