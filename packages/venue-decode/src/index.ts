// How Paul P reads a venue's answer: the venue schemas (only the fields the official specs define), the page and
// book decoders and the price rules. Ingestion parses what it fetches with these, and a replay of the stored
// evidence (#18) parses the same bytes with the same code.
export * from "./book-decode";
export * from "./kalshi";
export * from "./parse";
export * from "./polymarket";
export * from "./prices";
export * from "./types";
