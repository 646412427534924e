export * from "./audit";
export * from "./common";
export * from "./execution";
export * from "./gateway";
export * from "./governance";
export * from "./ingestion";
export * from "./risk";
export * from "./services";
