import { strict as assert } from 'node:assert';
import { secret, sh } from '../../runner/command.js';
import { ValidationError } from '../../runner/errors.js';
import { MarkerScanner, wrapCommand } from '../../runner/transport/become.js';

describe('become wrapping', () => {
  it('never puts the become password into the command text or display', () => {
    const w = wrapCommand(sh`id -un`, { become: { user: 'postgres', password: secret('s3cr3t pw') } });
    assert.ok(!w.command.text.includes('s3cr3t'));
    assert.ok(!w.command.display.includes('s3cr3t'));
    assert.equal(w.password, 's3cr3t pw');
    assert.match(w.command.text, /^sudo -H -S -p '\[ferry-sudo-prompt-[0-9a-f]+\]' -u postgres -- sh -c /);
    assert.ok(w.readyMarker && w.command.text.includes(w.readyMarker));
  });

  it('uses sudo -n without a password, so a missing NOPASSWD fails instead of hanging', () => {
    const w = wrapCommand(sh`true`, { become: {} });
    assert.match(w.command.text, /^sudo -H -n -u root -- sh -c /);
    assert.equal(w.password, undefined);
  });

  it('runs the command under a become-side shell that stops its whole process group on a signal', () => {
    // sudo passes a signal to its own child only: that child (as the become user) signals the group.
    const w = wrapCommand(sh`true`, { become: {} });
    assert.equal(
      w.command.text,
      `sudo -H -n -u root -- sh -c 'trap '\\''trap "" TERM INT HUP; kill -TERM 0; (sleep 2; kill -KILL 0) & wait "$p"; kill -KILL 0'\\'' TERM INT HUP; ` +
        `exec 3<&0; sh -c true <&3 3<&- & p=$!; exec 3<&-; wait "$p"'`,
    );
    const pw = wrapCommand(sh`true`, { become: { password: secret('pw') } });
    assert.match(pw.command.text, /; kill -TERM 0; .* sh -c true <&3 3<&- & p=\$!; exec 3<&-; wait "\$p"'$/);
  });

  it("with watch, passes the login shell's parent on to the become side, whose shell lists itself for its connection's watcher", () => {
    for (const become of [{}, { password: secret('pw') }]) {
      const w = wrapCommand(sh`true`, { become, watch: 'f00d' });
      assert.match(w.command.text, /' sh "\$PPID"$/);
      // listed (the watcher started by the first) before the command starts, as the become user, in a folder named by the token and $1
      assert.match(
        w.command.text,
        /TERM INT HUP; __ferry_d="\$\{TMPDIR:-\/tmp\}\/\.ferry-become-f00d-\$1"; if \[ -d "\/proc\/\$1" \]; then .*setsid sh -c .*k HUP.* >>"\$__ferry_d\/list"; .*unset __ferry_d __ferry_t; exec 3<&0; sh -c true /s,
      );
    }
  });

  it('leaves the command alone without env, cwd or become', () => {
    assert.equal(wrapCommand(sh`echo ${'a b'}`, {}).command.text, "echo 'a b'");
  });

  it('quotes env values and cwd as single words', () => {
    const w = wrapCommand(sh`echo "$X"`, { env: { X: "it's $(x)" }, cwd: '/tmp/a dir' });
    assert.equal(w.command.text, `cd -- '/tmp/a dir' && env 'X=it'\\''s $(x)' sh -c 'echo "$X"'`);
  });

  it('rejects env names that are not shell names, and user names with shell syntax', () => {
    assert.throws(() => wrapCommand(sh`true`, { env: { 'A B': '1', '1X': '2' } }), (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.equal(e.problems.length, 2);
      return true;
    });
    assert.throws(() => wrapCommand(sh`true`, { become: { user: 'root; id' } }), ValidationError);
    assert.throws(() => wrapCommand(sh`true`, { become: { password: secret('a\nb') } }), ValidationError);
  });
});

describe('sudo marker scanner', () => {
  const prompt = '[ferry-sudo-prompt-abc]';
  const ready = '[ferry-become-ready-abc]';

  /** Feeds `text` in chunks of `size` bytes; returns the stderr kept and the events seen. */
  function feed(text: string, size: number, lineEnd: '\n' | '\r\n' = '\n'): { out: string; events: string[] } {
    const s = new MarkerScanner(prompt, ready, lineEnd);
    const buf = Buffer.from(text);
    let out = '';
    const events: string[] = [];
    for (let i = 0; i < buf.length; i += size) {
      const r = s.push(buf.subarray(i, i + size));
      out += r.out.toString();
      events.push(...r.events);
    }
    out += s.flush().toString();
    return { out, events };
  }

  const cases: Array<[string, string, string, string[]]> = [
    ['prompt then ready', `${prompt}${ready}\nhello\n`, 'hello\n', ['prompt', 'ready']],
    ['no prompt (NOPASSWD or cached)', `${ready}\nout`, 'out', ['ready']],
    ['wrong password', `${prompt}Sorry, try again.\n${prompt}`, 'Sorry, try again.\n', ['prompt', 'prompt']],
    ['sudo error before anything', 'sudo: unknown user x\n', 'sudo: unknown user x\n', []],
    // after the ready marker nothing is interpreted: the command may print a marker-like text
    ['marker text after ready passes', `${ready}\n${prompt}`, prompt, ['ready']],
  ];
  for (const [name, text, out, events] of cases) {
    for (const size of [1, 3, 7, 1000]) {
      it(`${name} (chunks of ${size})`, () => {
        assert.deepEqual(feed(text, size), { out, events });
      });
    }
  }

  // On a terminal (raw) sudo talks in the merged output: the ready marker's line ends in \r\n, and the
  // line break sudo prints after reading the password is the command's output, as Ansible shows it.
  const terminal: Array<[string, string, string, string[]]> = [
    ['prompt, sudo\'s line break, ready', `${prompt}\r\n${ready}\r\n0\r\n`, '\r\n0\r\n', ['prompt', 'ready']],
    ['no prompt', `${ready}\r\nout\r\n`, 'out\r\n', ['ready']],
    ['a bare \\n after the marker is not the end of its line', `${ready}\nout`, `${ready}\nout`, []],
  ];
  for (const [name, text, out, events] of terminal) {
    for (const size of [1, 5, 1000]) {
      it(`on a terminal: ${name} (chunks of ${size})`, () => {
        assert.deepEqual(feed(text, size, '\r\n'), { out, events });
      });
    }
  }
});
