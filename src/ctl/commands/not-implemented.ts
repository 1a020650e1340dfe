import { DMError } from '../../errors/index.js';
import { registerCommand } from '../registry.js';

/** Commands whose features have not landed: they answer result false with a clear message. */
const PENDING: [name: string, summary: string, hidden?: boolean][] = [
  ['start-relay', 'start pulling the relay log of a source on workers'],
  ['stop-relay', 'stop pulling the relay log of a source'],
  ['pause-relay', 'pause the relay unit of a source'],
  ['resume-relay', 'resume the relay unit of a source'],
  ['purge-relay', 'purge relay log files of a source'],
];

for (const [name, summary, hidden] of PENDING) {
  registerCommand({
    name,
    summary: `${summary} (not implemented yet)`,
    ...(hidden ? { hidden } : {}),
    build(cmd, ctx) {
      cmd
        .allowUnknownOption(true)
        .allowExcessArguments(true)
        .argument('[args...]')
        .action(() => {
          ctx.reply({ result: false, msg: new DMError('ErrCtlNotImplemented', `${name} is not implemented yet`).toString() });
        });
    },
  });
}
