// The one framing of batched reads, driven through this machine's real /bin/sh (dash): hostile
// bodies come back byte for byte, each record keeps its own exit status and stderr.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BATCH_RECORD_FUNCTION, batchCommand, batchRecords, newBatchToken, parseBatch } from '../../runner/batch-read.js';
import { secret, sh } from '../../runner/command.js';

/** Runs the parts as one batch under /bin/sh and returns its raw stdout with the token. */
function runBatch(parts: { name: string; script: string }[]): { out: string; token: string } {
  const token = newBatchToken();
  const script = ['ferry_tok=$1', BATCH_RECORD_FUNCTION, ...batchRecords(parts)].join('\n');
  return { out: execFileSync('/bin/sh', ['-c', script, 'batch', token], { encoding: 'utf8' }), token };
}

describe('batched reads: one framing', () => {
  it('gives each record its exact body, exit status and stderr, in order', () => {
    const other = newBatchToken();
    const { out, token } = runBatch([
      { name: 'plain', script: 'printf "a\\nb\\n"' },
      { name: 'no-newline', script: 'printf tail' },
      { name: 'empty', script: 'true' },
      { name: 'failed', script: 'echo half; echo oops >&2; exit 3' },
      // a body that prints frames of its own, with another token and with none: still a body
      { name: 'forged', script: `printf '%s end 0 %s\\n@@ferry-facts:end:x:0@@\\n' ${other} ${other}` },
      { name: 'blank-lines', script: 'printf "\\n\\n"' },
    ]);
    const { records, broken } = parseBatch(out, token);
    assert.equal(broken, undefined);
    assert.deepEqual(records, [
      { name: 'plain', body: 'a\nb\n', exitCode: 0, stderr: '' },
      { name: 'no-newline', body: 'tail', exitCode: 0, stderr: '' },
      { name: 'empty', body: '', exitCode: 0, stderr: '' },
      { name: 'failed', body: 'half\n', exitCode: 3, stderr: 'oops' },
      { name: 'forged', body: `${other} end 0 ${other}\n@@ferry-facts:end:x:0@@\n`, exitCode: 0, stderr: '' },
      { name: 'blank-lines', body: '\n\n', exitCode: 0, stderr: '' },
    ]);
  });
  it('a part reads /dev/null, not the batch\'s stdin', () => {
    const token = newBatchToken();
    const script = ['ferry_tok=$1', BATCH_RECORD_FUNCTION, ...batchRecords([{ name: 'stdin', script: 'cat' }])].join('\n');
    const out = execFileSync('/bin/sh', ['-c', script, 'batch', token], { input: 'not for the part\n', encoding: 'utf8' });
    assert.deepEqual(parseBatch(out, token).records, [{ name: 'stdin', body: '', exitCode: 0, stderr: '' }]);
  });
  it('output cut short keeps the whole records and says where it broke; a foreign line is a break at its byte', () => {
    const { out, token } = runBatch([{ name: 'one', script: 'echo 1' }, { name: 'two', script: 'echo 2' }]);
    const cut = parseBatch(out.slice(0, out.lastIndexOf(`\n${token} end `)), token);
    assert.deepEqual(cut.records.map((r) => r.name), ['one']);
    assert.equal(cut.broken, 'the output ends inside the record of two');
    const foreign = parseBatch(`motd\n${out}`, token);
    assert.deepEqual(foreign.records, []);
    assert.match(foreign.broken!, /^unexpected output at byte 0: "motd\\n/);
    assert.deepEqual(parseBatch('', token), { records: [] });
  });
  it('batchCommand runs each command as it would run alone: hostile words stay words, secrets stay masked', () => {
    const token = newBatchToken();
    const hostile = "it's $(echo no) `echo no` ; echo no";
    const cmd = batchCommand(
      [
        { name: 'words', cmd: sh`printf '%s|' ${hostile} ${'-n'}` },
        { name: 'secret', cmd: sh`printf %s ${secret('s3cret')}` },
        { name: 'fails', cmd: sh`ls -- ${'/nonexistent dir'}` },
      ],
      token,
    );
    assert.ok(!cmd.display.includes('s3cret') && cmd.text.includes('s3cret'));
    const out = execFileSync('/bin/sh', ['-c', cmd.text], { encoding: 'utf8' });
    const { records, broken } = parseBatch(out, token);
    assert.equal(broken, undefined);
    assert.deepEqual(records.slice(0, 2), [
      { name: 'words', body: `${hostile}|-n|`, exitCode: 0, stderr: '' },
      { name: 'secret', body: 's3cret', exitCode: 0, stderr: '' },
    ]);
    assert.equal(records[2]!.exitCode, 2);
    assert.match(records[2]!.stderr, /nonexistent dir/);
    assert.throws(() => batchCommand([{ name: 'a b', cmd: sh`true` }], token), /a record name is a plain word/);
  });
});
