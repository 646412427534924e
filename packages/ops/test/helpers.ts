import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "@paulp/testing";
import { type Io, main } from "../src/cli";

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** Run the CLI in-process, as `pnpm paulp …` would, against `root` (the repository unless given). */
export async function paulp(argv: string[], options: Partial<Io> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main({
    argv,
    env: {},
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    fetch: globalThis.fetch,
    root: REPO_ROOT,
    ...options,
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** A copy of what the preflight reads (configs and docs) in a temp folder, to break one thing at a time. */
export function copyOfRepo(): string {
  const root = mkdtempSync(path.join(tmpdir(), "paulp-preflight-"));
  for (const w of ["audit", "governance", "risk", "ingestion", "execution", "monitor", "gateway"]) {
    mkdirSync(path.join(root, "workers", w), { recursive: true });
    cpSync(
      path.join(REPO_ROOT, "workers", w, "wrangler.jsonc"),
      path.join(root, "workers", w, "wrangler.jsonc"),
    );
  }
  mkdirSync(path.join(root, "docs"));
  for (const doc of ["governance.md", "runbook.md"])
    cpSync(path.join(REPO_ROOT, "docs", doc), path.join(root, "docs", doc));
  return root;
}

/** Edit one file of a copy in place. */
export function edit(root: string, file: string, change: (text: string) => string): void {
  const p = path.join(root, file);
  const before = readFileSync(p, "utf8");
  const after = change(before);
  if (after === before) throw new Error(`edit of ${file} changed nothing`);
  writeFileSync(p, after);
}

export { REPO_ROOT };
