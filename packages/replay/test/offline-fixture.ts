// An export of the engine fixture and the report the mesh would have made of it (for the offline tests).
import type { ReplayReport } from "@paulp/contracts";
import { runReplay } from "../src/engine";
import { endLine, headerLine, objectLine, sightingLine } from "../src/export-file";
import { config, evidence } from "./engine-fixture";

/** The fixture's export (its window, each object before its first sighting) and its report. */
export async function fixtureExport(
  window = config().window,
): Promise<{ text: string; report: ReplayReport }> {
  const set = await evidence();
  let text = headerLine(window, "2026-12-02T00:00:00.000Z");
  const sent = new Set<string>();
  for (const s of set.sightings) {
    if (!sent.has(s.hash)) {
      text += objectLine(s.hash, set.objects.get(s.hash)!);
      sent.add(s.hash);
    }
    text += sightingLine(s);
  }
  text += endLine(sent.size, set.sightings.length);
  const r = await runReplay(set, config({ codeVersion: "dev" }));
  if (!r.ok) throw new Error(r.refusal.message);
  return { text, report: r.report };
}

/** The text with one byte of object `hash`'s bytes changed (still valid base64 of as many bytes). */
export function alterObject(text: string, hash: string): string {
  return text
    .split("\n")
    .map((line) => {
      if (!line.includes(`"hash":"${hash}"`) || !line.includes('"kind":"object"')) return line;
      const entry = JSON.parse(line) as { base64: string };
      const bytes = Uint8Array.from(atob(entry.base64), (c) => c.charCodeAt(0));
      bytes[0] = bytes[0]! ^ 1;
      return JSON.stringify({ ...entry, base64: btoa(String.fromCharCode(...bytes)) });
    })
    .join("\n");
}
