// Faults for the lab e2e: the ferry CLI as a separate process (so the test can SIGKILL it), its
// NDJSON events as they arrive, and a cut of the SSH connection a hypervisor-side process runs under.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { labSsh, type LabInfo } from '../../../lab/lab.js';
import type { FerryEvent } from '../../../runner/events.js';

const CLI = path.resolve(import.meta.dirname, '../../../dist/app/cli.js');

/** How one CLI run ended, with the events it printed. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: FerryEvent[];
  stderr: string;
}

/**
 * `ferry ARGS --json` (events on stdout) in `cwd` (its run state lands in cwd/.ferry), calling
 * `onEvent` for each event as it arrives with the child, so the caller can kill it at a chosen moment.
 */
export function ferryCli(args: string[], cwd: string, onEvent: (e: FerryEvent, child: ChildProcess) => void = () => undefined): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, '--json', '--ssh-config', '/dev/null'], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SSH_AUTH_SOCK: '' } });
    const events: FerryEvent[] = [];
    let partial = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        const e = JSON.parse(line) as FerryEvent;
        events.push(e);
        onEvent(e, child);
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000)));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, events, stderr }));
  });
}

/**
 * On the lab host: waits (up to `waitSeconds`) for a process named `name`, then SIGKILLs the sshd
 * session it runs under — ferry's connection drops as when a network cable is pulled — and waits for
 * the orphaned command to end. Resolves with what it did, for the test's table.
 */
export async function cutConnectionDuring(lab: LabInfo, name: string, waitSeconds = 600): Promise<string> {
  const r = await labSsh(
    lab,
    `name=${name}
p=''
for i in $(seq ${waitSeconds * 10}); do p=$(pgrep -o -x "$name") && break; sleep 0.1; done
[ -n "$p" ] || { echo "no $name ran"; exit 3; }
s=$p
while [ "$s" -gt 1 ]; do
  case "$(cat /proc/$s/comm)" in sshd*) break ;; esac
  s=$(awk '{print $4}' /proc/$s/stat)
done
[ "$s" -gt 1 ] || { echo "$name ($p) runs under no sshd session"; exit 4; }
kill -KILL "$s"
# the command loses its connection; a copy still running on its own would race the resumed run
for i in $(seq 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$p" 2>/dev/null; then echo "cut the connection of $name (sshd $s); $name still ran after 60 s"; else echo "cut the connection of $name (sshd $s); $name ended"; fi`,
  );
  return r.stdout.trim(); // (labSsh throws, with the output, when the script exits non-zero)
}

/**
 * What fills a converted guest's root (for a failure message): its partition mapped and mounted
 * read-only in a scratch dir on the lab host, df, the biggest directories, /boot and /var/tmp.
 */
export async function guestRootUsage(lab: LabInfo, vg: string, lv: string): Promise<string> {
  const r = await labSsh(
    lab,
    `d=$(mktemp -d)
kpartx -as /dev/${vg}/${lv} >/dev/null 2>&1
part=$(ls /dev/mapper/$(echo ${vg} | sed 's/-/--/g')-$(echo ${lv} | sed 's/-/--/g')1 2>/dev/null)
if [ -n "$part" ] && mount -o ro "$part" "$d" 2>/dev/null; then
  df -m "$d"; du -xm -d3 "$d" 2>/dev/null | sort -n | tail -20; ls -la "$d/boot" "$d/var/tmp"; umount "$d"
else
  echo "the guest root is already mounted or not mapped:"; findmnt -rno TARGET,SOURCE | grep -i ferry; df -m /mnt/ferry/* 2>/dev/null
fi
rmdir "$d"; true`,
  );
  return r.stdout;
}
