// One framing for reads batched into a single round trip (gather_facts, xen_import's reader, the
// account modules): a POSIX sh function prints each record between lines carrying a per-run random
// token, with the record's exit status and its stderr, so one missing tool or unreadable file fails
// its record alone and no file content can pass for a frame. Pure: script text in, records out.
//   TOKEN NAME TOKEN \n BODY \n TOKEN end RC STDERR TOKEN \n
import { randomBytes } from 'node:crypto';
import { asArgument, quote, sh, type Command } from './command.js';

/** A fresh token that frames one batch's records (no file or tool output holds it by chance). */
export function newBatchToken(): string {
  return `FERRY${randomBytes(16).toString('hex')}`;
}

/**
 * The sh function `ferry_rec NAME CMD [ARGS...]`: prints NAME's record with CMD's stdout as the body
 * (exact, binary-safe up to the shell's own NUL limits), its exit status and its stderr. CMD reads
 * /dev/null. `ferry_rec NAME eval 'SCRIPT'` runs a script in a subshell. The token is in $ferry_tok.
 */
export const BATCH_RECORD_FUNCTION = `ferry_rec() {
  ferry_n=$1; shift
  printf '%s %s%s\\n' "$ferry_tok" "$ferry_n" "$ferry_tok"
  { ferry_err=$("$@" 2>&1 >&3 </dev/null); } 3>&1
  ferry_rc=$?
  printf '\\n%s end %s %s%s\\n' "$ferry_tok" "$ferry_rc" "$ferry_err" "$ferry_tok"
}`;

/** Script lines that run each part as its own record (after `ferry_tok` and BATCH_RECORD_FUNCTION are set). */
export function batchRecords(parts: readonly { name: string; script: string }[]): string[] {
  return parts.map((p) => `ferry_rec ${p.name} eval ${quote(p.script)}`);
}

/**
 * One `sh -c` command that runs each command as its own record, in order, in one round trip. Each
 * command's text is passed as a positional parameter and run by `eval`, so it is the very text a
 * command of its own would run (quoting by construction); secrets stay masked.
 */
export function batchCommand(parts: readonly { name: string; cmd: Command }[], token: string): Command {
  for (const p of parts) if (!/^[\w.-]+$/.test(p.name)) throw new TypeError(`batchCommand: a record name is a plain word, not ${JSON.stringify(p.name)}`);
  const script = ['ferry_tok=$1', BATCH_RECORD_FUNCTION, ...parts.map((p, i) => `ferry_rec ${p.name} eval "\${${i + 2}}"`)].join('\n');
  return sh`sh -c ${script} ferry-batch ${token} ${parts.map((p) => asArgument(p.cmd))}`;
}

/** One record of a batch. */
export interface BatchRecord {
  name: string;
  body: string;
  exitCode: number;
  stderr: string;
}

/** The records found, and where the framing broke (output cut short, or text that is not a record), if it did. */
export interface BatchOutput {
  records: BatchRecord[];
  broken?: string;
}

/** Splits a batch's output into its records, in order; stops at the first break in the framing and says where. */
export function parseBatch(stdout: string, token: string): BatchOutput {
  const records: BatchRecord[] = [];
  const header = new RegExp(`${token} ([\\s\\S]*?)${token}\\n`, 'y');
  const footer = new RegExp(`\\n${token} end (\\d+) ([\\s\\S]*?)${token}\\n`, 'y');
  let pos = 0;
  while (pos < stdout.length) {
    header.lastIndex = pos;
    const h = header.exec(stdout);
    if (!h) return { records, broken: `unexpected output at byte ${pos}: ${JSON.stringify(stdout.slice(pos, pos + 80))}` };
    const bodyStart = header.lastIndex;
    const end = stdout.indexOf(`\n${token} end `, bodyStart);
    if (end < 0) return { records, broken: `the output ends inside the record of ${h[1]}` };
    footer.lastIndex = end;
    const f = footer.exec(stdout);
    if (!f) return { records, broken: `malformed end of the record of ${h[1]}` };
    records.push({ name: h[1]!, body: stdout.slice(bodyStart, end), exitCode: Number(f[1]), stderr: f[2]! });
    pos = footer.lastIndex;
  }
  return { records };
}
