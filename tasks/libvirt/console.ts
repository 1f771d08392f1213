// What a booting guest's serial console says: did GRUB run, did a login prompt appear, or did the
// boot end where no login prompt will ever come (a kernel panic, an emergency shell, firmware that
// found nothing to boot). Pure, so the boot_check module and the lab's qemu watcher read a console
// the same way, and it is table-tested.
import { stripVTControlCharacters } from 'node:util';

/** GRUB ran: its banner or one of its boot messages. */
export const GRUB_PATTERN = /GNU GRUB|Welcome to GRUB|Booting `|Loading Linux|Loading initial ramdisk/;
// A getty's prompt starts its line with the host name; the kernel may print on after it on the
// same line ("ur1 login: [   33.25] kvm: ..." was seen), so nothing is asked of what follows.
export const LOGIN_PATTERN = /^\r?[\w.-]+ login: ?/m;
/** SeaBIOS's last word after every boot entry failed ("Boot failed: not a bootable disk" comes per device). */
export const NO_BOOT_PATTERN = /No bootable device/;
const PANIC_PATTERN = /Kernel panic/;
// systemd, dracut, and initramfs-tools (Debian/Ubuntu: "Gave up waiting for root file system device", then its (initramfs) shell)
const EMERGENCY_PATTERN = /Entering emergency mode|You are in emergency mode|dracut Warning: Could not boot|Gave up waiting for root|^\(initramfs\) /m;

/** Where a boot ended, as far as the console tells: undefined while it may still reach a login prompt. */
export type ConsoleEnd = 'login' | 'no-bootable-device' | 'panic' | 'emergency';

/** How the console's boot ended, or undefined while it goes on. A login prompt wins: a later panic line is not read. */
export function consoleEnd(text: string): ConsoleEnd | undefined {
  if (LOGIN_PATTERN.test(text)) return 'login';
  if (NO_BOOT_PATTERN.test(text)) return 'no-bootable-device';
  if (PANIC_PATTERN.test(text)) return 'panic';
  if (EMERGENCY_PATTERN.test(text)) return 'emergency';
  return undefined;
}

/** What each end means for the person reading the failure, and what to look at. */
export const END_MEANING: Record<Exclude<ConsoleEnd, 'login'>, string> = {
  'no-bootable-device': 'the firmware found nothing to boot: the disk has no boot loader (did grub-install run on it?)',
  panic: 'the kernel panicked: often the root filesystem was not found (root= on the kernel command line, virtio in the initramfs)',
  emergency:
    'the guest fell into an emergency shell: a device its fstab or root= names is missing under KVM (an /dev/xvd* name left over, a UUID that changed), or the initramfs lacks virtio',
};

/**
 * The last `n` lines of the console with words on them, without the terminal's control characters:
 * a cursor move (GRUB's menu draws with them) starts a new line, and lines of box drawing are dropped.
 */
export function consoleTail(text: string, n: number): string[] {
  const plain = stripVTControlCharacters(text.replace(/\x1b\[\d*;?\d*H/g, '\n'));
  const lines = plain.split(/\r?\n|\r/).map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').trimEnd());
  return lines.filter((l) => /[A-Za-z0-9]/.test(l)).slice(-n);
}
