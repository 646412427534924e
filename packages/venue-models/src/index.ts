export * from "./polymarket";
