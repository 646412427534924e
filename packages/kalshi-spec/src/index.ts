export * from "./endpoints";
export * from "./models";
