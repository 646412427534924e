// `pnpm replay`: the offline replay (cli.ts) over the real files, stdout and stderr.
import { readFileSync, writeFileSync } from "node:fs";
import { main } from "./cli";

main(process.argv.slice(2), {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  read: (file) => readFileSync(file, "utf8"),
  write: (file, text) => writeFileSync(file, text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error);
    process.exitCode = 2;
  },
);
