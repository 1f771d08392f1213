// `npm run lab:up | lab:down | lab:reset | lab:status`: the only place the lab prints results and exits.
import { FerryError } from '../runner/errors.js';
import { labDown, labReset, labStatus, labUp } from './lab.js';

const usage = 'usage: tsx lab/cli.ts up|down|reset|status';

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
