// BENCH_PROFILE=1: a CPU profile of one worker of the mesh over a stretch of a bench, through workerd's inspector
// (the Chrome DevTools protocol, spoken with the `ws` client Miniflare itself depends on), printed as the functions
// with the most self time. Not a benchmark (the `_` prefix): a tool for finding where a worker's time goes.
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const PORT = 9339;

/** The Miniflare options that open workerd's inspector when BENCH_PROFILE is set ({} otherwise). */
export const profileOptions = () => (process.env.BENCH_PROFILE ? { inspectorPort: PORT } : {});

/** Start profiling worker `name` (null when BENCH_PROFILE is unset); `stop(label)` prints the top self times. */
export async function startProfile(name) {
  if (!process.env.BENCH_PROFILE) return null;
  const require = createRequire(createRequire(import.meta.url).resolve("miniflare"));
  const WebSocket = require("ws");
  const ws = new WebSocket(`ws://127.0.0.1:${PORT}/core:user:${name}`);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let id = 0;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data));
    if (msg.id && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      id++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 100 });
  await send("Profiler.start");
  return {
    async stop(label) {
      const { result } = await send("Profiler.stop");
      ws.close();
      const profile = result.profile;
      const file = `/tmp/bench-${name}-${label}.cpuprofile`;
      writeFileSync(file, JSON.stringify(profile));
      printTop(profile, label, file);
    },
  };
}

function printTop(profile, label, file) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const d = profile.timeDeltas[i] ?? 0;
    dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + d);
  }
  const self = new Map();
  let total = 0;
  for (const [nodeId, us] of dt) {
    const f = byId.get(nodeId).callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  const idle = [...self].filter(([k]) => k.startsWith("(idle)")).reduce((n, [, v]) => n + v, 0);
  console.log(
    `profile ${label}: ${(total / 1000).toFixed(0)} ms sampled, ${((total - idle) / 1000).toFixed(0)} ms busy (${file})`,
  );
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30))
    console.log(`  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
}
