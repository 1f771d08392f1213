// `npm run lab:up | lab:down | lab:reset | lab:status`: the only place the lab prints results and exits.
import { FerryError } from '../runner/errors.js';
import { labDown, labReset, labStatus, labUp } from './lab.js';
import { labMigrate } from './migrate.js';

const usage = 'usage: tsx lab/cli.ts up|down|reset|status|migrate [--dd] [--no-reset]';

async function main(cmd: string | undefined): Promise<number> {
  switch (cmd) {
    case 'up':
    case 'reset': {
      const info = cmd === 'up' ? await labUp() : await labReset();
      process.stdout.write(`${info.inventoryPath}\n`);
      process.stderr.write(
        `[lab] ssh -i ${info.keyPath} -o UserKnownHostsFile=${info.knownHostsPath} -p ${info.sshPort} root@127.0.0.1\n`,
      );
      return 0;
    }
    case 'down':
      await labDown();
      return 0;
    case 'status': {
      const info = labStatus();
      process.stdout.write(info ? `${JSON.stringify(info, null, 2)}\n` : 'lab VM is not running\n');
      return 0;
    }
    case 'migrate': {
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
    process.stderr.write(`lab: ${e instanceof FerryError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
