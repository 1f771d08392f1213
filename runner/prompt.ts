// Questions asked on the terminal (-k, -K, --step): a password is read without echo on a TTY;
// without a TTY, each answer is the next line of stdin (`printf 'pw\n' | ferry run -K ...`).
import { createInterface, type Interface } from 'node:readline';
import { FerryError } from './errors.js';

let piped: { rl: Interface; lines: string[]; waiting: ((l: string | undefined) => void)[]; closed: boolean } | undefined;

/** The next line of a stdin that is not a terminal; undefined at its end. */
function nextPipedLine(): Promise<string | undefined> {
  if (!piped) {
    const rl = createInterface({ input: process.stdin, terminal: false });
    const p = { rl, lines: [] as string[], waiting: [] as ((l: string | undefined) => void)[], closed: false };
    rl.on('line', (l) => {
      const w = p.waiting.shift();
      if (w) w(l);
      else p.lines.push(l);
    });
    rl.on('close', () => {
      p.closed = true;
      for (const w of p.waiting.splice(0)) w(undefined);
    });
    piped = p;
  }
  const p = piped;
  if (p.lines.length) return Promise.resolve(p.lines.shift());
  if (p.closed) return Promise.resolve(undefined);
  return new Promise((r) => p.waiting.push(r));
}

/** Ctrl-C or Ctrl-D at a terminal prompt. */
export class PromptInterrupted extends Error {}

/**
 * Reads one answer from a terminal in raw mode (the caller's stdin, or /dev/tty), the question
 * written to `out`; with `echo: false` nothing typed is shown. Backspace edits, other control
 * characters are ignored; Ctrl-C or Ctrl-D rejects with PromptInterrupted.
 */
export function readTerminal(input: NodeJS.ReadStream, out: NodeJS.WritableStream, question: string, echo: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const wasRaw = input.isRaw;
    // raw (no echo) before the question shows: a password typed as soon as it shows is never echoed
    input.setRawMode(true);
    out.write(question);
    input.resume();
    const done = (err?: Error): void => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      out.write('\n');
      if (err) reject(err);
      else resolve(answer);
    };
    const onData = (b: Buffer): void => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new PromptInterrupted('interrupted at the prompt'));
        if (ch === '\u007f' || ch === '\b') {
          if (answer.length && echo) out.write('\b \b');
          answer = answer.slice(0, -1);
        } else if (ch >= ' ') {
          answer += ch;
          if (echo) out.write(ch);
        }
      }
    };
    input.on('data', onData);
  });
}

/** Reads one answer on the TTY; Ctrl-C or Ctrl-D stops. */
async function readTty(question: string, echo: boolean): Promise<string> {
  try {
    return await readTerminal(process.stdin, process.stderr, question, echo);
  } catch (e) {
    throw e instanceof PromptInterrupted ? new FerryError('stopped at the prompt: nothing was run') : e;
  }
}

/** Asks a question (on the terminal, else the next line of stdin); `secret`: no echo. */
export async function ask(question: string, o: { secret?: boolean } = {}): Promise<string> {
  if (process.stdin.isTTY) return readTty(question, !o.secret);
  process.stderr.write(question + '\n');
  const line = await nextPipedLine();
  if (line === undefined) throw new FerryError(`${question.replace(/:\s*$/, '')}: stdin ended before an answer (give it on a terminal, or as a line of stdin)`);
  return line;
}
