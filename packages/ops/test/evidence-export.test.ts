// `pnpm paulp evidence export`: the export written to a file as it arrives; a stream cut off before its trailer is a
// failure (exit 1) naming the file as incomplete; a refused query is the usual one line.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { paulp } from "./helpers";

const HEADER = '{"kind":"header","format":"paulp.evidence-export","version":1}\n';
const END = '{"kind":"end","objects":1,"sightings":2}\n';

/** A gateway that answers with `chunks`, then ends or fails; it records the URL asked. */
function gatewayStreaming(chunks: string[], fail = false) {
  const asked: string[] = [];
  const fetch = (async (url: URL) => {
    asked.push(String(url));
    const enc = new TextEncoder();
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i < chunks.length) controller.enqueue(enc.encode(chunks[i++]!));
        else if (fail) controller.error(new Error("terminated"));
        else controller.close();
      },
    });
    return new Response(body, { status: 200, headers: { "content-type": "application/x-ndjson" } });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, asked };
}

const env = { PAULP_TOKEN: "t".repeat(43), PAULP_URL: "http://127.0.0.1:1" };
const out = () => path.join(mkdtempSync(path.join(tmpdir(), "paulp-export-")), "e.ndjson");

describe("pnpm paulp evidence export", () => {
  it("writes the export as it arrives and names its counts", async () => {
    const file = out();
    const g = gatewayStreaming([
      HEADER,
      '{"kind":"object"}\n{"kind":"sighting"}\n',
      '{"kind":"sighting"}\n',
      END,
    ]);
    const run = await paulp(
      ["evidence", "export", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-01T01:00:00Z", "-o", file],
      { env, fetch: g.fetch },
    );
    expect(run.err).toMatch(/^wrote \d+ bytes to .*e\.ndjson: 1 objects, 2 sightings/);
    expect(run.code).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(
      `${HEADER}{"kind":"object"}\n{"kind":"sighting"}\n{"kind":"sighting"}\n${END}`,
    );
    expect(g.asked).toEqual([
      "http://127.0.0.1:1/admin/evidence/export?from=2026-12-01T00%3A00%3A00Z&to=2026-12-01T01%3A00%3A00Z",
    ]);
  });

  it("fails, exit 1, when the stream is cut off before its trailer", async () => {
    for (const fail of [true, false]) {
      const file = out();
      const g = gatewayStreaming([HEADER, '{"kind":"object"}\n'], fail);
      const run = await paulp(["evidence", "export", "--from", "a", "--to", "b", "--out", file], {
        env,
        fetch: g.fetch,
      });
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/^error: the export was cut off after \d+ bytes.*: .*e\.ndjson is incomplete/);
    }
  });

  it("reports a refused query in one line, and asks for --out", async () => {
    const fetch = (async () =>
      new Response(JSON.stringify({ error: { code: "validation_failed", message: "from: bad" } }), {
        status: 400,
        headers: { "content-type": "application/json" },
      })) as unknown as typeof globalThis.fetch;
    const run = await paulp(["evidence", "export", "--from", "x", "--to", "y", "-o", out()], { env, fetch });
    expect([run.code, run.err]).toEqual([
      1,
      "error: GET /admin/evidence/export?from=x&to=y: HTTP 400 validation_failed: from: bad",
    ]);
    const usage = await paulp(["evidence", "export", "--from", "x", "--to", "y"], { env });
    expect([usage.code, usage.err]).toEqual([2, "error: required option '-o, --out <file>' not specified"]);
    expect((await paulp(["evidence", "abc"], { env })).code).toBe(2);
  });

  it("evidence <sha256> -o writes the bytes as served, not a text decode of them", async () => {
    const file = out();
    // Not UTF-8: a text decode would turn 0xff and 0xfe into U+FFFD (three bytes each).
    const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
    const asked: string[] = [];
    const fetch = (async (url: URL) => {
      asked.push(String(url));
      return new Response(bytes, { status: 200, headers: { "content-type": "application/octet-stream" } });
    }) as unknown as typeof globalThis.fetch;
    const run = await paulp(["evidence", "a".repeat(64), "-o", file], { env, fetch });
    expect(run.code).toBe(0);
    expect(run.err).toMatch(/^wrote 5 bytes to /);
    expect(new Uint8Array(readFileSync(file))).toEqual(bytes);
    expect(asked).toEqual([`http://127.0.0.1:1/admin/evidence/${"a".repeat(64)}`]);
  });
});
