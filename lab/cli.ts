// `npm run lab:up | lab:down | lab:reset | lab:status | lab:migrate`, and `packages` (run by
// npm test): the only place the lab prints results and exits. Each command imports what it uses, so
// `packages` starts in well under a second (the lab and the runner are not loaded for it).
import { FerryError } from '../runner/errors.js';
import type { PackageUse } from './system-packages.js';

const usage = 'usage: tsx lab/cli.ts up [--kvm-host]|down|reset|status|migrate [--dd] [--no-reset] | packages [tests|lab|migrate ...] [--package NAME ...]';

class UsageError extends FerryError {}

/** The uses and extra packages named on the `packages` command line. */
function packagesArgs(args: string[], known: readonly string[]): { uses: PackageUse[]; extra: string[] } {
  const uses: PackageUse[] = [];
  const extra: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--package' && i + 1 < args.length) extra.push(args[++i]);
    else if (known.includes(a)) uses.push(a as PackageUse);
    else throw new UsageError(`packages: unknown argument ${a} (uses: ${known.join(', ')}; --package NAME)`);
  }
  if (!uses.length && !extra.length) throw new UsageError(`packages: name what to check (${known.join(', ')}) or --package NAME`);
  return { uses, extra };
}

async function main(cmd: string | undefined): Promise<number> {
  switch (cmd) {
    case 'packages': {
      const { ensureSystemPackages, PACKAGE_USES } = await import('./system-packages.js');
      const { uses, extra } = packagesArgs(process.argv.slice(3), Object.keys(PACKAGE_USES));
      await ensureSystemPackages(uses, { extra });
      return 0;
    }
    case 'up':
    case 'reset': {
      const { labKvmHostUp, labReset, labUp } = await import('./lab.js');
      const info = cmd === 'up' ? await labUp() : await labReset();
      // lab-kvm (the empty KVM host) only on request: it is a second TCG VM on the same cores.
      const kvm = cmd === 'up' && process.argv.slice(3).includes('--kvm-host') ? await labKvmHostUp() : undefined;
      process.stdout.write(`${info.inventoryPath}\n`);
      for (const [name, i] of [['lab-hv', info], ['lab-kvm', kvm]] as const) {
        if (i) process.stderr.write(`[lab] ${name}: ssh -i ${i.keyPath} -o UserKnownHostsFile=${i.knownHostsPath} -p ${i.sshPort} root@127.0.0.1\n`);
      }
      return 0;
    }
    case 'down': {
      const { labDown } = await import('./lab.js');
      await labDown();
      return 0;
    }
    case 'status': {
      const { labKvmHostStatus, labStatus } = await import('./lab.js');
      for (const [name, info] of [['lab-hv', labStatus()], ['lab-kvm', labKvmHostStatus()]] as const) {
        process.stdout.write(info ? `${name}: ${JSON.stringify(info, null, 2)}\n` : `${name}: not running\n`);
      }
      return 0;
    }
    case 'migrate': {
      const { labMigrate } = await import('./migrate.js');
      const args = process.argv.slice(3);
      const m = await labMigrate({ copyMethod: args.includes('--dd') ? 'dd' : 'rsync', reset: !args.includes('--no-reset') });
      const ok = m.convertExit === 0 && m.boot.exitCode === 0 && m.boot.sawGrub && m.boot.sawLogin;
      process.stdout.write(
        [
          '',
          `conversion: ${m.convertExit === 0 ? 'ok' : `failed (exit ${m.convertExit})`} in ${m.convertSeconds.toFixed(0)} s`,
          m.convertExit === 0 ? `converted disk: ${m.image}` : '',
          m.convertExit === 0 ? `boot under KVM (${m.boot.method}, TCG): GRUB ${m.boot.sawGrub ? 'seen' : 'NOT seen'}, login prompt ${m.boot.sawLogin ? 'seen' : 'NOT seen'} (${m.boot.seconds.toFixed(0)} s)` : '',
          m.boot.console ? `last console lines:\n${m.boot.console.split('\n').filter((l) => l.trim()).slice(-3).join('\n')}` : '',
          '',
        ].filter((l, i, a) => l !== '' || i === 0 || i === a.length - 1).join('\n'),
      );
      return ok ? 0 : 1;
    }
    default:
      process.stderr.write(`${usage}\n`);
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (e: unknown) => {
    // The package check runs before npm test too, where "lab:" would mislead.
    const prefix = process.argv[2] === 'packages' ? 'setup' : 'lab';
    process.stderr.write(`${prefix}: ${e instanceof FerryError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    if (e instanceof UsageError) process.stderr.write(`${usage}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
