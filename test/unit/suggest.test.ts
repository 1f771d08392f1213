import { strict as assert } from 'node:assert';
import { didYouMean, editDistance, nearest } from '../../runner/suggest.js';

describe('suggestions: a real edit distance with a threshold', () => {
  const distances: [string, string, number][] = [
    ['', '', 0], ['copy', 'copy', 0], ['comand', 'command', 1], ['cpoy', 'copy', 1], ['apt', 'set', 2], ['kitten', 'sitting', 3], ['ab', 'ba', 1], ['ca', 'abc', 3],
  ];
  for (const [a, b, d] of distances) it(`distance(${a || '""'}, ${b || '""'}) = ${d}`, () => assert.equal(editDistance(a, b), d));

  const modules = ['command', 'shell', 'copy', 'set', 'set_fact', 'ping', 'template', 'lineinfile', 'debug', 'file', 'service'];
  const cases: [string, string | undefined][] = [
    ['comand', 'command'],
    ['cpoy', 'copy'],
    ['shel', 'shell'],
    ['tempalte', 'template'],
    ['lineinfle', 'lineinfile'],
    ['Ping', 'ping'],
    ['servise', 'service'],
    ['apt', undefined], // not 'set'
    ['yum', undefined],
    ['at', undefined],
    ['systemd', undefined],
    ['x', undefined],
  ];
  for (const [word, want] of cases) {
    it(`${word} → ${want ?? 'no suggestion'}`, () => assert.equal(nearest(word, modules), want));
  }
  it('says it as a hint, or what to do otherwise', () => {
    assert.equal(didYouMean('comand', modules), "did you mean 'command'?");
    assert.equal(didYouMean('apt', modules, "'ferry doc' lists the modules"), "'ferry doc' lists the modules");
  });
});
