// ferry's version and the answer to a bare --version / -V (app/version.cts): the one place both the
// package's bin (app/bin.cts) and the ES module entry (app/cli.ts) take them from.
import assert from 'node:assert/strict';
import { bareVersionAnswer, ferryVersion, PACKAGE_JSON_FROM_ENTRY } from '../../app/version.cjs';

/** A reader of files beside the entry that has only package.json, with this text. */
const packageJson = (text: string) => (path: string): string => {
  if (path !== PACKAGE_JSON_FROM_ENTRY) throw new Error(`ENOENT: ${path}`);
  return text;
};
const noFiles = (path: string): string => {
  throw new Error(`ENOENT: ${path}`);
};

describe('ferry version', () => {
  it("is package.json's version, and 'dev' without a readable one", () => {
    assert.equal(ferryVersion(packageJson('{"name":"ferry","version":"1.2.3"}')), '1.2.3');
    assert.equal(ferryVersion(noFiles), 'dev');
    assert.equal(ferryVersion(packageJson('{ not json')), 'dev');
  });

  const CASES: { argv: string[]; answer: string | undefined }[] = [
    { argv: ['--version'], answer: '1.2.3\n' },
    { argv: ['-V'], answer: '1.2.3\n' },
    // commander answers these (it knows the version too): not the fast path
    { argv: ['--version', 'run'], answer: undefined },
    { argv: ['run', '-V'], answer: undefined },
    { argv: [], answer: undefined },
    { argv: ['--versio'], answer: undefined },
    { argv: ['doc'], answer: undefined },
  ];
  for (const c of CASES) {
    it(`answers a bare --version / -V only: ${JSON.stringify(c.argv)}`, () => {
      assert.equal(bareVersionAnswer(c.argv, packageJson('{"version":"1.2.3"}')), c.answer);
    });
  }

  it('reads nothing for a command line it does not answer', () => {
    assert.equal(bareVersionAnswer(['run', 'pb.yaml'], noFiles), undefined);
  });
});
