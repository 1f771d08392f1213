// The rsync relay's header: what the relay script really writes (run here with sh, no SSH), how
// the controller parses it, and which server commands it accepts.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { parseRelayHeader, RELAY_HOST, RELAY_SCRIPT, serverArgv } from '../../tasks/copy/rsync-relay.js';

/** Runs the relay script as rsync would (argv after the script), feeding `protocol` on its stdin; returns what it wrote on fd 4. */
function runRelay(argv: string[], protocol: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', RELAY_SCRIPT, 'ferry-rsync-relay', ...argv], { stdio: ['pipe', 'pipe', 'inherit', 'pipe', 'pipe'] });
    const fd3 = child.stdio[3] as NodeJS.WritableStream;
    const fd4 = child.stdio[4] as NodeJS.ReadableStream;
    const out: Buffer[] = [];
    fd4.on('data', (c: Buffer) => out.push(c));
    fd4.on('end', () => resolve(Buffer.concat(out)));
    child.on('error', reject);
    child.stdout!.resume();
    child.stdin!.end(protocol);
    fd3.end();
  });
}

describe('rsync relay header', () => {
  const argv = [RELAY_HOST, 'rsync', '--server', '--sender', '-logDtprAXHse.iLsfxCIvu', '--numeric-ids', '.', 'a dir/with "quotes"', ''];

  it('the relay script writes the argv it was given, then the protocol bytes unchanged', async () => {
    const protocol = '\u0000\u0001binary\nprotocol\u0000';
    const got = await runRelay(argv, protocol);
    const h = parseRelayHeader(got);
    assert.ok(h);
    assert.deepEqual(h.argv, argv);
    assert.equal(h.rest.toString('latin1'), protocol);
  });

  it('asks for more bytes until the header is complete, at every cut', async () => {
    const whole = await runRelay(argv, 'DATA');
    const headerEnd = whole.length - 4;
    for (let cut = 0; cut < headerEnd; cut++) assert.equal(parseRelayHeader(whole.subarray(0, cut)), null, `cut at ${cut}`);
    assert.equal(parseRelayHeader(whole.subarray(0, headerEnd))!.rest.length, 0);
  });

  it('rejects bytes that are not a header (rsync failed before starting its remote shell)', () => {
    assert.throws(() => parseRelayHeader(Buffer.from('rsync: unknown option\n')), /not a relay header/);
    assert.throws(() => parseRelayHeader(Buffer.from('x'.repeat(200))), /not a relay header/);
  });

  it('accepts only a sending rsync server for the relay host', () => {
    assert.deepEqual(serverArgv([RELAY_HOST, 'rsync', '--server', '--sender', '-e.Lsf', '.', 'src/']), ['rsync', '--server', '--sender', '-e.Lsf', '.', 'src/']);
    assert.throws(() => serverArgv(['other', 'rsync', '--server', '--sender']), /not 'rsync --server' on ferry-src/);
    assert.throws(() => serverArgv([RELAY_HOST, 'sh', '-c', 'rm -rf /']), /not 'rsync --server'/);
    assert.throws(() => serverArgv([RELAY_HOST, 'rsync', '--server', '-logDtpr', '.', 'dest/']), /receiving rsync server on the source/);
  });
});
