import { strict as assert } from 'node:assert';
import { editInittab, editSecuretty } from '../../tasks/guest-files/console.js';
import { assertEdit, corpus, lineChanges } from './guest-files-helpers.js';

describe('guest-files: console', () => {
  it('Debian stock inittab: T0 getty on ttyS0 added after the commented example', () => {
    const r = assertEdit(editInittab, corpus('console/debian-stock-inittab-before-xen'), {
      removed: [],
      added: ['T0:2345:respawn:/sbin/getty -L ttyS0 115200 vt100'],
    });
    assert.ok(r.text.includes('#T0:23:respawn:/sbin/getty -L ttyS0 9600 vt100\nT0:2345:respawn:/sbin/getty -L ttyS0 115200 vt100\n#T1:'));
  });

  it('Arch inittab: uses agetty like the file does, next to the commented s0 line', () => {
    const r = assertEdit(editInittab, corpus('console/arch-initscripts-inittab-hvc0-commented'), {
      removed: [],
      added: ['T0:2345:respawn:/sbin/agetty -L ttyS0 115200 vt100'],
    });
    assert.ok(r.text.includes('#s0:2345:respawn:/sbin/agetty -8 -s 9600 ttyS0 linux\nT0:2345:'));
  });

  it('OpenWrt BusyBox inittab: the hvc0 line is copied for ttyS0', () => {
    const r = assertEdit(editInittab, corpus('console/openwrt-xen-domu-busybox-inittab'), {
      removed: [],
      added: ['ttyS0::askfirst:/usr/libexec/login.sh'],
    });
    assert.ok(r.text.includes('hvc0::askfirst:/usr/libexec/login.sh\nttyS0::askfirst:'));
  });

  it('an active hvc0 getty (as xen-tools leaves it) is kept and reported; a free id is chosen', () => {
    const text = 'id:2:initdefault:\nT0:2345:respawn:/sbin/getty 38400 hvc0\n1:2345:respawn:/sbin/getty 38400 tty1\n';
    const r = editInittab(text);
    assert.deepEqual(lineChanges(text, r.text), { removed: [], added: ['S0:2345:respawn:/sbin/getty -L ttyS0 115200 vt100'] });
    assert.deepEqual(r.notes, ['line 2: getty on hvc0 kept; without a virtio console init will report it respawning']);
  });

  it('securetty: ttyS0 added once', () => {
    const text = 'console\ntty1\nhvc0';
    const r = assertEdit(editSecuretty, text, { removed: [], added: ['ttyS0'] });
    assert.equal(r.text, 'console\ntty1\nhvc0\nttyS0\n');
  });
});
