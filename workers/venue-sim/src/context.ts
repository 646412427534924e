/** What every simulator handler gets: the venue state object's storage and the seed. */
export interface SimContext {
  storage: DurableObjectStorage;
  seed: number;
  now: () => number;
}

/** A handler for one simulated host; answers null when it has no route for the request. */
export type SimHandler = (request: Request, url: URL, sim: SimContext) => Promise<Response | null>;
