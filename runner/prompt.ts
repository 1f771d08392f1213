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

/** Reads one answer on the TTY; with `echo: false` nothing typed is shown. Ctrl-C or Ctrl-D stops. */
function readTty(question: string, echo: boolean): Promise<string> {
  const input = process.stdin;
  const out = process.stderr;
  return new Promise((resolve, reject) => {
    out.write(question);
    let answer = '';
    const wasRaw = input.isRaw;
    input.setRawMode(true);
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
        if (ch === '\u0003' || ch === '\u0004') return done(new FerryError('stopped at the prompt: nothing was run'));
        if (ch === '\u007f' || ch === '\b') {
          if (answer.length && echo) out.write('\b \b');
          answer = answer.slice(0, -1);
        } else {
          answer += ch;
          if (echo) out.write(ch);
        }
      }
    };
    input.on('data', onData);
  });
}

/** Asks a question (on the terminal, else the next line of stdin); `secret`: no echo. */
export async function ask(question: string, o: { secret?: boolean } = {}): Promise<string> {
  if (process.stdin.isTTY) return readTty(question, !o.secret);
  process.stderr.write(question + '\n');
  const line = await nextPipedLine();
  if (line === undefined) throw new FerryError(`${question.replace(/:\s*$/, '')}: stdin ended before an answer (give it on a terminal, or as a line of stdin)`);
  return line;
}
