// The dev seed's history step (scripts/dev-seed.mjs) against a local HTTP server: a 503 or no answer is tried again
// with a bounded, doubling wait (the wait is the test's, so nothing sleeps), each retry logged; anything else, or
// the last failure, stops the step.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type Call = (method: string, path: string, options?: { body?: unknown }) => Promise<unknown>;
interface Seed {
  HISTORY_ATTEMPTS: number;
  adminCaller: (base: string, adminToken: string) => Call;
  retryUnavailable: <T>(
    step: () => Promise<T>,
    options: { what: string; log: (line: string) => void; wait?: (ms: number) => Promise<void> },
  ) => Promise<T>;
}
const seedPath = new URL("../../../scripts/dev-seed.mjs", import.meta.url).href;
const seed = (await import(seedPath)) as Seed;

/** Statuses the server answers, one per request, then 200. */
let script: number[] = [];
let requests = 0;
const authorizations = new Set<string | undefined>();
let server: Server;
let base = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    authorizations.add(req.headers.authorization);
    const status = script.shift() ?? 200;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(
      JSON.stringify(
        status === 200 ? { ticks: 12, fetches: 3 } : { error: { code: "x", message: `answered ${status}` } },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function run(call: Call) {
  const lines: string[] = [];
  const waits: number[] = [];
  const result = seed.retryUnavailable(() => call("POST", "/admin/ingestion/history", { body: {} }), {
    what: "dev history",
    log: (line) => lines.push(line),
    wait: async (ms) => {
      waits.push(ms);
    },
  });
  return { result, lines, waits };
}

describe("the dev seed's history step", () => {
  it("tries a 503 again after 2 s, then 4 s, logging each retry, and answers the success", async () => {
    script = [503, 503];
    requests = 0;
    const r = run(seed.adminCaller(base, "dev-token"));
    expect(await r.result).toEqual({ ticks: 12, fetches: 3 });
    expect(requests).toBe(3);
    expect(r.waits).toEqual([2_000, 4_000]);
    expect(r.lines).toEqual([
      expect.stringMatching(
        /^\[dev-seed\] dev history: try 1 of 4 failed \(POST \/admin\/ingestion\/history → 503 .*\); again in 2 s$/,
      ),
      expect.stringMatching(/try 2 of 4 failed .*again in 4 s$/),
    ]);
    expect([...authorizations]).toEqual(["Bearer dev-token"]);
    expect(r.lines.join("\n")).not.toContain("dev-token");
  });

  it("gives up after HISTORY_ATTEMPTS tries in all (waits capped at 8 s), throwing the last 503", async () => {
    script = Array(seed.HISTORY_ATTEMPTS).fill(503);
    requests = 0;
    const r = run(seed.adminCaller(base, "dev-token"));
    await expect(r.result).rejects.toMatchObject({ status: 503 });
    expect(requests).toBe(seed.HISTORY_ATTEMPTS);
    expect(r.waits).toEqual([2_000, 4_000, 8_000]);
  });

  it("does not retry a refusal (400, 403, 500): it is thrown at once", async () => {
    for (const status of [400, 403, 500]) {
      script = [status];
      requests = 0;
      const r = run(seed.adminCaller(base, "dev-token"));
      await expect(r.result).rejects.toMatchObject({ status });
      expect(requests).toBe(1);
      expect(r.lines).toEqual([]);
    }
  });

  it("tries again when there is no answer at all (nothing listening)", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = run(seed.adminCaller(`http://127.0.0.1:${port}`, "dev-token"));
    await expect(r.result).rejects.toMatchObject({ network: true });
    expect(r.waits).toHaveLength(seed.HISTORY_ATTEMPTS - 1);
    expect(r.lines[0]).toMatch(/no answer: ECONNREFUSED/);
  });
});
