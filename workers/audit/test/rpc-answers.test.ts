import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AuditEntrypoint } from "../src/index";
import { event } from "./helpers";

/**
 * What an entrypoint method answers is what workerd sends back to its caller. An answer that is the sequencer's own
 * RPC answer, passed on as it came, still carries the disposer workerd put on it: workerd then holds the call open
 * for the caller to dispose, and warns "An RPC result was not disposed properly" when the caller (who never does)
 * lets it go. Called in place here so the answer is seen before workerd serialises it.
 */
describe("the audit entrypoint's answers carry nothing to dispose", () => {
  const entrypoint = () => new AuditEntrypoint(createExecutionContext(), env);

  it("appendMany, status and verify answer plain data, not the sequencer's answer as it came", async () => {
    const answers = [
      await entrypoint().appendMany([event(1), event(2)]),
      await entrypoint().status(),
      await entrypoint().verify({ mode: "incremental", actor: { method: "system", subject: "test" } }),
    ];
    for (const answer of answers) {
      expect(answer.ok).toBe(true);
      expect(Object.getOwnPropertySymbols(answer)).toEqual([]);
    }
  });
});
