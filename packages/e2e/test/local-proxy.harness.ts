// The harness's answer to wrangler's local proxy dropping a request (src/browser.ts): sent again only when the proxy
// said it dropped it, never a worker's own 503, and never more than three times. Against a small server that
// answers as the proxy does, in the same Chromium the console tests use.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launch, meshFetch, openConsole } from "../src/browser";

const DROPPED = "Your worker restarted mid-request. Please try sending the request again.";

/** Answers each POST from a script (status and body), and counts what it was sent. */
function scriptedServer(): {
  start: () => Promise<string>;
  script: (answers: [number, string][]) => void;
  posts: () => number;
  /** The headers and body of each POST, as they arrived. */
  received: () => { headers: Record<string, string | string[] | undefined>; body: string }[];
  stop: () => Promise<void>;
} {
  let answers: [number, string][] = [];
  let posts = 0;
  let received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>stand-in</title>");
      return;
    }
    posts += 1;
    const [status, body] = answers.shift() ?? [200, '{"ok":true}'];
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(status, { "content-type": "text/plain" }).end(body);
    });
  });
  return {
    start: () =>
      new Promise((resolve) =>
        server.listen(0, "127.0.0.1", () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
    script: (next) => {
      answers = next;
      posts = 0;
      received = [];
    },
    posts: () => posts,
    received: () => received,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("a request wrangler's local proxy dropped", () => {
  const server = scriptedServer();
  let base: string;
  let browser: Browser;
  beforeAll(async () => {
    base = await server.start();
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server.stop();
  });

  const pagePost = async (): Promise<{ status: number; body: string }> => {
    const t = await openConsole(browser, { base, adminToken: "", screenshots: "", startedAt: 0 });
    try {
      return await t.page.evaluate(async () => {
        const res = await fetch("/admin/circuit-breaker/transition", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: '{"to":"HALT"}',
        });
        return { status: res.status, body: await res.text() };
      });
    } finally {
      await t.close();
    }
  };

  it("is sent again from the page, and the worker's answer is what the page reads", async () => {
    server.script([[503, DROPPED]]);
    expect(await pagePost()).toEqual({ status: 200, body: '{"ok":true}' });
    expect(server.posts()).toBe(2);
    // Sent as the browser sent it: its body, and its Origin, which the gateway's cross-site check reads (Chromium
    // hands an intercepted request no Sec-Fetch-* headers; the check falls back to Origin).
    for (const { headers, body } of server.received()) {
      expect(body).toBe('{"to":"HALT"}');
      expect(headers["content-type"]).toBe("application/json");
      expect(headers.origin).toBe(base);
    }
  });

  it("is not sent again when the 503 is the worker's own", async () => {
    server.script([[503, '{"error":{"code":"breaker_unavailable","message":"no"}}']]);
    expect((await pagePost()).status).toBe(503);
    expect(server.posts()).toBe(1);
  });

  it("is sent three times at most, and the third answer stands", async () => {
    server.script([
      [503, DROPPED],
      [503, DROPPED],
      [503, DROPPED],
    ]);
    expect((await pagePost()).status).toBe(503);
    expect(server.posts()).toBe(3);
  });

  it("is sent again from Node (set-up calls) the same way", async () => {
    server.script([[503, DROPPED]]);
    const res = await meshFetch(`${base}/admin/x`, { method: "POST", body: "{}" });
    expect(res.status).toBe(200);
    expect(server.posts()).toBe(2);
    server.script([[503, "the worker's own"]]);
    const own = await meshFetch(`${base}/admin/x`, { method: "POST", body: "{}" });
    expect([own.status, await own.text()]).toEqual([503, "the worker's own"]);
    expect(server.posts()).toBe(1);
  });
});
