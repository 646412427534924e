import { env, exports } from "cloudflare:workers";
import type { MonitorRpc, Principal, Result, RiskExposure } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { equitySample, minuteOf } from "../src/equity-series";

const monitor = () => (exports as unknown as { default: MonitorRpc }).default;
const cron: Principal = { method: "system", subject: "cron:monitor" };

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

const exposure = (equity: string | null, dayStart: string | null): RiskExposure => ({
  equity,
  dayStartEquity: dayStart,
  highWaterMark: "1000.00",
  realisedPnl: "0.00",
  unrealisedPnl: "-12.50",
  openPositions: 1,
  breakerState: "NORMAL",
  limitsVersion: 1,
  limits: [
    {
      limit: "maxDailyLossPct",
      observedPct: "1.2500",
      limitPct: "3.0000",
      usedPct: "41.6666",
      at: "portfolio",
    },
    {
      limit: "maxDrawdownPct",
      observedPct: "1.2500",
      limitPct: "10.0000",
      usedPct: "12.5000",
      at: "portfolio",
    },
  ],
  unmarkedPositions: [],
});

describe("equity series", () => {
  it("samples the day's P&L in exact decimals, on the minute, and nothing when risk did not answer", () => {
    const at = Date.UTC(2026, 11, 1, 12, 34, 56, 789);
    const s = equitySample(exposure("987.50", "1000.00"), at)!;
    expect(s.at).toBe("2026-12-01T12:34:00.000Z");
    expect(s.dayPnl).toBe("-12.50");
    expect(s.dailyLossPct).toBe("1.2500");
    expect(s.drawdownPct).toBe("1.2500");
    expect(equitySample(exposure("1000.10", "999.95"), at)!.dayPnl).toBe("0.15");
    expect(equitySample(exposure(null, "1000.00"), at)!.dayPnl).toBeNull();
    expect(equitySample(null, at)).toBeNull();
    expect(minuteOf(at + 3_000)).toBe(minuteOf(at));
  });

  it("an evaluation stores risk's equity for its minute, and the series answers it", async () => {
    value(await monitor().evaluate(cron));
    const risk = value((await env.RISK.exposure()) as Result<RiskExposure>);
    const series = value(await monitor().equitySeries({ minutes: 5 }));
    const last = series.samples.at(-1)!;
    expect(last.equity).toBe(risk.equity);
    expect(Date.now() - Date.parse(last.at)).toBeLessThan(5 * 60_000);
    expect(series.keepMinutes).toBe(7 * 24 * 60);
    expect((await monitor().equitySeries({ minutes: 0 })).ok).toBe(false);
  });
});
