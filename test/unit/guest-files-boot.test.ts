import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { editDefaultGrub, GRUB_SERIAL_COMMAND_VALUE, serialCommandMatches } from '../../tasks/grub/default-grub.js';
import { rewriteKernelCmdline, splitCmdline } from '../../tasks/guest-files/kernel-cmdline.js';
import { defaultMenuEntry, editMenuLst, parseMenuLst } from '../../tasks/grub/menu-lst.js';
import { assertEdit, corpus, lineChanges } from './guest-files-helpers.js';

const SERIAL = 'GRUB_TERMINAL="serial console"';
const SERIAL_CMD = `GRUB_SERIAL_COMMAND="${GRUB_SERIAL_COMMAND_VALUE}"`;

describe('guest-files: kernel command line', () => {
  const cases: [string, string, string][] = [
    ['pv guest', 'root=/dev/xvda1 console=hvc0', 'root=/dev/vda1 console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0'],
    ['resume and xencons', 'root=/dev/xvda2 resume=/dev/xvdb1 xencons=tty ro', 'root=/dev/vda2 resume=/dev/vdb1 ro console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0'],
    ['tty0 already there: hvc0 becomes ttyS0 only', 'console=tty0 console=hvc0 quiet', 'console=tty0 console=ttyS0,115200 quiet net.ifnames=0 biosdevname=0'],
    ['ttyS0 there, tty0 goes before it', 'quiet console=ttyS0,115200n8', 'quiet console=tty0 console=ttyS0,115200n8 net.ifnames=0 biosdevname=0'],
    ['UUID root untouched', 'root=UUID=d3a8f783-df75-4dc8-9163-975a891052c0 ro', 'root=UUID=d3a8f783-df75-4dc8-9163-975a891052c0 ro console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0'],
    ['already converted', 'root=/dev/vda1 console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0', 'root=/dev/vda1 console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0'],
  ];
  for (const [what, before, after] of cases) {
    it(what, () => {
      const r = rewriteKernelCmdline(before);
      assert.equal(r.text, after);
      assert.equal(r.changed, before !== after);
      assert.equal(rewriteKernelCmdline(r.text).changed, false);
    });
  }

  it('keeps the original spacing when nothing changes, reports net.ifnames=1', () => {
    const text = 'root=/dev/vda1  console=tty0 console=ttyS0 net.ifnames=1 biosdevname=0';
    const r = rewriteKernelCmdline(text);
    assert.equal(r.text, text);
    assert.equal(r.changed, false);
    assert.match(r.notes![0], /net\.ifnames=1 is kept/);
  });

  it('options switch parts off', () => {
    assert.equal(rewriteKernelCmdline('root=/dev/sda1 console=hvc0', { renameSd: true, serialConsole: false, netIfnames: false }).text, 'root=/dev/vda1 console=hvc0');
  });
});

describe('guest-files: /etc/default/grub', () => {
  it('Ubuntu 12.04 stock: cmdline filled, #GRUB_TERMINAL=console replaced in place, serial command after it', () => {
    assertEdit((t) => editDefaultGrub(t), corpus('default-grub/ubuntu-12.04-grub2-stock'), {
      removed: ['GRUB_CMDLINE_LINUX=""', '#GRUB_TERMINAL=console'],
      added: ['GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0"', SERIAL, SERIAL_CMD],
    });
  });

  it('Devuan on EC2: hvc0 in _DEFAULT replaced, net.ifnames added to GRUB_CMDLINE_LINUX, PARTUUID reported', () => {
    const r = assertEdit((t) => editDefaultGrub(t), corpus('default-grub/devuan-aws-hvc0-ttyS0-partuuid'), {
      removed: ['GRUB_CMDLINE_LINUX_DEFAULT="console=hvc0 console=ttyS0,115200"', 'GRUB_CMDLINE_LINUX="rootfstype=ext4"', '#GRUB_TERMINAL=console'],
      added: [
        'GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200"',
        'GRUB_CMDLINE_LINUX="rootfstype=ext4 net.ifnames=0 biosdevname=0"',
        SERIAL,
        SERIAL_CMD,
      ],
    });
    assert.ok(r.notes!.some((n) => n.startsWith('line 11: GRUB_DEVICE=PARTUUID=505e8893-01')));
  });

  it('Arch file without #GRUB_TERMINAL=: appended at the end, GRUB_TERMINAL_INPUT reported', () => {
    const before = corpus('default-grub/arch-server-grapheneos');
    const r = assertEdit((t) => editDefaultGrub(t), before, {
      removed: [
        'GRUB_CMDLINE_LINUX="slab_nomerge init_on_free=1 lockdown=confidentiality vsyscall=none ia32_emulation=0 fb_tunnels=none preempt=none noautogroup"',
      ],
      added: [
        'GRUB_CMDLINE_LINUX="slab_nomerge init_on_free=1 lockdown=confidentiality vsyscall=none ia32_emulation=0 fb_tunnels=none preempt=none noautogroup console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0"',
        SERIAL,
        SERIAL_CMD,
      ],
    });
    assert.ok(r.text.endsWith(`#GRUB_DISABLE_OS_PROBER=false\n${SERIAL}\n${SERIAL_CMD}\n`));
    assert.ok(r.notes!.includes('line 20: GRUB_TERMINAL_INPUT is kept; grub-mkconfig lets GRUB_TERMINAL override it'));
  });

  it('Qubes drop-in: console=hvc0 replaced inside "$GRUB_CMDLINE_LINUX …", additions on the last top-level line', () => {
    assertEdit((t) => editDefaultGrub(t, { dropIn: true }), corpus('default-grub/qubes-grub.d-30-qubes-hvc0.cfg'), {
      removed: [
        'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX root=/dev/mapper/dmroot console=tty0 console=hvc0"',
        'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX clocksource=tsc"',
      ],
      added: [
        'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX root=/dev/mapper/dmroot console=tty0 console=ttyS0,115200"',
        'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX clocksource=tsc net.ifnames=0 biosdevname=0"',
        SERIAL,
        SERIAL_CMD,
      ],
    });
  });

  it('Qubes drop-in with shell logic: Xen-only tokens dropped (also inside if), nothing added inside if', () => {
    const r = assertEdit((t) => editDefaultGrub(t, { dropIn: true }), corpus('default-grub/qubes-grub.d-kernel-vm-support-shell-logic.cfg'), {
      removed: ['    GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX xen_scrub_pages=0"', 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX xen_privcmd.unrestricted"'],
      added: [
        '    GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX"',
        'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0"',
        SERIAL,
        SERIAL_CMD,
      ],
    });
    assert.deepEqual(r.notes, [
      'line 6: dropped Xen-only kernel parameter xen_scrub_pages=0',
      'line 9: dropped Xen-only kernel parameter xen_privcmd.unrestricted',
    ]);
  });

  it('Debian cloud serial drop-in (the KVM end state): serial console already right', () => {
    const text = corpus('default-grub/debian-cloud-grub.d-20_serial_console.cfg');
    const r = editDefaultGrub(text, { dropIn: true, netIfnames: false });
    assert.equal(r.changed, false);
    assert.equal(r.text, text);
    // With the defaults only the interface-naming tokens are added.
    assert.deepEqual(lineChanges(text, editDefaultGrub(text, { dropIn: true }).text), {
      removed: ['GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200"'],
      added: ['GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 net.ifnames=0 biosdevname=0"'],
    });
  });

  it('ensure: false in a Xen-era drop-in: console=hvc0 and GRUB_TERMINAL=console rewritten in place, nothing added', () => {
    // sourced after /etc/default/grub, this would undo the main file's serial console
    const text = '# CLOUD_IMG: This file was created/modified by the Cloud Image build process\nGRUB_TIMEOUT=0\nGRUB_CMDLINE_LINUX_DEFAULT="console=hvc0"\nGRUB_TERMINAL=console\n';
    const r = editDefaultGrub(text, { dropIn: true, ensure: false });
    assert.deepEqual(lineChanges(text, r.text), {
      removed: ['GRUB_CMDLINE_LINUX_DEFAULT="console=hvc0"', 'GRUB_TERMINAL=console'],
      added: ['GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200"', SERIAL],
    });
    assert.equal(editDefaultGrub(r.text, { dropIn: true, ensure: false }).changed, false);
    // a wrong GRUB_SERIAL_COMMAND is corrected too, a missing one is not added
    const cmd = editDefaultGrub('GRUB_SERIAL_COMMAND="serial --speed=9600"\n', { dropIn: true, ensure: false });
    assert.equal(cmd.text, `${SERIAL_CMD}\n`);
    // Ubuntu's grub-common ships a drop-in with comments only
    const ubuntu = '# Work around a bug in the obsolete init-select package which broke\n# grub-mkconfig when init-select was removed but not purged.\n';
    assert.equal(editDefaultGrub(ubuntu, { dropIn: true, ensure: false }).changed, false);
  });

  it('ensure: false only rewrites, never adds', () => {
    const text = corpus('default-grub/ubuntu-12.04-grub2-stock');
    assert.equal(editDefaultGrub(text, { ensure: false }).changed, false);
  });

  it('keeps single quotes, quotes a bare value that needs it, leaves concatenations alone', () => {
    const text = "GRUB_CMDLINE_LINUX='console=hvc0'\nGRUB_CMDLINE_LINUX_DEFAULT=quiet\nGRUB_TERMINAL=serial\nGRUB_SERIAL_COMMAND=\"serial --speed=9600\"\nGRUB_X=1";
    const r = editDefaultGrub(text);
    assert.equal(
      r.text,
      "GRUB_CMDLINE_LINUX='console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0'\nGRUB_CMDLINE_LINUX_DEFAULT=quiet\nGRUB_TERMINAL=serial\n" +
        `${SERIAL_CMD}\nGRUB_X=1`,
    );
    const odd = 'GRUB_CMDLINE_LINUX="$A"\' console=hvc0\'\n';
    const r2 = editDefaultGrub(odd, { ensure: false });
    assert.equal(r2.text, odd);
    assert.match(r2.notes![0], /^line 1: GRUB_CMDLINE_LINUX is not a single quoted value/);
  });

  it('serial command comparison fills GRUB defaults', () => {
    assert.equal(serialCommandMatches('serial --speed=115200'), true);
    assert.equal(serialCommandMatches('serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1'), true);
    assert.equal(serialCommandMatches('serial --speed=9600'), false);
    assert.equal(serialCommandMatches('serial --unit=1 --speed=115200'), false);
  });
});

describe('guest-files: menu.lst', () => {
  it('parses the Linode Xen PV menu.lst', () => {
    const menu = parseMenuLst(corpus('menu-lst/linode-arch-xen-pv-xvda-hvc0'));
    assert.equal(menu.default, 0);
    assert.equal(menu.timeout, 10);
    assert.deepEqual(
      menu.entries.map((e) => [e.title, e.root, e.kernel?.path, e.initrd?.path, e.xenKernel]),
      [
        ['Linux-Linode %VER%', '(hd0)', '/boot/vmlinuz-linux-linode', '/boot/initramfs-linux-linode.img', false],
        ['Linux-Linode %VER% - rescue-ish', '(hd0)', '/boot/vmlinuz-linux-linode', '/boot/initramfs-linux-linode.img', false],
        ['Arch Vanilla %VER% (if installed)', '(hd0)', '/boot/vmlinuz-linux', '/boot/initramfs-linux.img', false],
        ['Arch Vanilla %VER% Fallback (if installed)', '(hd0)', '/boot/vmlinuz-linux', '/boot/initramfs-linux-fallback.img', false],
      ],
    );
    assert.equal(defaultMenuEntry(menu)?.kernel?.args.split(' ')[0], 'root=/dev/xvda');
  });

  it('rewrites kernel lines only, and agrees with the file the package shipped after its move to KVM', () => {
    const before = corpus('menu-lst/linode-arch-xen-pv-xvda-hvc0');
    const r = editMenuLst(before);
    const changes = lineChanges(before, r.text);
    assert.equal(changes.removed.length, 4);
    assert.ok(changes.removed.every((l) => l.startsWith('kernel ')));
    assert.equal(editMenuLst(r.text).changed, false);
    // The KVM counterpart used sda and console=tty1 console=ttyS0; apart from the device
    // name and the console/ifnames tokens, every kernel argument must be the same.
    const kvm = parseMenuLst(corpus('menu-lst/linode-arch-after-kvm-sda-ttyS0'));
    const ours = parseMenuLst(r.text);
    const strip = (args: string) =>
      splitCmdline(args)
        .filter((t) => !/^(console|net\.ifnames|biosdevname)=/.test(t))
        .map((t) => t.replace(/^root=\/dev\/[sv]d/, 'root=/dev/Xd'));
    assert.equal(ours.entries.length, kvm.entries.length);
    ours.entries.forEach((e, i) => {
      assert.deepEqual(strip(e.kernel!.args), strip(kvm.entries[i].kernel!.args));
      assert.equal(e.root, kvm.entries[i].root, 'root (hd0) kept, as in the KVM file');
      assert.match(e.kernel!.args, /^root=\/dev\/vda console=tty0 console=ttyS0,115200 /);
    });
  });

  it('reports entries that boot a Xen kernel (fixture: Debian etch domU menu.lst)', () => {
    const text = readFileSync(new URL('../fixtures/guest-files/menu-lst-debian-etch-xen-kernel', import.meta.url), 'utf8');
    const r = editMenuLst(text);
    assert.deepEqual(
      r.notes?.filter((n) => n.includes('Xen kernel')),
      ['line 4: entry "Debian GNU/Linux, kernel 2.6.18-6-xen-686" boots a Xen kernel (/boot/vmlinuz-2.6.18-6-xen-686); it will not boot under KVM'],
    );
    assert.deepEqual(
      parseMenuLst(text).entries.map((e) => e.xenKernel),
      [true, false],
    );
  });
});
