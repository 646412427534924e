import type { RiskView } from "./view";

// The view's held-mark bookkeeping (pure): which markets a position is held in and when the oldest mark valuing
// one was observed, kept with a lazy binary min-heap of the held markets' mark times (entries of markets no
// longer held, or since re-marked, are dropped when they surface).

export function heapPush(heap: [number, string][], entry: [number, string]): void {
  let i = heap.push(entry) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]![0] <= entry[0]) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = entry;
}

function heapPop(heap: [number, string][]): void {
  const last = heap.pop()!;
  if (heap.length === 0) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= heap.length) break;
    const c = l + 1 < heap.length && heap[l + 1]![0] < heap[l]![0] ? l + 1 : l;
    if (heap[c]![0] >= last[0]) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = last;
}

/** Note that held market `mk` is valued at a mark observed at `observedAtMs` (O(log held), amortised). */
export function noteHeldMark(view: RiskView, mk: string, observedAtMs: number): void {
  const heap = view.index.heldHeap;
  // Superseded entries sink only when they surface: rebuild the heap once they outnumber the live ones.
  if (heap.length > 2 * view.heldMarkets.size + 64) {
    heap.length = 0;
    for (const held of view.heldMarkets.keys())
      if (held !== mk) heapPush(heap, [view.marks[held]!.observedAtMs, held]);
  }
  heapPush(heap, [observedAtMs, mk]);
}

/** Recompute `oldestHeldMarkMs` from the heap, dropping entries of markets no longer held or since re-marked. */
export function settleOldest(view: RiskView): void {
  const heap = view.index.heldHeap;
  while (heap.length > 0) {
    const [t, mk] = heap[0]!;
    if (view.heldMarkets.has(mk) && view.marks[mk]?.observedAtMs === t) break;
    heapPop(heap);
  }
  view.oldestHeldMarkMs = heap.length > 0 ? heap[0]![0] : null;
}

/** Count a position of market `mk` moving from `before` to `after` contracts in `heldMarkets` and `oldestHeldMarkMs`. */
export function trackHeld(
  view: RiskView,
  mk: string,
  observedAtMs: number,
  before: number,
  after: number,
): void {
  if ((before === 0) === (after === 0)) return;
  const held = (view.heldMarkets.get(mk) ?? 0) + (after === 0 ? -1 : 1);
  if (held > 0) view.heldMarkets.set(mk, held);
  else view.heldMarkets.delete(mk);
  if (held === 1 && after !== 0) noteHeldMark(view, mk, observedAtMs);
  settleOldest(view);
}
