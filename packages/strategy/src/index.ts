// The strategy code that must run the same live, in paper and in replay: the cross-venue signal and the fill model.
export * from "./fill-model";
export * from "./signal";
