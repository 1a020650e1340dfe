import { DMError } from '../../errors/index.js';
import { registerCommand } from '../registry.js';

/** Commands whose features have not landed: they answer result false with a clear message. */
const PENDING: [name: string, summary: string, hidden?: boolean][] = [
  ['shard-ddl-lock', 'show or unlock shard DDL locks'],
  ['show-ddl-locks', 'legacy name of `shard-ddl-lock`', true],
  ['unlock-ddl-lock', 'legacy name of `shard-ddl-lock unlock`', true],
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
