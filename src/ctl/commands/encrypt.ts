import { action } from '../args.js';
import { registerCommand } from '../registry.js';
import { encrypt, loadSecretKey } from '../../config/index.js';

registerCommand({
  name: 'encrypt',
  summary: 'encrypt a password for source.yaml / task.yaml (runs locally)',
  build(cmd, ctx) {
    cmd
      .argument('<plaintext>', 'the text to encrypt')
      .option('--secret-key-path <file>', "the cluster's secret key file (default: the built-in key)")
      .action(
        action(ctx, (plain: string, o: { secretKeyPath?: string }) => {
          const key = o.secretKeyPath ? loadSecretKey(o.secretKeyPath) : undefined;
          ctx.io.out(encrypt(plain, key));
          ctx.result = true;
        }),
      );
  },
});
