// `pnpm paulp …`: the CLI's entry (run by tsx). Exit status: 0 done, 1 refused or failed, 2 usage.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "./cli";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  fetch: globalThis.fetch,
  root,
});
