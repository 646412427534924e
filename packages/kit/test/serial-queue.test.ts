import { describe, expect, it } from "vitest";
import { SerialQueue } from "../src/serial-queue";

/** A promise the test resolves. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe("SerialQueue", () => {
  it("runs one at a time, in order, and a failed run does not stop the next", async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const first = gate();
    const a = queue.run(async () => {
      order.push("a starts");
      await first.opened;
      order.push("a ends");
      throw new Error("a failed");
    });
    const b = queue.run(async () => {
      order.push("b runs");
      return "b";
    });
    await queue.whenPending(2);
    expect(order).toEqual(["a starts"]);
    first.open();
    await expect(a).rejects.toThrow("a failed");
    expect(await b).toBe("b");
    expect(order).toEqual(["a starts", "a ends", "b runs"]);
  });

  it("whenPending answers once that many runs are queued or running (the test seam)", async () => {
    const queue = new SerialQueue();
    const held = gate();
    let seen = false;
    const two = queue.whenPending(2).then(() => {
      seen = true;
    });
    const a = queue.run(() => held.opened);
    await Promise.resolve();
    expect(seen).toBe(false);
    const b = queue.run(async () => undefined);
    await two;
    expect(seen).toBe(true);
    held.open();
    await Promise.all([a, b]);
    // Both done: nothing pending, so a wait for one more run waits for a new run.
    let later = false;
    void queue.whenPending(1).then(() => {
      later = true;
    });
    await Promise.resolve();
    expect(later).toBe(false);
  });
});
