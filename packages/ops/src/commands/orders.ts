import { OrderState } from "@paulp/contracts";
import { type Command, Option } from "commander";
import { CliError } from "../client";
import { type Cli, command, id, int } from "./context";

/** Orders: list, show, trace, cancel, and manual place and close (risk decides either way). */
export function registerOrders({ program, api, call }: Cli): void {
  const orders = command(program, "orders", "orders: list, show, trace, place, close, cancel");
  const ORDER_COLUMNS = [
    "clientOrderId",
    "state",
    "intent.venue",
    "intent.market",
    "intent.side",
    "intent.effect",
    "intent.quantity",
    "intent.limitPrice",
    "updatedAt",
  ];
  command(orders, "list", "orders, newest first")
    .addOption(new Option("--state <state>", "only this state").choices(OrderState.options))
    .option("--strategy <id>", "only this strategy's")
    .option("--limit <n>", "at most this many (1–500)", int("--limit"))
    .action((o: { state?: string; strategy?: string; limit?: number }) => {
      const q = new URLSearchParams();
      if (o.state) q.set("state", o.state);
      if (o.strategy) q.set("strategyId", o.strategy);
      if (o.limit !== undefined) q.set("limit", String(o.limit));
      const qs = q.toString();
      return call("GET", `/admin/orders${qs ? `?${qs}` : ""}`, undefined, ORDER_COLUMNS);
    });
  command(orders, "show", "one order and its state history")
    .argument("<id>", "client order id")
    .action((oid: string) => call("GET", `/admin/orders/${id(oid)}`));
  command(orders, "trace", "order → risk decision → evidence bytes → pair approval")
    .argument("<id>", "client order id")
    .action((oid: string) => call("GET", `/admin/orders/${id(oid)}/trace`));
  command(orders, "cancel", "cancel an order")
    .argument("<id>", "client order id")
    .action((oid: string) => call("POST", `/admin/orders/${id(oid)}/cancel`));
  /** The price, evidence and ids every manual order carries, from the options `orderOptions` adds. */
  const priced = (o: Record<string, string & string[]>) => ({
    limitPrice: o.price,
    evidenceHashes: o.evidence,
    ...(o.farSide ? { farSidePrice: o.farSide } : {}),
    ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}),
  });
  const orderOptions = (c: Command) =>
    c
      .requiredOption("--strategy <id>", "the strategy the order is for")
      .requiredOption("--price <price>", 'limit price, e.g. "0.5600"')
      .requiredOption("--evidence <sha256...>", "evidence hashes the price comes from")
      .option("--far-side <price>", "the best price on the other side of the book")
      .option("--client-order-id <id>", "idempotency key (default: derived from the request)");
  orderOptions(
    command(orders, "place", "place a manual order: risk decides (422 with reasons when denied)")
      .requiredOption("--venue <venue>", "kalshi, polymarket or ibkr")
      .requiredOption("--market <market>", "the venue's market id")
      .addOption(new Option("--side <side>", "buy or sell").choices(["buy", "sell"]).makeOptionMandatory())
      .addOption(
        new Option("--effect <effect>", "on the position")
          .choices(["open", "increase", "reduce", "close"])
          .makeOptionMandatory(),
      )
      .requiredOption("--quantity <n>", "contracts or shares", int("--quantity")),
  ).action((o: Record<string, string & number & string[]>) =>
    call("POST", "/admin/orders", {
      strategyId: o.strategy,
      venue: o.venue,
      market: o.market,
      side: o.side,
      effect: o.effect,
      quantity: o.quantity,
      ...priced(o),
    }),
  );
  orderOptions(
    command(orders, "close", "close a whole position: the opposite side for its full size, effect close")
      .argument("<venue>", "kalshi, polymarket or ibkr")
      .argument("<market>", "the venue's market id"),
  ).action(async (venue: string, market: string, o: Record<string, string & string[]>) => {
    const { positions } = (await (await api()).must("GET", "/admin/positions")) as {
      positions: { venue: string; market: string; position: number }[];
    };
    const held = positions.find((p) => p.venue === venue && p.market === market && p.position !== 0);
    if (!held) throw new CliError(`no open position in ${venue} ${market}`);
    await call("POST", "/admin/orders", {
      strategyId: o.strategy,
      venue,
      market,
      side: held.position > 0 ? "sell" : "buy",
      effect: "close",
      quantity: Math.abs(held.position),
      ...priced(o),
    });
  });
}
