// Gathering, for every caller (gather_facts, the setup module, the library API): one framed
// round trip with a fresh token, then the pure parser.
import { newBatchToken } from '../batch-read.js';
import type { Command } from '../command.js';
import { factsCommand } from './command.js';
import { parseFacts } from './parse.js';
import type { Facts } from './types.js';

/**
 * Runs the facts command through `run` (a host's transport, with whatever become it needs) and parses
 * what it printed; `tools` are those whose presence the facts report (ferry_facts.tools).
 */
export async function readFacts(run: (cmd: Command) => Promise<{ stdout: string }>, tools: readonly string[]): Promise<Facts> {
  const token = newBatchToken();
  return parseFacts((await run(factsCommand(token, tools))).stdout, token, tools);
}
