// The behaviour every transport must have, run against each real one (SSH to a harness sshd,
// and local): the same assertions, so the two cannot drift apart.
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sh, shellText } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { BecomeOptions, Transport } from '../../runner/transport/types.js';
import { killMatching, noProcessLeft, processesMatching, uniqueMarker, waitUntil } from '../helpers/processes.js';

/** What the shared suite needs to know about one transport under test. */
export interface TransportUnderTest {
  transport: () => Transport;
  /** A directory the login user may write to, created fresh for the suite. */
  workDir: () => string;
  /** How to become another user without a password, and who `id -un` then says we are. */
  become: { opts: BecomeOptions; user: string };
}

const HOSTILE = [
  'with space',
  "single ' quote",
  'double " quote',
  'dollar $(echo pwned) and $HOME',
  'back `echo pwned` tick',
  'semi; echo pwned',
  'new\nline',
  'glob * ?',
  '-dash-first',
];

/** Registers the shared transport tests (call inside a describe). */
export function transportBasics(t: TransportUnderTest): void {
  it('returns exit codes, stdout and stderr as a result (non-zero is not an exception)', async () => {
    const r = await t.transport().run(sh`echo out; echo err >&2; exit 7`);
    assert.equal(r.exitCode, 7);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.command, 'echo out; echo err >&2; exit 7');
    assert.ok(r.durationMs >= 0);
  });

  it('collects big output intact (8 MiB)', async () => {
    const r = await t.transport().run(sh`head -c 8388608 /dev/zero | tr '\\0' a`);
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout.length, 8 * 1024 * 1024);
    assert.ok(/^a+$/.test(r.stdout));
  });

  it('feeds stdin from a string, a Buffer and a stream; no stdin means EOF', async () => {
    const tr = t.transport();
    assert.equal((await tr.run(sh`cat`, { stdin: 'from string\n' })).stdout, 'from string\n');
    assert.equal((await tr.run(sh`wc -c`, { stdin: Buffer.alloc(100_000, 1) })).stdout.trim(), '100000');
    const stream = Readable.from(['a', 'b', 'c'].map((s) => Buffer.from(s)));
    assert.equal((await tr.run(sh`cat`, { stdin: stream })).stdout, 'abc');
    const r = await tr.run(sh`cat; echo done`, { timeoutMs: 5000 });
    assert.equal(r.stdout, 'done\n');
  });

  it('passes hostile env values and cwd through as data, never as shell syntax', async () => {
    const tr = t.transport();
    for (const v of HOSTILE) {
      const r = await tr.run(sh`printf '%s' "$VALUE"`, { env: { VALUE: v } });
      assert.equal(r.stdout, v);
      assert.ok(!r.stdout.includes('pwned\n'));
    }
    for (const name of HOSTILE) {
      const dir = `${t.workDir()}/${name}`;
      const mk = await tr.run(sh`mkdir -p -- ${dir}`);
      assert.equal(mk.exitCode, 0, mk.stderr);
      const r = await tr.run(shellText('pwd; echo second'), { cwd: dir });
      assert.equal(r.stdout, `${dir}\nsecond\n`);
    }
    const missing = await tr.run(shellText('echo should-not-run'), { cwd: `${t.workDir()}/nope` });
    assert.notEqual(missing.exitCode, 0);
    assert.equal(missing.stdout, '');
  });

  it('returns binary stdout as bytes', async () => {
    const bytes = randomBytes(70_000);
    const r = await t.transport().run(sh`cat`, { stdin: bytes, binary: true });
    assert.ok(r.stdoutBuffer?.equals(bytes));
  });

  it('streams output as it comes', async () => {
    const chunks: string[] = [];
    const r = await t.transport().run(sh`echo one; sleep 0.3; echo two >&2`, {
      onStdout: (c) => chunks.push(`out:${c.toString()}`),
      onStderr: (c) => chunks.push(`err:${c.toString()}`),
    });
    assert.equal(r.exitCode, 0);
    assert.deepEqual(chunks, ['out:one\n', 'err:two\n']);
  });

  it('stops a command at its timeout and says so', async () => {
    const t0 = Date.now();
    const r = await t.transport().run(sh`sleep 20`, { timeoutMs: 300 });
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, null);
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  });

  it('stops a command when aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stop it')), 200);
    const t0 = Date.now();
    await assert.rejects(t.transport().run(sh`sleep 20`, { signal: ac.signal }), /stop it/);
    assert.ok(Date.now() - t0 < 3000);
  });

  for (const via of ['as the login user', 'through sudo'] as const) {
    it(`leaves no process of an aborted command behind (a pipeline of sleep and dd, ${via})`, async () => {
      const m = uniqueMarker();
      const ac = new AbortController();
      const become = via === 'through sudo' ? t.become.opts : false;
      const run = t.transport().run(shellText(`sleep 1${m} | dd of=/dev/null count=2${m} status=none`), { become, signal: ac.signal });
      try {
        await waitUntil(() => processesMatching(`dd of=/dev/null count=2${m}`).length > 0, 10_000, 'the pipeline started');
        ac.abort(new Error('stop it'));
        await assert.rejects(run, /stop it/);
        await noProcessLeft(m);
      } finally {
        killMatching(m);
      }
    });
  }

  it('stops a command aborted while it is still being started', async () => {
    const m = uniqueMarker();
    const ac = new AbortController();
    const run = t.transport().run(shellText(`sleep 1${m}`), { signal: ac.signal });
    ac.abort(new Error('stopped early'));
    try {
      await assert.rejects(run, /stopped early/);
      await noProcessLeft(m);
    } finally {
      killMatching(m);
    }
  });

  it('puts and gets files: binary round trip, mode, atomic (no temp file left), null when missing', async () => {
    const tr = t.transport();
    const dir = `${t.workDir()}/put`;
    await tr.run(sh`mkdir -p ${dir}`);
    const data = Buffer.concat([randomBytes(200_000), Buffer.from([0, 10, 13, 255])]);
    await tr.put(`${dir}/file.bin`, data, { mode: 0o640 });
    const back = await tr.get(`${dir}/file.bin`);
    assert.ok(back?.equals(data));
    assert.equal((await tr.run(sh`stat -c %a ${`${dir}/file.bin`}`)).stdout.trim(), '640');
    await tr.put(`${dir}/file.bin`, 'replaced', { mode: 0o600 });
    assert.equal((await tr.get(`${dir}/file.bin`))?.toString(), 'replaced');
    assert.equal((await tr.run(sh`stat -c %a ${`${dir}/file.bin`}`)).stdout.trim(), '600');
    assert.equal((await tr.run(sh`ls -A ${dir}`)).stdout, 'file.bin\n');
    assert.equal(await tr.get(`${dir}/missing`), null);
    await assert.rejects(tr.put(`${dir}/no/such/dir/f`, 'x'), (e: unknown) => e instanceof TaskFailedError && /put .* failed/.test(e.message));
    assert.equal((await tr.run(sh`ls -A ${dir}`)).stdout, 'file.bin\n');
    await assert.rejects(tr.get(dir), TaskFailedError); // a directory is not a file to read
  });

  it('becomes another user with sudo (NOPASSWD) for run, put and get', async () => {
    const tr = t.transport();
    const r = await tr.run(sh`id -un; cat`, { become: t.become.opts, stdin: 'through sudo' });
    assert.equal(r.stdout, `${t.become.user}\nthrough sudo`);
    const path = `/tmp/ferry-become-${randomBytes(4).toString('hex')}`;
    await tr.put(path, 'owned', { become: t.become.opts, mode: 0o600 });
    assert.equal((await tr.run(sh`stat -c %U ${path}`, { become: t.become.opts })).stdout.trim(), t.become.user);
    assert.equal((await tr.get(path, { become: t.become.opts }))?.toString(), 'owned');
    await tr.run(sh`rm -f ${path}`, { become: t.become.opts });
  });

  it('streams a large transfer through spawn with backpressure (64 MiB)', async () => {
    const tr = t.transport();
    const size = 64 * 1024 * 1024;
    const rc = await tr.spawn(sh`cat`);
    const block = randomBytes(1024 * 1024);
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < size / block.length; i++) yield block;
      })(),
    );
    const want = createHash('sha256');
    for (let i = 0; i < size / block.length; i++) want.update(block);
    const got = createHash('sha256');
    let n = 0;
    rc.stderr.resume();
    await Promise.all([
      pipeline(source, rc.stdin),
      (async () => {
        for await (const c of rc.stdout) {
          got.update(c as Buffer);
          n += (c as Buffer).length;
        }
      })(),
    ]);
    const res = await rc.done;
    assert.equal(res.exitCode, 0);
    assert.equal(n, size);
    assert.equal(got.digest('hex'), want.digest('hex'));
  });
}
