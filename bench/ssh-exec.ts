// Micro benchmark: sequential runs of `true` on one warm SSH connection to a harness sshd: an exec
// channel each, with and without TCP_NODELAY, and in the persistent shell. Run as root: npx tsx bench/ssh-exec.ts [N]
import { sh } from '../runner/command.js';
import { SshTransport } from '../runner/transport/ssh.js';
import { NOPASSWD_USER, startSshd } from '../test/harness/sshd.js';

/** Runs `n` sequential `true` commands and returns the mean milliseconds per exec. */
async function measure(t: SshTransport, n: number): Promise<number> {
  for (let i = 0; i < 10; i++) await t.run(sh`true`); // warm up: connection, sshd caches
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await t.run(sh`true`);
    if (r.exitCode !== 0) throw new Error(`true exited ${r.exitCode}: ${r.stderr}`);
  }
  return (performance.now() - t0) / n;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200);
  const host = await startSshd();
  try {
    const variants = [
      { label: 'exec channel, setNoDelay(true)', noDelay: true, persistentShell: false },
      { label: 'exec channel, setNoDelay(false)', noDelay: false, persistentShell: false },
      { label: 'persistent shell, setNoDelay(true)', noDelay: true, persistentShell: true },
    ];
    for (const { label, noDelay, persistentShell } of variants) {
      const t = new SshTransport({
        host: host.name,
        hostName: host.host,
        port: host.port,
        user: NOPASSWD_USER, // plain /bin/sh login shell: no rc files in the measurement
        identityFiles: [host.userKeyFile],
        knownHostsFile: host.knownHostsFile,
        sshConfigFile: false,
        agent: false,
        noDelay,
        persistentShell,
      });
      const ms = await measure(t, n);
      console.log(`${label}: ${ms.toFixed(2)} ms/command over ${n} sequential commands`);
      await t.close();
    }
  } finally {
    await host.stop();
  }
}

await main();
