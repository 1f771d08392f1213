// One lab at a time: two test runs calling labUp() together must not both build (the second would
// delete the first's half-made images) nor both boot. A lock file holding the owner's pid.
import fs from 'node:fs';
import path from 'node:path';
import { say } from './exec.js';
import { sleep } from './vm.js';

function ownerAlive(lockFile: string): boolean {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockFile, 'utf8'), 10);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` holding the lab lock in `dir`, waiting (up to `timeoutMs`) for another holder to finish. */
export async function withLabLock<T>(dir: string, fn: () => Promise<T>, timeoutMs = 40 * 60_000): Promise<T> {
  fs.mkdirSync(dir, { recursive: true });
  const lockFile = path.join(dir, 'lab.lock');
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!ownerAlive(lockFile)) {
        // The holder died without cleaning up (killed test run): its lock means nothing now.
        fs.rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`the lab is locked by pid ${fs.readFileSync(lockFile, 'utf8')} (${lockFile})`);
      if (!told) say(`waiting for another lab:up (pid ${fs.readFileSync(lockFile, 'utf8').trim()}) to finish`);
      told = true;
      await sleep(2000);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}
