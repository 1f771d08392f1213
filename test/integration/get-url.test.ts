// get_url against a real sshd on loopback, downloading from a local HTTP server the host reaches on
// 127.0.0.1 (the sshd host is this machine): what changes, what Ansible's result keys say (checked
// against ansible-core 2.14's get_url by hand: msg 'OK (N bytes)', 304 'HTTP Error 304: Not Modified',
// 'Request failed' with the response, the checksum message), and that no secret leaves stdin.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFile } from 'node:fs/promises';
import { runPlaybookFile } from '../../app/api.js';
import { CollectingReporter } from '../helpers/collect.js';
import { sshdWorkspace } from '../helpers/sshd-workspace.js';

const LAST_MODIFIED = new Date('2020-01-01T00:00:00Z');
const PASSWORD = 'pa ss"w\\ord-42';

describe('get_url over real sshd @integration', function () {
  this.timeout(120_000);
  const ws = sshdWorkspace('get-url');
  let server: Server;
  let base: string;
  let n = 0;
  const requests: { url: string; headers: IncomingHttpHeaders }[] = [];
  let version = 'hello\n';

  before(async () => {
    server = createServer((req, res) => {
      requests.push({ url: req.url ?? '', headers: req.headers });
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const since = req.headers['if-modified-since'];
      if (path === '/a.txt' || path === '/v.txt') {
        if (since && new Date(since) >= LAST_MODIFIED && path === '/a.txt') return void res.writeHead(304).end();
        res.writeHead(200, { 'last-modified': LAST_MODIFIED.toUTCString() });
        return void res.end(path === '/a.txt' ? 'hello\n' : version);
      }
      if (path === '/private.txt') {
        const want = 'Basic ' + Buffer.from(`ferry:${PASSWORD}`).toString('base64');
        if (req.headers.authorization !== want) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
        return void res.end('private\n');
      }
      res.writeHead(404, 'File not found').end('no\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => server?.close(r));
  });

  /** Runs one get_url task; returns its result event and the reporter. */
  async function getUrl(args: Record<string, unknown>, opts: { check?: boolean; extra?: Record<string, unknown> } = {}) {
    const pb = join(ws.dir, `pb${++n}.yaml`);
    await writeFile(pb, stringify([{ hosts: 'all', gather_facts: false, tasks: [{ name: 'get', get_url: args, register: 'r', ignore_errors: true, ...opts.extra }] }]));
    const rep = new CollectingReporter();
    await runPlaybookFile(pb, { inventory: [ws.inv], reporter: rep, ...(opts.check ? { check: true } : {}) });
    return { r: rep.result('get', ws.host.name)!, rep };
  }
  const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

  it('downloads a new file; again: the server is asked If-Modified-Since and nothing changes', async () => {
    const dest = join(ws.dir, 'a.txt');
    const first = (await getUrl({ url: `${base}/a.txt`, dest })).r;
    assert.equal(first.status, 'changed', JSON.stringify(first));
    assert.equal(readFileSync(dest, 'utf8'), 'hello\n');
    assert.equal(statSync(dest).mode & 0o7777, 0o644);
    assert.deepEqual(
      { msg: first.result!.msg, status_code: first.result!.status_code, checksum_src: first.result!.checksum_src, checksum_dest: first.result!.checksum_dest, size: first.result!.size, dest: first.result!.dest },
      { msg: 'OK (6 bytes)', status_code: 200, checksum_src: sha1('hello\n'), checksum_dest: null, size: 6, dest },
    );
    assert.equal(first.result!.md5sum, createHash('md5').update('hello\n').digest('hex'));
    const again = (await getUrl({ url: `${base}/a.txt`, dest })).r;
    assert.equal(again.status, 'ok', JSON.stringify(again));
    assert.equal(again.result!.status_code, 304);
    assert.equal(again.result!.msg, 'HTTP Error 304: Not Modified');
    assert.ok(requests.at(-1)!.headers['if-modified-since'], 'the second request was conditional');
  });

  it('force: downloads every time, replaces only a different content, and keeps the replaced file\'s mode', async () => {
    const dest = join(ws.dir, 'v.txt');
    version = 'one\n';
    assert.equal((await getUrl({ url: `${base}/v.txt`, dest, force: true })).r.status, 'changed');
    chmodSync(dest, 0o600);
    const same = (await getUrl({ url: `${base}/v.txt`, dest, force: true })).r;
    assert.equal(same.status, 'ok', JSON.stringify(same));
    assert.equal(same.result!.checksum_dest, sha1('one\n'));
    version = 'two\n';
    const changed = (await getUrl({ url: `${base}/v.txt`, dest, force: true, mode: 'g+r' })).r;
    assert.equal(changed.status, 'changed');
    assert.equal(readFileSync(dest, 'utf8'), 'two\n');
    assert.equal(statSync(dest).mode & 0o7777, 0o640, 'the old mode kept, then mode: applied');
    assert.deepEqual(readdirTemps(), [], 'no temporary file is left behind');
  });

  it('a checksum: a mismatch fails and leaves dest alone; a matching dest is not downloaded again', async () => {
    const dest = join(ws.dir, 'c.txt');
    const bad = (await getUrl({ url: `${base}/a.txt`, dest, checksum: 'sha256:' + '0'.repeat(64) })).r;
    assert.equal(bad.status, 'failed');
    const actual = createHash('sha256').update('hello\n').digest('hex');
    assert.equal(bad.msg, `The checksum for ${dest} did not match ${'0'.repeat(64)}; it was ${actual}.`);
    assert.equal(existsSync(dest), false);
    assert.equal((await getUrl({ url: `${base}/a.txt`, dest, checksum: `sha256:${actual}` })).r.status, 'changed');
    const before = requests.length;
    const kept = (await getUrl({ url: `${base}/a.txt`, dest, checksum: `sha256:${actual.toUpperCase()}` })).r;
    assert.equal(kept.status, 'ok');
    assert.match(kept.msg!, /already has sha256 .*not downloaded again/);
    assert.equal(requests.length, before, 'no request was made');
  });

  it('an HTTP error fails with Ansible\'s keys and creates nothing; a directory dest takes the URL\'s name', async () => {
    const missing = (await getUrl({ url: `${base}/missing`, dest: join(ws.dir, 'm.txt') })).r;
    assert.equal(missing.status, 'failed');
    assert.equal(missing.msg, 'Request failed');
    assert.equal(missing.result!.status_code, 404);
    assert.equal(missing.result!.response, 'HTTP Error 404: File not found');
    assert.equal(existsSync(join(ws.dir, 'm.txt')), false);
    mkdirSync(join(ws.dir, 'into'));
    chmodSync(join(ws.dir, 'into'), 0o777);
    const into = (await getUrl({ url: `${base}/a.txt?x=1`, dest: join(ws.dir, 'into') })).r;
    assert.equal(into.status, 'changed', JSON.stringify(into));
    assert.equal(readFileSync(join(ws.dir, 'into', 'a.txt'), 'utf8'), 'hello\n');
  });

  it('basic authentication and headers reach the server; the password is in no event and on no command line (curl reads it on stdin)', async () => {
    const dest = join(ws.dir, 'private.txt');
    const denied = (await getUrl({ url: `${base}/private.txt`, dest })).r;
    assert.equal(denied.result!.status_code, 401);
    const { r, rep } = await getUrl({ url: `${base}/private.txt`, dest, url_username: 'ferry', url_password: PASSWORD, headers: { 'X-Trace': 'abc' } });
    assert.equal(r.status, 'changed', JSON.stringify(r));
    assert.equal(readFileSync(dest, 'utf8'), 'private\n');
    assert.equal(requests.at(-1)!.headers['x-trace'], 'abc');
    assert.doesNotMatch(JSON.stringify(rep.events), /pa ss/);
    // check mode -v shows the exact command a real run executes: the password is not part of it
    const checked = (await getUrl({ url: `${base}/private.txt`, dest: join(ws.dir, 'p2.txt'), url_password: PASSWORD, url_username: 'ferry' }, { check: true })).r;
    assert.ok(checked.commands?.[0]?.includes('curl -K -'), JSON.stringify(checked.commands));
    assert.doesNotMatch(JSON.stringify(checked), /pa ss/);
  });

  it('check mode downloads nothing: a missing dest is a change, an existing one is partial', async () => {
    const before = requests.length;
    const dest = join(ws.dir, 'never.txt');
    const c = (await getUrl({ url: `${base}/a.txt`, dest }, { check: true })).r;
    assert.equal(c.status, 'changed');
    assert.equal(existsSync(dest), false);
    const existing = (await getUrl({ url: `${base}/a.txt`, dest: join(ws.dir, 'a.txt'), force: true }, { check: true })).r;
    assert.match(String(existing.result!.check_mode_partial), /known only in a real run/);
    assert.equal(requests.length, before, 'no request was made');
  });

  const readdirTemps = (): string[] => readdirSync(ws.dir).filter((f) => f.startsWith('.ferry-get_url'));
});
