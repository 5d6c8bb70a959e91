/** The frame of a command-line script: --help, wrong usage (exit 2), unexpected failures (exit 1), exit codes. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ options: O }>>['values'];

/** Thrown by a script for a wrong argument value: the usage is shown and the exit code is 2. */
export class UsageError extends Error {}

/** `allowPositionals`: the script takes arguments besides options (e.g. a subcommand), given to `main` in order. */
export function runCli<O extends Options>(
  name: string,
  usage: string,
  options: O,
  main: (values: Values<O>, positionals: string[]) => Promise<number>,
  { allowPositionals = false } = {},
): void {
  const run = async (): Promise<number> => {
    let values: Values<O>;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({ options: { ...options, help: { type: 'boolean' } }, allowPositionals }));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if ((values as { help?: boolean }).help) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    return await main(values, positionals);
  };
  run().then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${error.message}\n\n${usage}\n`);
        process.exit(2);
      }
      process.stderr.write(`${name} failed: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
