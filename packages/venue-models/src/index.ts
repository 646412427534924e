export {
  checkIbkrRequest,
  checkIbkrResponse,
  ibkrOperation,
  ibkrResponseSchema,
  ibkrSpec,
  ibkrSpecAsPublished,
} from "./ibkr";
export * from "./polymarket";
export {
  checkRequest,
  closedDoc,
  closeSchema,
  findOperation,
  type Match,
  type Operation,
  type Parameter,
  type RecordedRequest,
  responseSchema,
  type Schema,
  type SwaggerDoc,
  sample,
  specHasField,
  validateAgainst,
} from "./swagger";
